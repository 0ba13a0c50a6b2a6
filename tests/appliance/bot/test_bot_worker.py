"""A symbol worker against the real simulator through real ccxt."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from appliance.bot.worker import SymbolWorker
from appliance.exchanges.venue import point_at_simulator
from appliance.ledger import open_orders_from_events
from appliance.market.rules import MarketRules
from appliance.orders.budget import RateBudget
from appliance.orders.live import ClientIds
from appliance.store.appliance_db import Pair
from appliance.store.events import EventKind, EventLog
from provisioning.const import SPREAD_PARAMS
from provisioning.sim_accounts import open_account
from tests.conftest import RunningSimulator

PAIR = Pair("bot-1", "sim", "MTS/USDT", "spread", SPREAD_PARAMS)


@pytest.fixture
async def client(simulator: RunningSimulator) -> AsyncIterator[Any]:
    credential = open_account(simulator.url, "bot-1", {"MTS": "10000", "USDT": "20000"})
    exchange = ccxt_async.binance({"apiKey": credential.api_key, "secret": credential.secret})
    point_at_simulator(exchange, simulator.url)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


def worker_for(client: Any, log: EventLog, pair: Pair = PAIR) -> SymbolWorker:
    rules = MarketRules.from_ccxt(client.market(pair.symbol))
    sent = len(log.events(kinds=(EventKind.ORDER,)))
    budget = RateBudget(10, 5.0, time.monotonic())
    worker = SymbolWorker(pair, client, log, rules, ClientIds("bot-1", sent), budget)
    worker.restore()
    return worker


def resting(simulator: RunningSimulator) -> list[dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{simulator.url}/sim/open-orders?account=bot-1", timeout=5) as response:
        return list(json.load(response))


async def test_cycle_rests_one_bid_and_one_ask_inside_the_others_spread(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = worker_for(client, log)
    await worker.cycle()
    orders = {o["side"]: o for o in resting(simulator)}
    assert set(orders) == {"BUY", "SELL"}
    assert float(orders["BUY"]["price"]) < float(orders["SELL"]["price"])
    assert all(o["clientOrderId"].startswith("mmbox-bot-1-") for o in orders.values())
    await worker.cycle()
    assert len(resting(simulator)) == 2, "an unchanged market must not re-send the quotes"


async def test_shadow_mode_records_quotes_and_sends_nothing(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = worker_for(client, log, replace(PAIR, shadow=True))
    await worker.cycle()
    assert resting(simulator) == []
    (quote,) = log.events(kinds=(EventKind.QUOTE,))
    assert quote.data["bid"] and quote.data["ask"]
    assert log.events(kinds=(EventKind.ORDER,)) == []


async def test_a_restarted_worker_rebuilds_its_state_and_cancels_what_it_left(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    live = worker_for(client, log)
    for _ in range(120):
        await live.cycle()
        if live.position.fills >= 2:
            break
        await asyncio.sleep(0.5)
    assert live.position.fills >= 2, "the background market never filled a quote"
    assert resting(simulator), "the crashed worker should leave orders behind"

    reborn = worker_for(client, log)  # as after SIGKILL: only the event log survives
    assert reborn.position == live.position
    await reborn.reconcile()
    assert resting(simulator) == []
    assert open_orders_from_events(log.events()) == []
    # Fills that happened between the crash and the restart are in the log now too.
    assert reborn.position.fills >= live.position.fills
    assert reborn.position.fills == len(log.events(kinds=(EventKind.FILL,)))
