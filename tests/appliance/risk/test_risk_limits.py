"""Position, total exposure, drawdown, order rates and reject windows, at their edges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from appliance.market.monitor import MarketHealth
from appliance.orders.refusals import Refusal
from appliance.risk.bot import BotGuard
from appliance.risk.const import DEFAULT_TRIP_ACTIONS, SymbolState, TripAction, TripKind
from appliance.risk.guard import SymbolGuard
from appliance.risk.limits import RejectBurst, RiskLimits
from appliance.risk.window import DAY_S
from appliance.vocabulary import Side

MIDNIGHT = 20_000 * DAY_S  # a UTC midnight
NOW = MIDNIGHT + 3600.0
USDT, BTC = "MTS/USDT", "MTS/BTC"
LIMITS = RiskLimits(
    max_position=Decimal(100), max_total_exposure=Decimal(1000), max_drawdown=Decimal(50),
    max_orders_per_second=1000, max_orders_per_day=100_000, order_rate_trip_excess=1000,
    reject_storm=RejectBurst(count=4, window_s=10),
    insufficient_balance=RejectBurst(count=3, window_s=60),
)


def active_bot(limits: RiskLimits = LIMITS) -> BotGuard:
    """Return a bot with two ACTIVE symbols on healthy markets."""
    bot = BotGuard(limits, [USDT, BTC])
    for symbol in (USDT, BTC):
        bot.guard(symbol).observe_market(MarketHealth.OK)
        bot.guard(symbol).activate()
    return bot


def check(guard: SymbolGuard, side: Side, amount: int, price: int = 1,
          resting: int = 0) -> tuple[bool, str]:
    """Return whether an order may leave, and why not."""
    verdict = guard.check_order(side, Decimal(price), Decimal(amount), resting=Decimal(resting))
    assert verdict.trip is None
    return verdict.allowed, verdict.reason


def test_an_order_that_could_push_the_position_beyond_the_limit_is_refused() -> None:
    guard = active_bot().guard(USDT)
    guard.observe_position(Decimal(60), Decimal(1))
    assert check(guard, Side.BUY, 40) == (True, "")
    assert check(guard, Side.BUY, 41) == (
        False, "the position could reach 101, beyond the limit of 100")
    assert check(guard, Side.SELL, 160) == (True, "")
    assert check(guard, Side.SELL, 161)[0] is False
    assert guard.state is SymbolState.ACTIVE


def test_resting_orders_count_as_if_they_filled() -> None:
    guard = active_bot().guard(USDT)
    guard.observe_position(Decimal(60), Decimal(1))
    assert check(guard, Side.BUY, 20, resting=30) == (
        False, "the position could reach 110, beyond the limit of 100")
    assert check(guard, Side.BUY, 20, resting=20)[0] is True


def test_orders_that_reduce_a_position_beyond_the_limit_may_leave() -> None:
    guard = active_bot().guard(USDT)
    assert guard.observe_position(Decimal(130), Decimal(1)) is not None
    guard.activate()
    assert check(guard, Side.SELL, 20) == (True, "")
    assert check(guard, Side.BUY, 1)[0] is False
    assert guard.observe_position(Decimal(110), Decimal(1)) is None
    assert guard.state is SymbolState.ACTIVE


def test_total_exposure_counts_every_symbol_of_the_bot() -> None:
    bot = active_bot()
    bot.guard(USDT).observe_position(Decimal(50), Decimal(10))
    assert check(bot.guard(BTC), Side.BUY, 50, price=10) == (True, "")
    assert check(bot.guard(BTC), Side.SELL, 51, price=10) == (
        False, "total exposure could reach 1010, beyond the limit of 1000")
    assert bot.total_exposure() == 500


def test_a_fill_that_grows_total_exposure_beyond_the_limit_trips_its_symbol_only() -> None:
    bot = active_bot()
    assert bot.guard(USDT).observe_position(Decimal(60), Decimal(10)) is None
    trip = bot.guard(BTC).observe_position(Decimal(-41), Decimal(10))
    assert trip is not None and trip.kind is TripKind.EXPOSURE
    assert trip.reason == "total exposure 1010 beyond the limit of 1000"
    assert bot.states() == {USDT: SymbolState.ACTIVE, BTC: SymbolState.PAUSED}
    assert bot.guard(USDT).observe_position(Decimal("59.5"), Decimal(10)) is None
    assert bot.total_exposure() == 1005
    assert bot.guard(USDT).state is SymbolState.ACTIVE


def test_a_position_exactly_at_the_limit_does_not_trip() -> None:
    guard = active_bot().guard(USDT)
    assert guard.observe_position(Decimal(-100), Decimal(1)) is None
    trip = guard.observe_position(Decimal("-100.1"), Decimal(1))
    assert trip is not None and trip.kind is TripKind.POSITION


def test_drawdown_is_measured_from_the_peak() -> None:
    guard = active_bot().guard(USDT)
    for equity in (1000, 1100, 1060, 1080, 1050):
        assert guard.observe_equity(Decimal(equity)) is None
    trip = guard.observe_equity(Decimal("1049.99"))
    assert trip is not None and trip.kind is TripKind.DRAWDOWN
    assert trip.reason == ("equity 1049.99 is 50.01 below its peak 1100, "
                           "beyond the limit of 50")


def test_a_reject_storm_counts_rejects_less_than_the_window_apart() -> None:
    guard = active_bot().guard(USDT)
    for t in (0, 1, 2, 10):
        assert guard.observe_reject(NOW + t, Refusal.POST_ONLY) is None
    trip = guard.observe_reject(NOW + 10.5, Refusal.OTHER)
    assert trip is not None and trip.kind is TripKind.REJECT_STORM


def test_a_reject_storm_just_inside_the_window_trips() -> None:
    guard = active_bot().guard(USDT)
    trips = [guard.observe_reject(NOW + t, Refusal.OTHER) for t in (0, 1, 2, 9.999)]
    assert trips[:3] == [None] * 3
    assert trips[3] is not None and trips[3].reason == "4 rejects within 10 s"


def test_insufficient_balance_trips_when_it_repeats_within_its_window() -> None:
    guard = active_bot().guard(USDT)
    for t in (0, 30, 60, 90):
        assert guard.observe_reject(NOW + t, Refusal.INSUFFICIENT_BALANCE) is None
        assert guard.observe_reject(NOW + t + 1, Refusal.POST_ONLY) is None
    trip = guard.observe_reject(NOW + 119, Refusal.INSUFFICIENT_BALANCE)
    assert trip is not None and trip.kind is TripKind.INSUFFICIENT_BALANCE
    assert trip.new_state is SymbolState.PAUSED


def test_a_storm_of_balance_rejects_halts_rather_than_pauses() -> None:
    limits = LIMITS.model_copy(update={"reject_storm": RejectBurst(count=3, window_s=10)})
    guard = active_bot(limits).guard(USDT)
    trips = [guard.observe_reject(NOW + t, Refusal.INSUFFICIENT_BALANCE) for t in (0, 1, 2)]
    assert trips[2] is not None and trips[2].kind is TripKind.REJECT_STORM
    assert guard.state is SymbolState.HALTED


def test_trip_actions_left_out_keep_their_default() -> None:
    limits = RiskLimits.model_validate({
        "max_position": "100", "max_total_exposure": "1000", "max_drawdown": "50",
        "trip_actions": {"stale_data": "halt"}})
    assert limits.trip_actions == {**DEFAULT_TRIP_ACTIONS, TripKind.STALE_DATA: TripAction.HALT}


@pytest.mark.parametrize("change", [
    {"max_position": "0"},
    {"max_orders_per_second": 0},
    {"order_rate_trip_excess": 0},
    {"reject_storm": {"count": 5, "window_s": 0}},
    {"trip_actions": {"stale_data": "resume"}},
    {"trip_actions": {"solar_flare": "halt"}},
    {"max_lost": "10"},
])
def test_limits_out_of_range_or_unknown_are_refused(change: dict[str, object]) -> None:
    base = {"max_position": "100", "max_total_exposure": "1000", "max_drawdown": "50"}
    with pytest.raises(ValidationError):
        RiskLimits.model_validate({**base, **change})


def test_an_order_without_a_positive_amount_is_refused() -> None:
    guard = active_bot().guard(USDT)
    assert check(guard, Side.SELL, 0) == (False, "an order needs a positive price and amount")
    assert check(guard, Side.BUY, 1, price=0)[0] is False
