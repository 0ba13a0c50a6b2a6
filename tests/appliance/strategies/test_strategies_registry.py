"""Building strategies by name, and what every strategy the bot can run guarantees."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.holdings import Holdings
from appliance.strategies.registry import STRATEGIES, StrategyConfigError, build_strategy
from appliance.vocabulary import Side

RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"))
PARAMS: dict[str, dict[str, Any]] = {
    "spread": {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000",
               "skew_bps": 20, "band_bps": 100},
    "ladder": {"bin_step": 25, "price_down_pct_limit": "0.02", "price_up_pct_limit": "0.03",
               "bid_size": "500", "ask_size": "800"},
    "grid": {"levels": 5, "order_size": "50", "step_bps": 30},
}

books = st.tuples(st.integers(1_000, 200_000), st.integers(1, 2_000)).map(
    lambda t: MarketView(t[0], t[0] + t[1]))
holdings = st.builds(
    Holdings, position=st.decimals(min_value=-3000, max_value=3000, places=1),
    base_balance=st.decimals(min_value=0, max_value=100_000, places=1),
    quote_balance=st.decimals(min_value=0, max_value=100_000, places=1))
fills = st.lists(st.tuples(st.sampled_from(Side), st.integers(1_000, 200_000),
                           st.integers(0, 100)), max_size=8)


def test_every_name_the_bot_may_meet_is_registered() -> None:
    assert set(STRATEGIES) == set(PARAMS) == {"spread", "ladder", "grid"}


@pytest.mark.parametrize("name", sorted(PARAMS))
@given(view=books, held=holdings, history=fills)
def test_no_strategy_crosses_takes_or_quotes_both_sides_of_a_price(
    name: str, view: MarketView, held: Holdings, history: list[tuple[Side, int, int]]
) -> None:
    strategy = build_strategy(name, PARAMS[name])
    for side, price, lots in history:
        strategy.on_fill(side, price, lots)
    quotes = strategy.quotes(view, held, RULES)
    bids = [q.price_ticks for q in quotes if q.side is Side.BUY]
    asks = [q.price_ticks for q in quotes if q.side is Side.SELL]
    assert all(0 < b < view.best_ask for b in bids)
    assert all(a > view.best_bid for a in asks)
    if bids and asks:
        assert max(bids) < min(asks)
    assert len(bids) <= 20 and len(asks) <= 20
    for q in quotes:
        assert q.size_lots > 0
        assert RULES.price(q.price_ticks) * RULES.size(q.size_lots) >= RULES.min_notional


@given(view=books, position=st.decimals(min_value=0, max_value=1999, places=1))
def test_spread_skews_against_the_traded_position(view: MarketView, position: Decimal) -> None:
    spread = build_strategy("spread", PARAMS["spread"])

    def quoted(at: Decimal) -> dict[Side, int]:
        held = Holdings(at, Decimal(10_000), Decimal(10_000))
        return {q.side: q.price_ticks for q in spread.quotes(view, held, RULES)}

    flat, long, short = quoted(Decimal(0)), quoted(position), quoted(-position)
    for side in flat.keys() & long.keys():
        assert long[side] <= flat[side]
    for side in flat.keys() & short.keys():
        assert short[side] >= flat[side]


@pytest.mark.parametrize("name", ["spread", "ladder"])
def test_stateless_strategies_ignore_fills(name: str) -> None:
    strategy = build_strategy(name, PARAMS[name])
    view, held = MarketView(12_400, 12_600), Holdings(Decimal(0), Decimal(4000), Decimal(5000))
    before = strategy.quotes(view, held, RULES)
    strategy.on_fill(Side.BUY, 12_400, 100)
    assert before and strategy.quotes(view, held, RULES) == before


def test_the_grid_is_built_fresh_for_each_pair() -> None:
    first, second = build_strategy("grid", PARAMS["grid"]), build_strategy("grid", PARAMS["grid"])
    view, held = MarketView(12_400, 12_600), Holdings(Decimal(0), Decimal(4000), Decimal(5000))
    first.on_fill(Side.BUY, 12_000, 10)
    assert first.quotes(view, held, RULES) != second.quotes(view, held, RULES)


def test_an_unknown_strategy_is_refused_with_the_known_ones() -> None:
    with pytest.raises(StrategyConfigError,
                       match="unknown strategy 'pingpong'; choose one of: grid, ladder, spread"):
        build_strategy("pingpong", {})


@pytest.mark.parametrize(("name", "change", "message"), [
    ("grid", {"levels": 50},
     "strategy 'grid': levels: Input should be less than or equal to 20 "
     r"\(got 50\); allowed: 1 <= levels <= 20"),
    ("ladder", {"price_up_pct_limit": 3},
     r"strategy 'ladder': price_up_pct_limit: .*\(got 3\); allowed: 0 < price_up_pct_limit <= 0.5"),
    ("spread", {"half_spread_bps": "wide"},
     r"strategy 'spread': half_spread_bps: Input should be a valid number.*"
     "allowed: 0 < half_spread_bps <= 1000"),
    ("ladder", {"iqv_down_limit": "-0.2"},
     "strategy 'ladder': quote_rb_iqv_ratio must be above iqv_down_limit"),
    ("grid", {"spread_bps": 5},
     "strategy 'grid': spread_bps is not a parameter; the parameters are levels, order_size"),
    ("spread", {"order_size": None},
     "strategy 'spread': order_size: .*; allowed: 0 < order_size"),
])
def test_bad_parameters_name_the_strategy_the_field_and_what_it_allows(
    name: str, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        build_strategy(name, {**PARAMS[name], **change})


def test_a_missing_parameter_is_named_with_what_it_means() -> None:
    without = {k: v for k, v in PARAMS["ladder"].items() if k != "bid_size"}
    with pytest.raises(StrategyConfigError,
                       match=r"'ladder': bid_size is required \(size of all bids together"):
        build_strategy("ladder", without)
