"""The market view: mid, microprice and spread of the others' best prices."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from appliance.market.view import MarketView, others_top


@given(st.integers(1, 10_000), st.integers(1, 500), st.integers(0, 1_000), st.integers(0, 1_000))
def test_microprice_lies_between_bid_and_ask(bid: int, spread: int, bid_lots: int,
                                             ask_lots: int) -> None:
    view = MarketView(bid, bid + spread, bid_lots, ask_lots)
    assert bid <= view.microprice <= bid + spread
    assert view.spread == spread


def test_microprice_leans_towards_the_thinner_side() -> None:
    assert MarketView(100, 104, bid_lots=3, ask_lots=1).microprice == 103
    assert MarketView(100, 104, bid_lots=1, ask_lots=3).microprice == 101
    assert MarketView(100, 103, bid_lots=5, ask_lots=5).microprice == Fraction(203, 2)


def test_microprice_without_sizes_is_the_mid() -> None:
    view = MarketView(100, 103)
    assert view.microprice == view.mid == Fraction(203, 2)
    assert (view.bid_lots, view.ask_lots, view.volatility_bps, view.age) == (0, 0, 0.0, 0.0)


def test_others_top_reports_the_lots_left_by_others() -> None:
    levels = [(100, 5), (99, 3)]
    assert others_top(levels, [(100, 2)]) == (100, 3)
    assert others_top(levels, [(100, 5), (101, 4)]) == (99, 3)
    assert others_top(levels, [(100, 3), (100, 2), (99, 3)]) is None
