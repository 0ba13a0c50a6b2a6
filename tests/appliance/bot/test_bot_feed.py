"""A worker's market fed by ccxt.pro streams from the simulator, through drops and gaps."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.feed import streams_market
from appliance.bot.runtime import streaming
from appliance.bot.worker import SymbolWorker
from appliance.market.rules import MarketRules
from appliance.orders.venue import BOOK_DEPTH
from appliance.risk.const import SymbolState
from appliance.store.events import EventKind, EventLog
from appliance.vocabulary import Side
from tests.appliance.bot.conftest import (
    DIRECT,
    PAIR,
    active,
    post,
    resting,
    venue_of,
    worker_for,
)
from tests.conftest import RunningSimulator

DROPS = {"ws_drop_rate": 0.3, "depth_gap_rate": 0.05}


async def test_a_rest_only_client_is_polled(pro_client: Any) -> None:
    rest = ccxt_async.binance()
    assert not streams_market(rest)
    assert streams_market(pro_client)
    await rest.close()


def depth(simulator: RunningSimulator) -> dict[str, Any]:
    """Return the simulator's book of the pair as its REST API serves it."""
    url = f"{simulator.url}/api/v3/depth?symbol=MTSUSDT&limit={BOOK_DEPTH}"
    with DIRECT.open(url, timeout=5) as response:
        return dict(json.load(response))


async def settled(worker: SymbolWorker, simulator: RunningSimulator) -> dict[str, Any]:
    """Return the simulator's book once the worker's streamed book stands at its update id."""
    for _ in range(300):
        truth = depth(simulator)
        if worker.monitor.book.last_update_id == truth["lastUpdateId"]:
            return truth
        await asyncio.sleep(0.1)
    raise AssertionError("the streamed book never caught up with the simulator's")


def in_ticks(rules: MarketRules, levels: list[list[str]]) -> list[tuple[int, int]]:
    """Return REST levels in ticks and lots."""
    return [(rules.price_ticks(Decimal(p)), rules.size_lots(Decimal(q))) for p, q in levels]


async def test_the_streamed_book_equals_the_simulators_after_drops_and_gaps(
    pro_client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    worker = worker_for(pro_client, EventLog(tmp_path / "events.db"))
    post(f"{simulator.url}/sim/faults", DROPS)
    async with streaming(worker, pro_client, venue_of(worker)) as feeds:
        feed = feeds.market
        assert feed is not None
        for _ in range(300):
            if feed.book_backoff.retries and feed.trade_backoff.retries:
                break
            await asyncio.sleep(0.1)
        assert feed.book_backoff.retries and feed.trade_backoff.retries, "no stream dropped"
        await asyncio.sleep(2)
        post(f"{simulator.url}/sim/faults", {})
        post(f"{simulator.url}/sim/market", {"running": False})
        truth = await settled(worker, simulator)
    rules = MarketRules.from_ccxt(pro_client.market(PAIR.symbol))
    book = worker.monitor.book
    assert book.levels(Side.BUY, BOOK_DEPTH) == in_ticks(rules, truth["bids"])
    assert book.levels(Side.SELL, BOOK_DEPTH) == in_ticks(rules, truth["asks"])


async def test_a_worker_keeps_quoting_through_dropped_websockets(
    pro_client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(pro_client, log)
    post(f"{simulator.url}/sim/faults", DROPS)
    async with streaming(worker, pro_client, venue_of(worker)) as feeds:
        feed = feeds.market
        assert feed is not None
        for _ in range(20):
            await asyncio.sleep(0.3)
            await worker.cycle(time.time())
    assert feed.book_backoff.retries, "the book's stream was never dropped"
    assert log.events(kinds=(EventKind.RISK,)) == [], "the market never went stale"
    assert worker.guard.state is SymbolState.ACTIVE
    assert {o["side"] for o in resting(simulator)} == {"BUY", "SELL"}
