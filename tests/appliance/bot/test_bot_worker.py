"""A symbol worker against the real simulator through real ccxt."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appliance.bot.worker import OperatorRefused
from appliance.ledger import open_orders_from_events
from appliance.market.monitor import MarketHealth
from appliance.market.rules import MarketRules
from appliance.risk.const import SymbolState
from appliance.store.events import EventKind, EventLog, QuotesChosen, SymbolStateChanged
from appliance.vocabulary import Quote, Side
from tests.appliance.bot.conftest import (
    LIMITS,
    PAIR,
    active,
    bodies,
    cycle_until,
    resting,
    worker_for,
)
from tests.conftest import RunningSimulator


async def test_a_symbol_starts_paused_and_sends_nothing_until_activated(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = worker_for(client, log)
    await worker.cycle(time.time())
    assert worker.guard.state is SymbolState.PAUSED
    assert resting(simulator) == []
    assert log.events(kinds=(EventKind.QUOTE,)), "a paused symbol still computes its quotes"


async def test_cycle_rests_one_bid_and_one_ask_inside_the_others_spread(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await worker.cycle(time.time())
    orders = {o["side"]: o for o in resting(simulator)}
    assert set(orders) == {"BUY", "SELL"}
    assert float(orders["BUY"]["price"]) < float(orders["SELL"]["price"])
    assert all(o["clientOrderId"].startswith("mmboxbot1x") for o in orders.values())
    sent = log.events(kinds=(EventKind.ORDER, EventKind.CANCEL))
    await worker.cycle(time.time())
    if not log.events(kinds=(EventKind.FILL,)):  # a taker may hit a quote between cycles
        assert log.events(kinds=(EventKind.ORDER, EventKind.CANCEL)) == sent, (
            "an unchanged market must not re-send the quotes")


async def test_shadow_mode_records_quotes_and_sends_nothing(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log, pair=replace(PAIR, shadow=True))
    await worker.cycle(time.time())
    assert resting(simulator) == []
    (quote,) = bodies(log, QuotesChosen)
    assert quote.bids and quote.asks
    assert log.events(kinds=(EventKind.ORDER,)) == []


async def test_a_restarted_worker_rebuilds_its_state_and_cancels_what_it_left(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    live = await active(client, log)
    await cycle_until(live, lambda: live.position.fills >= 2, "two fills")
    assert resting(simulator), "the crashed worker should leave orders behind"

    reborn = worker_for(client, log)  # as after SIGKILL: only the event log survives
    assert reborn.position == live.position
    assert reborn.guard.state is SymbolState.PAUSED
    await reborn.reconcile(time.time())
    assert resting(simulator) == []
    assert open_orders_from_events(log.events()) == []
    # Fills that happened between the crash and the restart are in the log now too.
    assert reborn.position.fills >= live.position.fills
    assert reborn.position.fills == log.count(EventKind.FILL)


def test_no_fill_can_carry_the_position_past_its_limit(
    client: Any, tmp_path: Path
) -> None:
    """The guard refuses an order that could breach the limit, rather than trip after it."""
    worker = worker_for(client, EventLog(tmp_path / "events.db"),
                        limits=LIMITS.model_copy(update={"max_position": Decimal("1")}))
    worker.guard.activate()
    worker.guard.observe_market(MarketHealth.OK)
    assert worker.guard.check_order(Side.BUY, Decimal("1.25"), Decimal("1")).allowed
    verdict = worker.guard.check_order(Side.BUY, Decimal("1.25"), Decimal("20"))
    assert not verdict.allowed and verdict.trip is None
    assert "position" in verdict.reason


async def test_a_halt_survives_a_restart_and_only_the_operator_clears_it(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await worker.cycle(time.time())
    worker.guard.halt()
    log.append(PAIR.symbol, SymbolStateChanged(SymbolState.HALTED, "test"))
    reborn = worker_for(client, log)
    assert reborn.guard.state is SymbolState.HALTED
    with pytest.raises(OperatorRefused, match="clear the halt"):
        await reborn.operate("activate", time.time())
    assert await reborn.operate("clear_halt", time.time()) is SymbolState.PAUSED
    assert await reborn.operate("activate", time.time()) is SymbolState.ACTIVE


async def test_pausing_cancels_the_symbols_orders(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    worker = await active(client, EventLog(tmp_path / "events.db"))
    await worker.cycle(time.time())
    assert resting(simulator)
    assert await worker.operate("pause", time.time()) is SymbolState.PAUSED
    assert resting(simulator) == []


async def test_no_bid_crosses_another_bots_ask_on_the_same_market(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log, pair=replace(PAIR, shadow=True))
    await worker.cycle(time.time())
    (quote,) = bodies(log, QuotesChosen)
    rules = MarketRules.from_ccxt(client.market(PAIR.symbol))
    bid = rules.price_ticks(quote.bids[0][0])
    other = await active(client, EventLog(tmp_path / "other.db"))
    other.others = [Quote(Side.SELL, bid, 0)]  # the other bot's ask rests where we would bid
    await other.cycle(time.time())
    sides = {o["side"] for o in resting(simulator)}
    assert "BUY" not in sides, "a bid at another bot's ask would trade the box with itself"
    assert "SELL" in sides


async def test_orders_ask_the_exchange_to_prevent_self_trades(
    client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    worker = await active(client, EventLog(tmp_path / "events.db"))
    await worker.cycle(time.time())
    (order, *_) = await client.fetch_open_orders(PAIR.symbol)
    assert order["info"]["selfTradePreventionMode"] == "EXPIRE_TAKER"
