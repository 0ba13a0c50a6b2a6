"""A worker's orders and fills from the user data stream, through drops, instead of polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from appliance.bot.account_feed import AccountFeed, streams_account
from appliance.bot.feed import MarketFeed
from appliance.bot.worker import SymbolWorker
from appliance.exchanges.api_log import ApiLog, ApiLogMixin
from appliance.ledger import open_orders_from_events
from appliance.store.events import EventKind, EventLog
from tests.appliance.bot.conftest import BALANCES, PAIR, active, clients_of, post, resting
from tests.conftest import RunningSimulator

POLLED = ("/api/v3/openOrders", "/api/v3/myTrades")
"""The requests a worker without an account stream sends every cycle."""


class LoggedBinance(ApiLogMixin, ccxt_pro.binance):  # type: ignore[misc]
    """ccxt.pro binance whose REST requests land in an API log, as a bot's do."""


@pytest.fixture
async def logged(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[Any]:
    """A streaming client of an account with plenty of both assets, its requests logged."""
    async for make in clients_of(simulator, LoggedBinance):
        client = await make(BALANCES)
        client.api_log = ApiLog(tmp_path / "api.log")
        yield client


@contextlib.asynccontextmanager
async def streamed(worker: SymbolWorker, client: Any) -> AsyncIterator[AccountFeed]:
    """Stream the worker's market and account in while the block runs, as its bot does."""
    worker.streamed = True
    worker.account = AccountFeed(client, worker.symbol)
    feeds = [MarketFeed(client, worker.symbol, worker.on_book, worker.on_trades).run(),
             worker.account.run()]
    tasks = [asyncio.create_task(feed) for feed in feeds]
    try:
        yield worker.account
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def cycles(worker: SymbolWorker, count: int, fills: int, log: EventLog) -> None:
    """Cycle the worker at least `count` times and until it has `fills` fills."""
    for done in range(600):
        try:
            await worker.cycle()
        except ccxt_async.OperationFailed:
            await worker.check_stale()
        if done >= count and len(log.events(kinds=(EventKind.FILL,))) >= fills:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"the worker had no {fills} fills in 600 cycles")


def requests(api_log: Path) -> Counter[str]:
    """Return how many requests of each path the API log holds."""
    return Counter(json.loads(line)["path"] for line in api_log.read_text().splitlines())


async def assert_books_equal_the_exchanges(
    client: Any, log: EventLog, simulator: RunningSimulator
) -> None:
    """Fail unless the log's open orders and fills are the exchange's, each order sent once."""
    sent = [e.data["client_id"] for e in log.events(kinds=(EventKind.ORDER,))]
    assert len(sent) == len(set(sent))
    on_exchange = [o["clientOrderId"] for o in await client.fetch_orders(PAIR.symbol, limit=1000)]
    assert len(on_exchange) == len(set(on_exchange)), "an order was sent twice"
    assert ({o.client_id for o in open_orders_from_events(log.events())}
            == {o["clientOrderId"] for o in resting(simulator)})
    trades = await client.fetch_my_trades(PAIR.symbol, limit=1000)
    assert ({str(f.data["trade_id"]) for f in log.events(kinds=(EventKind.FILL,))}
            == {str(t["id"]) for t in trades})


def test_only_a_client_with_user_data_streams_streams_the_account(logged: Any) -> None:
    assert streams_account(logged)
    assert not streams_account(ccxt_async.binance())


async def test_orders_and_fills_arrive_on_the_stream_instead_of_being_polled(
    logged: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(logged, log)
    async with streamed(worker, logged) as account:
        await cycles(worker, 30, 2, log)
        post(f"{simulator.url}/sim/market", {"running": False})
        await cycles(worker, 5, 0, log)
        assert account.live and account.epoch == 0
    polled = requests(tmp_path / "api.log")
    assert all(polled[path] <= 3 for path in POLLED), polled
    assert log.events(kinds=(EventKind.FILL,)), "fills came in"
    await assert_books_equal_the_exchanges(logged, log, simulator)


async def test_books_equal_the_exchanges_after_the_account_stream_drops(
    logged: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(logged, log)
    post(f"{simulator.url}/sim/faults", {"ws_drop_rate": 0.3})
    async with streamed(worker, logged) as account:
        await cycles(worker, 40, 3, log)
        assert account.epoch > 0, "the account stream never dropped"
        post(f"{simulator.url}/sim/faults", {})
        post(f"{simulator.url}/sim/market", {"running": False})
        await cycles(worker, 10, 0, log)
    await assert_books_equal_the_exchanges(logged, log, simulator)
