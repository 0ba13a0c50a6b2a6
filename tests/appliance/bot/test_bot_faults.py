"""A worker through 5xx answers and timeouts: afterwards its books equal the exchange's.

The short profile runs in CI; set MMBOX_SOAK_SECONDS for a longer soak.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.runtime import streaming
from appliance.bot.worker import SymbolWorker
from appliance.store.events import EventLog, OrderFilled
from appliance.vocabulary import Side
from tests.appliance.bot.conftest import (
    BALANCES,
    active,
    assert_books_equal_the_exchanges,
    bodies,
    post,
    venue_of,
)
from tests.conftest import RunningSimulator

SOAK_SECONDS = float(os.environ.get("MMBOX_SOAK_SECONDS", "30"))
FAULTS = {"timeout_rate": 0.1, "server_error_rate": 0.1, "timeout_s": 2.0}
CLIENT_TIMEOUT_MS = 1000
"""Shorter than the simulator's hang, so a hung request times out in ccxt."""


def balances_from_fills(log: EventLog) -> dict[str, Decimal]:
    """Return the account's balances as the starting ones moved by every recorded fill."""
    held = {asset: Decimal(amount) for asset, amount in BALANCES.items()}
    for fill in bodies(log, OrderFilled):
        sign = 1 if fill.side is Side.BUY else -1
        held["MTS"] += sign * fill.amount
        held["USDT"] -= sign * fill.amount * fill.price
        held[fill.fee_asset] -= fill.fee
    return held


async def soak(worker: SymbolWorker, client: Any, simulator: RunningSimulator,
               faults: dict[str, float]) -> Counter[str]:
    """Cycle the worker through `faults` for the soak's time; return the errors it met."""
    client.timeout = CLIENT_TIMEOUT_MS
    post(f"{simulator.url}/sim/faults", faults)
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + SOAK_SECONDS
    while time.monotonic() < deadline:
        try:
            await worker.cycle(time.time())
        except ccxt_async.OperationFailed as exc:
            errors[type(exc).__name__] += 1
            await worker.check_stale(time.time())
        await asyncio.sleep(0.5)
    post(f"{simulator.url}/sim/faults", {})
    post(f"{simulator.url}/sim/market", {"running": False})
    for _ in range(3):
        await worker.cycle(time.time())
        await asyncio.sleep(0.2)
    return errors


async def assert_accounts_equal(client: Any, log: EventLog, simulator: RunningSimulator) -> None:
    """Fail unless the log's orders, fills and balances are the exchange's."""
    await assert_books_equal_the_exchanges(client, log, simulator)
    total = (await client.fetch_balance())["total"]
    assert balances_from_fills(log) == {a: Decimal(str(total[a])) for a in BALANCES}


async def test_rest_faults_leave_a_polling_workers_books_equal_to_the_exchanges(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    errors = await soak(worker, client, simulator, FAULTS)
    assert errors, "no fault was met"
    assert "DDoSProtection" not in errors, "the exchange banned the box (418)"
    await assert_accounts_equal(client, log, simulator)


async def test_rest_and_websocket_faults_leave_a_streaming_workers_books_equal_to_the_exchanges(
    pro_client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(pro_client, log)
    async with streaming(worker, pro_client, venue_of(worker)) as feeds:
        errors = await soak(worker, pro_client, simulator, {**FAULTS, "ws_drop_rate": 0.1})
    assert errors, "no REST fault was met"
    assert feeds.account is not None and feeds.account.epoch, "the account stream never dropped"
    assert "DDoSProtection" not in errors, "the exchange banned the box (418)"
    await assert_accounts_equal(pro_client, log, simulator)
