"""Every risk trip, against the simulator: the symbol's orders end cancelled, its state
moved, and the reason recorded — and it does not resume by itself."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from appliance.bot.feed import MarketFeed
from appliance.bot.worker import SymbolWorker
from appliance.risk.const import SymbolState, TripKind
from appliance.store.events import EventLog, RiskTripped
from tests.appliance.bot.conftest import (
    LIMITS,
    PAIR,
    ClientFactory,
    active,
    bodies,
    cycle_until,
    post,
    resting,
)
from tests.conftest import RunningSimulator


async def run_until_tripped(worker: SymbolWorker) -> None:
    """Cycle the worker until its guard stops it."""
    await cycle_until(worker, lambda: worker.guard.state is not SymbolState.ACTIVE,
                      "the guard tripped")


async def assert_stopped(worker: SymbolWorker, log: EventLog, simulator: RunningSimulator,
                         trip: TripKind, state: SymbolState) -> None:
    """The trip is recorded, nothing rests, and another cycle does not quote again."""
    recorded = bodies(log, RiskTripped)[-1]
    assert (recorded.trip, recorded.state) == (trip, state)
    assert recorded.reason
    # a paused or halted symbol cancels what it may have left, and sends none
    await worker.cycle(time.time())
    assert worker.guard.state is state
    assert resting(simulator) == []


async def test_drawdown_halts(client: Any, tmp_path: Path, simulator: RunningSimulator) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log, limits=LIMITS.model_copy(
        update={"max_drawdown": Decimal("0.01")}))  # the fees of one fill exceed it
    await run_until_tripped(worker)
    await assert_stopped(worker, log, simulator, TripKind.DRAWDOWN, SymbolState.HALTED)


async def test_a_position_beyond_a_lowered_limit_pauses(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await cycle_until(worker, lambda: abs(worker.position.base) >= 10, "a position built up")
    # The operator lowers the limit below the position and the bot restarts.
    lowered = LIMITS.model_copy(update={"max_position": abs(worker.position.base) / 2})
    reborn = await active(client, log, limits=lowered)
    await run_until_tripped(reborn)
    await assert_stopped(reborn, log, simulator, TripKind.POSITION, SymbolState.PAUSED)


async def test_total_exposure_pauses(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await cycle_until(worker, lambda: abs(worker.position.base) >= 10, "a position built up")
    value = abs(worker.position.base)  # at about 1.25 a unit, this is below the value
    reborn = await active(client, log, limits=LIMITS.model_copy(
        update={"max_total_exposure": value}))
    await run_until_tripped(reborn)
    await assert_stopped(reborn, log, simulator, TripKind.EXPOSURE, SymbolState.PAUSED)


async def test_orders_beyond_the_rate_limit_halt(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log, limits=LIMITS.model_copy(
        update={"max_orders_per_second": 1, "order_rate_trip_excess": 1}))
    await run_until_tripped(worker)  # a bid and an ask in the same second: one too many
    await assert_stopped(worker, log, simulator, TripKind.ORDER_RATE, SymbolState.HALTED)


async def test_repeated_insufficient_balance_pauses(
    make_client: ClientFactory, tmp_path: Path, simulator: RunningSimulator
) -> None:
    client = await make_client({"MTS": "0", "USDT": "1"})  # neither side can be funded
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await run_until_tripped(worker)
    await assert_stopped(worker, log, simulator, TripKind.INSUFFICIENT_BALANCE,
                         SymbolState.PAUSED)


async def test_market_data_that_stops_arriving_pauses(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await worker.cycle(time.time())
    assert resting(simulator)
    client.timeout = 1000  # milliseconds: the frozen exchange is noticed quickly
    os.kill(simulator.process.pid, signal.SIGSTOP)
    try:
        await run_until_tripped(worker)
    finally:
        os.kill(simulator.process.pid, signal.SIGCONT)
    await assert_stopped(worker, log, simulator, TripKind.STALE_DATA, SymbolState.PAUSED)


async def test_a_storm_of_rejects_halts(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    post(f"{simulator.url}/sim/faults", {"order_reject_rate": 1.0})
    ladder = replace(PAIR, strategy="ladder", params={
        "bin_step": 10, "price_down_pct_limit": "0.01", "price_up_pct_limit": "0.01",
        "bid_size": "400", "ask_size": "400"})  # ten levels a side: every one refused
    log = EventLog(tmp_path / "events.db")
    limits = LIMITS.model_copy(update={"max_orders_per_second": 1000})  # rejects, not rate
    worker = await active(client, log, pair=ladder, limits=limits)
    await run_until_tripped(worker)
    await assert_stopped(worker, log, simulator, TripKind.REJECT_STORM, SymbolState.HALTED)


async def test_a_crossed_book_pauses(
    pro_client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(pro_client, log)
    worker.streamed = True
    feed = asyncio.create_task(
        MarketFeed(pro_client, worker.symbol, worker.on_book, worker.on_trades).run())
    try:
        await cycle_until(worker, lambda: bool(resting(simulator)), "quotes resting")
        post(f"{simulator.url}/sim/faults", {"crossed_book_rate": 1.0})
        await run_until_tripped(worker)
    finally:
        feed.cancel()
        post(f"{simulator.url}/sim/faults", {"crossed_book_rate": 0.0})
    await assert_stopped(worker, log, simulator, TripKind.CROSSED_BOOK, SymbolState.PAUSED)
