"""A worker's orders and fills from the user data stream, through drops, instead of polling."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from appliance.bot.account_feed import streams_account
from appliance.bot.runtime import streaming
from appliance.bot.worker import SymbolWorker
from appliance.exchanges.api_log import ApiLog, ApiLogMixin
from appliance.exchanges.weight import WeightMixin
from appliance.orders import manager
from appliance.store.events import EventKind, EventLog
from tests.appliance.bot.conftest import (
    BALANCES,
    active,
    assert_books_equal_the_exchanges,
    clients_of,
    post,
    venue_of,
)
from tests.conftest import RunningSimulator

POLLED = ("/api/v3/openOrders", "/api/v3/myTrades")
"""The requests a worker without an account stream sends every cycle."""


class LoggedBinance(WeightMixin, ApiLogMixin, ccxt_pro.binance):  # type: ignore[misc]
    """ccxt.pro binance, governed, whose REST requests land in an API log, as a bot's do."""


@pytest.fixture
async def logged(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[Any]:
    """A streaming client of an account with plenty of both assets, its requests logged."""
    async for make in clients_of(simulator, LoggedBinance):
        client = await make(BALANCES)
        client.api_log = ApiLog(tmp_path / "api.log")
        yield client


async def cycles(worker: SymbolWorker, count: int, fills: int, log: EventLog) -> None:
    """Cycle the worker at least `count` times and until it has `fills` fills."""
    for done in range(600):
        try:
            await worker.cycle(time.time())
        except ccxt_async.OperationFailed:
            await worker.check_stale(time.time())
        if done >= count and log.count(EventKind.FILL) >= fills:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"the worker had no {fills} fills in 600 cycles")


def requests(api_log: Path) -> Counter[str]:
    """Return how many requests of each path the API log holds."""
    return Counter(json.loads(line)["path"] for line in api_log.read_text().splitlines())


def test_only_a_client_with_user_data_streams_streams_the_account(logged: Any) -> None:
    assert streams_account(logged)
    assert not streams_account(ccxt_async.binance())


async def test_orders_and_fills_arrive_on_the_stream_instead_of_being_polled(
    logged: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(logged, log)
    async with streaming(worker, logged, venue_of(worker)) as feeds:
        account = feeds.account
        assert account is not None
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
    async with streaming(worker, logged, venue_of(worker)) as feeds:
        account = feeds.account
        assert account is not None
        await cycles(worker, 40, 3, log)
        assert account.epoch > 0, "the account stream never dropped"
        post(f"{simulator.url}/sim/faults", {})
        post(f"{simulator.url}/sim/market", {"running": False})
        await cycles(worker, 10, 0, log)
    await assert_books_equal_the_exchanges(logged, log, simulator)


async def test_a_trusted_stream_is_still_checked_against_rest_once_a_period(
    logged: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manager, "SETTLE_EVERY_S", 1.0)
    log = EventLog(tmp_path / "events.db")
    worker = await active(logged, log)
    async with streaming(worker, logged, venue_of(worker)):
        await cycles(worker, 40, 0, log)
    assert requests(tmp_path / "api.log")["/api/v3/openOrders"] >= 4
