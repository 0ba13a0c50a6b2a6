"""The market view: mid and spread of the others' best prices."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from appliance.market.view import MarketView, others_top


@given(st.integers(1, 10_000), st.integers(1, 500))
def test_the_spread_is_ask_minus_bid_and_the_mid_lies_between(bid: int, spread: int) -> None:
    view = MarketView(bid, bid + spread)
    assert view.spread == spread
    assert bid < view.mid < bid + spread


def test_a_view_without_sizes_or_history_is_calm_and_fresh() -> None:
    view = MarketView(100, 103)
    assert view.mid == Fraction(203, 2)
    assert (view.bid_lots, view.ask_lots, view.volatility_bps, view.ewma_volatility_bps,
            view.age) == (0, 0, 0.0, 0.0, 0.0)


def test_others_top_reports_the_lots_left_by_others() -> None:
    levels = [(100, 5), (99, 3)]
    assert others_top(levels, [(100, 2)]) == (100, 3)
    assert others_top(levels, [(100, 5), (101, 4)]) == (99, 3)
    assert others_top(levels, [(100, 3), (100, 2), (99, 3)]) is None
