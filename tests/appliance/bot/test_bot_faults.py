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

from appliance.ledger import open_orders_from_events
from appliance.store.events import EventKind, EventLog
from tests.appliance.bot.conftest import BALANCES, PAIR, active, post, resting
from tests.conftest import RunningSimulator

SOAK_SECONDS = float(os.environ.get("MMBOX_SOAK_SECONDS", "30"))
FAULTS = {"timeout_rate": 0.1, "server_error_rate": 0.1, "timeout_s": 2.0}
CLIENT_TIMEOUT_MS = 1000
"""Shorter than the simulator's hang, so a hung request times out in ccxt."""


def balances_from_fills(log: EventLog) -> dict[str, Decimal]:
    """Return the account's balances as the starting ones moved by every recorded fill."""
    held = {asset: Decimal(amount) for asset, amount in BALANCES.items()}
    for fill in log.events(kinds=(EventKind.FILL,)):
        amount, price = Decimal(fill.data["amount"]), Decimal(fill.data["price"])
        sign = 1 if fill.data["side"] == "buy" else -1
        held["MTS"] += sign * amount
        held["USDT"] -= sign * amount * price
        held[fill.data["fee_asset"]] -= Decimal(fill.data["fee"])
    return held


async def test_faults_leave_the_workers_books_equal_to_the_exchanges(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    client.timeout = CLIENT_TIMEOUT_MS
    post(f"{simulator.url}/sim/faults", FAULTS)
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + SOAK_SECONDS
    while time.monotonic() < deadline:
        try:
            await worker.cycle()
        except ccxt_async.OperationFailed as exc:
            errors[type(exc).__name__] += 1
            await worker.check_stale()
        await asyncio.sleep(0.5)
    post(f"{simulator.url}/sim/faults", {})
    post(f"{simulator.url}/sim/market", {"running": False})
    await worker.cycle()

    assert errors, "no fault was met"
    assert "DDoSProtection" not in errors, "the exchange banned the box (418)"
    sent = [e.data["client_id"] for e in log.events(kinds=(EventKind.ORDER,))]
    assert len(sent) == len(set(sent))
    on_exchange = [o["clientOrderId"] for o in await client.fetch_orders(PAIR.symbol, limit=1000)]
    assert len(on_exchange) == len(set(on_exchange)), "an order was sent twice"
    assert set(on_exchange) <= set(sent)
    assert ({o.client_id for o in open_orders_from_events(log.events())}
            == {o["clientOrderId"] for o in resting(simulator)})
    trades = await client.fetch_my_trades(PAIR.symbol, limit=1000)
    assert ({str(f.data["trade_id"]) for f in log.events(kinds=(EventKind.FILL,))}
            == {str(t["id"]) for t in trades})
    total = (await client.fetch_balance())["total"]
    assert balances_from_fills(log) == {a: Decimal(str(total[a])) for a in BALANCES}
