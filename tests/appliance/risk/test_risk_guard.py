"""The symbol state machine: PAUSED at start, every kill switch, no retry, operator-only resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from appliance.market.monitor import MarketHealth
from appliance.orders.refusals import Refusal
from appliance.risk.bot import BotGuard
from appliance.risk.const import RateSpan, SymbolState, TripAction, TripKind
from appliance.risk.guard import SymbolGuard, SymbolHalted
from appliance.risk.limits import RejectBurst, RiskLimits
from appliance.risk.verdict import StateChange, Trip
from appliance.vocabulary import Side

NOW = 1_750_000_000.0
SYMBOL = "MTS/USDT"
LIMITS = RiskLimits(
    max_position=Decimal(100), max_total_exposure=Decimal(1000), max_drawdown=Decimal(50),
    max_orders_per_second=3, max_orders_per_day=1000, order_rate_trip_excess=2,
    reject_storm=RejectBurst(count=4, window_s=10),
    insufficient_balance=RejectBurst(count=3, window_s=60),
)


def active_guard(limits: RiskLimits = LIMITS) -> SymbolGuard:
    """Return an ACTIVE guard on a healthy market."""
    guard = BotGuard(limits, [SYMBOL]).guard(SYMBOL)
    guard.observe_market(MarketHealth.OK)
    guard.activate()
    return guard


def buy(guard: SymbolGuard, amount: int = 1) -> bool:
    """Ask the guard for a small buy; return whether it may leave."""
    return guard.check_order(Side.BUY, Decimal(1), Decimal(amount)).allowed


def last_trip(*trips: Trip | None) -> Trip | None:
    """Return the last of a sequence of observations, checking that none before it tripped."""
    assert all(t is None for t in trips[:-1])
    return trips[-1]


def rate_trip(guard: SymbolGuard) -> Trip | None:
    """Have the gate refuse orders beyond the per-second rate until the excess trips."""
    return last_trip(guard.observe_over_rate(NOW, RateSpan.SECOND),
                     guard.observe_over_rate(NOW, RateSpan.SECOND))


@dataclass(frozen=True)
class Case:
    """How to cause one trip kind, the state it leads to by default and what its reason says."""

    kind: TripKind
    cause: Callable[[SymbolGuard], Trip | None]
    state: SymbolState
    reason: str


CASES = [
    Case(TripKind.POSITION, lambda g: g.observe_position(Decimal(101), Decimal(1)),
         SymbolState.PAUSED, "position 101 beyond the limit of 100"),
    Case(TripKind.EXPOSURE, lambda g: g.observe_position(Decimal(90), Decimal(12)),
         SymbolState.PAUSED, "total exposure 1080 beyond the limit of 1000"),
    Case(TripKind.DRAWDOWN, lambda g: last_trip(g.observe_equity(Decimal(1000)),
                                                g.observe_equity(Decimal(949))),
         SymbolState.HALTED, "equity 949 is 51 below its peak 1000"),
    Case(TripKind.ORDER_RATE, rate_trip, SymbolState.HALTED,
         "2 orders asked for beyond 3 in the last second"),
    Case(TripKind.STALE_DATA, lambda g: g.observe_market(MarketHealth.STALE),
         SymbolState.PAUSED, "market data is stale"),
    Case(TripKind.CROSSED_BOOK, lambda g: g.observe_market(MarketHealth.CROSSED),
         SymbolState.PAUSED, "the book is crossed"),
    Case(TripKind.REJECT_STORM,
         lambda g: last_trip(*(g.observe_reject(NOW + i, Refusal.POST_ONLY) for i in range(4))),
         SymbolState.HALTED, "4 rejects within 10 s"),
    Case(TripKind.INSUFFICIENT_BALANCE,
         lambda g: last_trip(*(g.observe_reject(NOW + 20 * i, Refusal.INSUFFICIENT_BALANCE)
                               for i in range(3))),
         SymbolState.PAUSED, "3 insufficient-balance rejects within 60 s"),
]


def test_every_trip_kind_has_a_case() -> None:
    assert {case.kind for case in CASES} == set(TripKind)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind.value)
def test_a_trip_stops_the_symbol_with_its_reason(case: Case) -> None:
    guard = active_guard()
    trip = case.cause(guard)
    assert trip is not None
    assert (trip.kind, trip.new_state) == (case.kind, case.state)
    assert case.reason in trip.reason
    assert guard.state is case.state
    verdict = guard.check_order(Side.SELL, Decimal(1), Decimal(1))
    assert not verdict.allowed
    assert verdict.reason == f"the symbol is {case.state}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind.value)
def test_a_tripped_symbol_never_resumes_by_itself(case: Case) -> None:
    guard = active_guard()
    case.cause(guard)
    guard.observe_market(MarketHealth.OK)
    guard.observe_position(Decimal(0), Decimal(1))
    guard.observe_equity(Decimal(5000))
    assert guard.state is case.state
    assert not buy(guard)


@pytest.mark.parametrize("kind", list(TripKind))
def test_each_trip_kind_can_be_configured_to_pause_or_halt(kind: TripKind) -> None:
    flipped = TripAction.HALT if LIMITS.trip_actions[kind] is TripAction.PAUSE else TripAction.PAUSE
    limits = LIMITS.model_copy(update={"trip_actions": {**LIMITS.trip_actions, kind: flipped}})
    case = next(c for c in CASES if c.kind is kind)
    guard = active_guard(limits)
    trip = case.cause(guard)
    assert trip is not None and trip.new_state is flipped.state is guard.state


def test_a_symbol_starts_paused_and_refuses_orders() -> None:
    guard = BotGuard(LIMITS, [SYMBOL]).guard(SYMBOL)
    guard.observe_market(MarketHealth.OK)
    assert guard.state is SymbolState.PAUSED
    assert guard.check_order(Side.BUY, Decimal(1), Decimal(1)).reason == "the symbol is paused"


def test_orders_wait_for_healthy_market_data() -> None:
    guard = BotGuard(LIMITS, [SYMBOL]).guard(SYMBOL)
    guard.activate()
    assert guard.check_order(Side.BUY, Decimal(1), Decimal(1)).reason == (
        "no market data seen yet")
    assert guard.observe_market(MarketHealth.EMPTY) is None
    verdict = guard.check_order(Side.BUY, Decimal(1), Decimal(1))
    assert (verdict.allowed, verdict.reason) == (False, "a side of the book is empty")
    assert guard.state is SymbolState.ACTIVE
    guard.observe_market(MarketHealth.OK)
    assert buy(guard)


def test_activation_is_recorded_and_idempotent() -> None:
    guard = BotGuard(LIMITS, [SYMBOL]).guard(SYMBOL)
    assert guard.activate() == StateChange(SymbolState.ACTIVE, "activated by the operator")
    assert guard.activate() is None
    assert guard.pause() == StateChange(SymbolState.PAUSED, "paused by the operator")
    assert guard.pause() is None


def test_only_the_operator_clears_a_halt_and_then_activates() -> None:
    guard = active_guard()
    guard.observe_equity(Decimal(1000))
    guard.observe_equity(Decimal(900))
    assert guard.state is SymbolState.HALTED
    with pytest.raises(SymbolHalted, match="clear the halt, then activate"):
        guard.activate()
    assert guard.pause() is None
    assert guard.state is SymbolState.HALTED
    assert guard.clear_halt() == StateChange(SymbolState.PAUSED, "halt cleared by the operator")
    assert guard.clear_halt() is None
    assert guard.activate() == StateChange(SymbolState.ACTIVE, "activated by the operator")
    assert buy(guard)


def test_a_trip_only_ever_makes_the_state_more_severe() -> None:
    guard = active_guard()
    assert guard.observe_market(MarketHealth.STALE) is not None
    assert guard.observe_market(MarketHealth.CROSSED) is None
    guard.observe_equity(Decimal(1000))
    drawdown = guard.observe_equity(Decimal(900))
    assert drawdown is not None and drawdown.new_state is SymbolState.HALTED
    assert guard.observe_market(MarketHealth.STALE) is None
    assert guard.state is SymbolState.HALTED


def test_stale_data_after_the_operator_resumes_pauses_again() -> None:
    guard = active_guard()
    guard.observe_market(MarketHealth.STALE)
    guard.activate()
    assert not buy(guard)
    trip = guard.observe_market(MarketHealth.STALE)
    assert trip is not None and trip.kind is TripKind.STALE_DATA


def test_clearing_a_drawdown_halt_measures_the_drawdown_from_there() -> None:
    guard = active_guard()
    guard.observe_equity(Decimal(1000))
    guard.observe_equity(Decimal(900))
    guard.clear_halt()
    assert guard.observe_equity(Decimal(900)) is None
    guard.activate()
    assert guard.observe_equity(Decimal(851)) is None
    trip = guard.observe_equity(Decimal(849))
    assert trip is not None and "peak 900" in trip.reason


def test_a_drawdown_within_the_limit_survives_a_pause() -> None:
    guard = active_guard()
    guard.observe_equity(Decimal(1000))
    guard.observe_equity(Decimal(960))
    guard.pause()
    guard.activate()
    trip = guard.observe_equity(Decimal(949))
    assert trip is not None and "peak 1000" in trip.reason


def test_rejects_before_the_operator_resumes_no_longer_count() -> None:
    guard = active_guard()
    for i in range(4):
        guard.observe_reject(NOW + i, Refusal.OTHER)
    guard.clear_halt()
    guard.activate()
    assert guard.observe_reject(NOW + 5, Refusal.OTHER) is None
    assert guard.state is SymbolState.ACTIVE


def test_the_kill_switch_halts_every_symbol_of_the_bot() -> None:
    bot = BotGuard(LIMITS, ["MTS/USDT", "MTS/BTC"])
    bot.guard("MTS/USDT").activate()
    changes = bot.halt_all()
    assert changes == {s: StateChange(SymbolState.HALTED, "halted by the operator")
                       for s in ("MTS/USDT", "MTS/BTC")}
    assert set(bot.states().values()) == {SymbolState.HALTED}
    assert bot.halt_all() == {}
