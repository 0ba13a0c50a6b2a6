"""The spread strategy: never crossed, inside its band, skewed against inventory."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView, others_best
from appliance.strategies.spread import SpreadParams, spread_quotes
from appliance.vocabulary import Side

RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"))
PARAMS = SpreadParams(half_spread_bps=10, order_size=Decimal(20), max_inventory=Decimal(2000),
                      skew_bps=20, band_bps=100)

books = st.tuples(st.integers(1_000, 200_000), st.integers(1, 2_000)).map(
    lambda t: MarketView(t[0], t[0] + t[1]))
inventories = st.decimals(min_value=-3000, max_value=3000, places=1)


@given(books, inventories)
def test_quotes_never_cross_and_stay_in_band(view: MarketView, inventory: Decimal) -> None:
    quotes = {q.side: q for q in spread_quotes(view, inventory, PARAMS, RULES)}
    band = view.mid * Decimal(PARAMS.band_bps).as_integer_ratio()[0] / 10_000
    if Side.BUY in quotes:
        assert quotes[Side.BUY].price_ticks < view.best_ask
        assert quotes[Side.BUY].price_ticks >= view.mid - band
    if Side.SELL in quotes:
        assert quotes[Side.SELL].price_ticks > view.best_bid
        assert quotes[Side.SELL].price_ticks <= view.mid + band
    if len(quotes) == 2:
        assert quotes[Side.BUY].price_ticks < quotes[Side.SELL].price_ticks


@given(books, st.decimals(min_value=0, max_value=1999, places=1))
def test_long_inventory_moves_both_prices_down(view: MarketView, long: Decimal) -> None:
    flat = {q.side: q.price_ticks for q in spread_quotes(view, Decimal(0), PARAMS, RULES)}
    skewed = {q.side: q.price_ticks for q in spread_quotes(view, long, PARAMS, RULES)}
    short = {q.side: q.price_ticks for q in spread_quotes(view, -long, PARAMS, RULES)}
    for side in flat.keys() & skewed.keys():
        assert skewed[side] <= flat[side]
    for side in flat.keys() & short.keys():
        assert short[side] >= flat[side]


def test_full_inventory_stops_the_side_that_adds_to_it() -> None:
    view = MarketView(12_400, 12_600)
    assert [q.side for q in spread_quotes(view, Decimal(2000), PARAMS, RULES)] == [Side.SELL]
    assert [q.side for q in spread_quotes(view, Decimal(-2000), PARAMS, RULES)] == [Side.BUY]


def test_sizes_meet_the_minimum_notional() -> None:
    small = PARAMS.model_copy(update={"order_size": Decimal("0.1")})
    for quote in spread_quotes(MarketView(12_400, 12_600), Decimal(0), small, RULES):
        assert RULES.price(quote.price_ticks) * RULES.size(quote.size_lots) >= RULES.min_notional


def test_crossed_book_gives_no_quotes() -> None:
    assert spread_quotes(MarketView(12_600, 12_600), Decimal(0), PARAMS, RULES) == []


def test_own_orders_are_taken_out_of_the_book() -> None:
    levels = [(100, 5), (99, 3)]
    assert others_best(levels, [(100, 5)]) == 99
    assert others_best(levels, [(100, 2)]) == 100
    assert others_best(levels, [(100, 5), (99, 3)]) is None


def test_parameters_that_do_not_fit_the_band_are_refused_with_the_fields_named() -> None:
    with pytest.raises(ValidationError, match="band_bps"):
        SpreadParams(half_spread_bps=80, order_size=Decimal(1), max_inventory=Decimal(1),
                     skew_bps=50, band_bps=100)
    with pytest.raises(ValidationError, match="half_spread_bps"):
        SpreadParams(half_spread_bps=-1, order_size=Decimal(1), max_inventory=Decimal(1))
