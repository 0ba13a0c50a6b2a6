"""The ladder strategy: bins inside the band on the right side of mid, sized against exposure."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.holdings import Holdings
from appliance.strategies.ladder import (
    LadderParams,
    iqv_move_ratio,
    iqv_ratio,
    ladder_quotes,
    side_scales,
)
from appliance.vocabulary import Quote, Side

RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"))
PARAMS = LadderParams(bin_step=50, price_down_pct_limit=Decimal("0.02"),
                      price_up_pct_limit=Decimal("0.02"), bid_size=Decimal(1000),
                      ask_size=Decimal(1000))
VIEW = MarketView(12_400, 12_600)

books = st.tuples(st.integers(1_000, 200_000), st.integers(1, 2_000)).map(
    lambda t: MarketView(t[0], t[0] + t[1]))
balances = st.decimals(min_value=0, max_value=100_000, places=1)


@st.composite
def ladder_params(draw: st.DrawFn) -> LadderParams:
    """Draw any valid ladder: up to 20 bins a side, thresholds in order."""
    step = draw(st.integers(1, 250))
    up, down = draw(st.integers(1, 200)), draw(st.integers(1, 100))
    return LadderParams(
        bin_step=step,
        price_down_pct_limit=Decimal(draw(st.integers(1, 20)) * step) / 10_000,
        price_up_pct_limit=Decimal(draw(st.integers(1, 20)) * step) / 10_000,
        bid_size=draw(st.decimals(min_value="0.1", max_value=10_000, places=1)),
        ask_size=draw(st.decimals(min_value="0.1", max_value=10_000, places=1)),
        init_iqv_ratio=Decimal(draw(st.integers(1, 99))) / 100,
        iqv_up_limit=Decimal(up) / 100,
        inventory_rb_iqv_ratio=Decimal(draw(st.integers(0, up - 1))) / 100,
        iqv_down_limit=Decimal(-down) / 100,
        quote_rb_iqv_ratio=Decimal(-draw(st.integers(0, down - 1))) / 100,
    )


def by_side(quotes: list[Quote], side: Side) -> list[Quote]:
    """Return the quotes of one side."""
    return [q for q in quotes if q.side is side]


def lots(quotes: list[Quote], side: Side) -> int:
    """Return the lots quoted on one side."""
    return sum(q.size_lots for q in by_side(quotes, side))


def test_iqv_formulas_match_a_hand_computation() -> None:
    # 100 MTS at 2 USDT beside 600 USDT: 200 / 800 of the value is inventory.
    ratio = iqv_ratio(Fraction(200), Fraction(600))
    assert ratio == Fraction(1, 4)
    assert iqv_move_ratio(ratio, Fraction(1, 2)) == Fraction(-1, 2)
    assert iqv_move_ratio(Fraction(3, 4), Fraction(1, 2)) == Fraction(1, 2)


@pytest.mark.parametrize(("move", "bids", "asks"), [
    ("0", 1, 1),
    ("0.3", 1, 1),
    ("0.45", Fraction(1, 2), 1),
    ("0.6", 0, 1),
    ("0.9", 0, 1),
    ("-0.3", 1, 1),
    ("-0.45", 1, Fraction(1, 2)),
    ("-0.6", 1, 0),
])
def test_the_exposed_side_shrinks_linearly_then_stops(
    move: str, bids: Fraction, asks: Fraction
) -> None:
    assert side_scales(Fraction(move), PARAMS) == (bids, asks)


def test_bins_match_a_hand_computation() -> None:
    # 3000 MTS at mid 1.25 is 3750 USDT beside 1250: iqv 0.75, move 0.5, bids at (0.6-0.5)/0.3.
    quotes = ladder_quotes(VIEW, Holdings(Decimal(0), Decimal(3000), Decimal(1250)), PARAMS, RULES)
    assert by_side(quotes, Side.BUY) == [
        Quote(Side.BUY, 12_437, 834), Quote(Side.BUY, 12_375, 833),
        Quote(Side.BUY, 12_312, 833), Quote(Side.BUY, 12_250, 833)]
    assert by_side(quotes, Side.SELL) == [
        Quote(Side.SELL, 12_563, 2500), Quote(Side.SELL, 12_625, 2500),
        Quote(Side.SELL, 12_688, 2500), Quote(Side.SELL, 12_750, 2500)]


@given(books, balances, balances, ladder_params())
def test_bins_stay_in_band_and_in_limits(
    view: MarketView, base: Decimal, quote: Decimal, params: LadderParams
) -> None:
    quotes = ladder_quotes(view, Holdings(Decimal(0), base, quote), params, RULES)
    bids, asks = by_side(quotes, Side.BUY), by_side(quotes, Side.SELL)
    low = view.mid * (1 - Fraction(params.price_down_pct_limit))
    high = view.mid * (1 + Fraction(params.price_up_pct_limit))
    assert all(low <= q.price_ticks < view.mid for q in bids)
    assert all(view.mid < q.price_ticks <= high for q in asks)
    assert len(bids) <= 20 and len(asks) <= 20
    assert len({q.price_ticks for q in quotes}) == len(quotes)
    for q in quotes:
        assert RULES.price(q.price_ticks) * RULES.size(q.size_lots) >= RULES.min_notional
    assert lots(quotes, Side.BUY) <= RULES.size_lots(params.bid_size)
    assert lots(quotes, Side.SELL) <= RULES.size_lots(params.ask_size)
    assert sum(RULES.price(q.price_ticks) * RULES.size(q.size_lots) for q in bids) <= quote
    assert RULES.size(lots(quotes, Side.SELL)) <= base


@given(books, balances, balances, balances, ladder_params())
def test_more_inventory_never_buys_more_or_sells_less(
    view: MarketView, base: Decimal, more: Decimal, quote: Decimal, params: LadderParams
) -> None:
    lighter = ladder_quotes(view, Holdings(Decimal(0), base, quote), params, RULES)
    heavier = ladder_quotes(view, Holdings(Decimal(0), base + more, quote), params, RULES)
    assert lots(heavier, Side.BUY) <= lots(lighter, Side.BUY)
    assert lots(heavier, Side.SELL) >= lots(lighter, Side.SELL)


def test_an_account_all_in_one_asset_quotes_only_the_side_that_rebalances() -> None:
    all_base = ladder_quotes(VIEW, Holdings(Decimal(0), Decimal(5000), Decimal(0)), PARAMS, RULES)
    all_quote = ladder_quotes(VIEW, Holdings(Decimal(0), Decimal(0), Decimal(5000)), PARAMS, RULES)
    assert {q.side for q in all_base} == {Side.SELL}
    assert {q.side for q in all_quote} == {Side.BUY}


def test_a_small_budget_concentrates_on_the_nearest_bins_that_meet_min_notional() -> None:
    # 12 MTS in 4 or 3 bins leaves each under the 5 USDT minimum (4 MTS is about 4.97 USDT).
    small = PARAMS.model_copy(update={"bid_size": Decimal(12), "ask_size": Decimal(12)})
    quotes = ladder_quotes(VIEW, Holdings(Decimal(0), Decimal(5000), Decimal(6250)), small, RULES)
    assert by_side(quotes, Side.BUY) == [
        Quote(Side.BUY, 12_437, 60), Quote(Side.BUY, 12_375, 60)]


def test_coarse_ticks_merge_bins_rather_than_double_a_price() -> None:
    holdings = Holdings(Decimal(0), Decimal(500_000), Decimal(5000))
    no_minimum = replace(RULES, min_notional=Decimal(0))
    quotes = ladder_quotes(MarketView(99, 101), holdings, PARAMS, no_minimum)
    assert [q.price_ticks for q in quotes] == [99, 98, 101, 102]


def test_crossed_book_gives_no_quotes() -> None:
    holdings = Holdings(Decimal(0), Decimal(5000), Decimal(6250))
    assert ladder_quotes(MarketView(12_600, 12_600), holdings, PARAMS, RULES) == []


def test_too_many_bins_are_refused_with_the_fields_named() -> None:
    with pytest.raises(ValidationError, match="price_up_pct_limit / bin_step makes 40 ask bins"):
        LadderParams.model_validate({**PARAMS.model_dump(), "price_up_pct_limit": "0.2"})
    with pytest.raises(ValidationError, match=r"raise price_down_pct_limit to at least 0\.005"):
        LadderParams.model_validate({**PARAMS.model_dump(), "price_down_pct_limit": "0.004"})


def test_thresholds_out_of_order_are_refused_with_what_to_change() -> None:
    with pytest.raises(ValidationError, match="inventory_rb_iqv_ratio must be below iqv_up_limit"):
        LadderParams.model_validate({**PARAMS.model_dump(), "inventory_rb_iqv_ratio": "0.7"})
    with pytest.raises(ValidationError, match="quote_rb_iqv_ratio must be above iqv_down_limit"):
        LadderParams.model_validate({**PARAMS.model_dump(), "iqv_down_limit": "-0.2"})
