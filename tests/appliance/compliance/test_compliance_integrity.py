"""Market integrity: no self-trade across the box's bots, a minimum resting time, an OTR cap."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.compliance.integrity import CancelCause, cancel_refusal, order_refusal
from appliance.compliance.rules import ComplianceRules
from appliance.compliance.self_trade import RestingOrder, would_self_trade
from appliance.orders.counters import OrderCounters
from appliance.orders.live import LiveOrder
from appliance.risk.window import DAY_S
from appliance.vocabulary import Quote, Side

MIDNIGHT = 20_000 * DAY_S  # a UTC midnight
NOW = MIDNIGHT + 3600.0
RULES = ComplianceRules(min_rest_s=1.0, max_order_to_trade=3)

own_books = st.lists(st.builds(Quote, st.sampled_from(Side), st.integers(90, 110),
                               st.integers(1, 5)), max_size=10)


def matches_in_a_book(side: Side, price_ticks: int, own: list[Quote]) -> bool:
    """Return whether a price-time book holding `own` would fill part of the new order."""
    asks = [q.price_ticks for q in own if q.side is Side.SELL]
    bids = [q.price_ticks for q in own if q.side is Side.BUY]
    if side is Side.BUY:
        return bool(asks) and price_ticks >= min(asks)
    return bool(bids) and price_ticks <= max(bids)


def refusal(side: Side, price_ticks: int, own: Sequence[RestingOrder],
            counters: OrderCounters | None = None, now: float = NOW) -> str | None:
    """Return why integrity refuses an order, with `counters` counting what was accepted."""
    counts = (counters or OrderCounters()).at(now)
    return order_refusal(side, price_ticks, own, counts, RULES)


@given(own_books, st.sampled_from(Side), st.integers(85, 115))
def test_an_allowed_order_never_crosses_an_own_order(
    own: list[Quote], side: Side, price_ticks: int
) -> None:
    allowed = refusal(side, price_ticks, own) is None
    assert allowed is not matches_in_a_book(side, price_ticks, own)
    assert would_self_trade(side, price_ticks, own) is not allowed


def test_a_bid_at_an_own_ask_of_another_bot_is_refused() -> None:
    this_bot = [LiveOrder("mmbox-bot-1-7", Side.BUY, 99, 10, "1")]
    other_bot = [Quote(Side.SELL, 101, 3)]
    assert refusal(Side.BUY, 101, [*this_bot, *other_bot]) == (
        "a buy at 101 ticks would trade against the box's own sell at 101 ticks")
    assert refusal(Side.BUY, 100, [*this_bot, *other_bot]) is None
    assert refusal(Side.SELL, 99, this_bot) is not None
    assert refusal(Side.SELL, 100, this_bot) is None


def test_an_order_rests_its_minimum_time_before_it_is_replaced() -> None:
    assert cancel_refusal(NOW + 0.5, NOW, CancelCause.REPLACE, RULES) == (
        "the order has rested 0.500 s of the 1 s it must rest before it is replaced")
    assert cancel_refusal(NOW + 1.0, NOW, CancelCause.REPLACE, RULES) is None


@pytest.mark.parametrize("cause", [CancelCause.RISK_TRIP, CancelCause.OPERATOR,
                                   CancelCause.SHUTDOWN])
def test_stopping_cancels_at_once(cause: CancelCause) -> None:
    assert cancel_refusal(NOW + 0.01, NOW, cause, RULES) is None


def test_the_order_to_trade_ratio_is_capped_per_utc_day() -> None:
    counters = OrderCounters()
    for t in range(3):
        assert refusal(Side.BUY, 100, [], counters, NOW + t) is None
        counters.accepted(NOW + t)
    assert refusal(Side.BUY, 100, [], counters, NOW + 3) == (
        "3 orders for 0 fills today (UTC) reach the order-to-trade cap of 3")
    counters.filled(NOW + 4)
    assert refusal(Side.BUY, 100, [], counters, NOW + 5) is not None
    counters.filled(NOW + 6)
    for _ in range(3):
        assert refusal(Side.BUY, 100, [], counters, NOW + 7) is None
        counters.accepted(NOW + 7)
    assert refusal(Side.BUY, 100, [], counters, NOW + 8) is not None
    assert refusal(Side.BUY, 100, [], counters, MIDNIGHT + DAY_S) is None


@pytest.mark.parametrize("rules", [
    {"min_rest_s": -1}, {"max_order_to_trade": 0}, {"min_resting": 1}])
def test_rules_out_of_range_or_unknown_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ComplianceRules.model_validate(rules)
