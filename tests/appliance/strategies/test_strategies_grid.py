"""The grid strategy: fixed levels, every fill countered one step away, rebuilt from fills."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.grid import Grid, GridParams
from appliance.strategies.holdings import Holdings
from appliance.vocabulary import Quote, Side

RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"))
PARAMS = GridParams(levels=3, order_size=Decimal(100), step_bps=Decimal(50))
RICH = Holdings(Decimal(0), Decimal(1_000_000), Decimal(10_000_000))
ANCHOR, STEP = 12_500, 62  # 50 bps of 12 500 ticks, rounded half to even

params = st.builds(
    GridParams, levels=st.integers(1, 20),
    order_size=st.decimals(min_value="0.1", max_value=1000, places=1),
    step_bps=st.integers(1, 250).map(Decimal))
sides = st.sampled_from(Side)
walks = st.lists(st.tuples(sides, st.integers(-15, 15)), max_size=12)


def prices(quotes: list[Quote], side: Side) -> list[int]:
    """Return the prices quoted on one side, nearest the middle first."""
    return [q.price_ticks for q in quotes if q.side is side]


def step_of(anchor: int, grid_params: GridParams) -> int:
    """Return the spacing in ticks of a grid anchored at `anchor`."""
    return max(1, round(anchor * grid_params.spacing_bps / 10_000))


def filled(grid_params: GridParams, fills: list[tuple[Side, int]]) -> Grid:
    """Return a grid told of `fills` (side, price_ticks), one lot each."""
    grid = Grid(grid_params)
    for side, price in fills:
        grid.on_fill(side, price, 1)
    return grid


@given(params, st.integers(10_000, 200_000), walks, st.integers(-3_000, 3_000),
       st.integers(1, 2_000))
def test_quotes_sit_on_the_grid_around_the_last_fill_and_never_take(
    grid_params: GridParams, anchor: int, walk: list[tuple[Side, int]], offset: int, width: int
) -> None:
    step = step_of(anchor, grid_params)
    fills = [(Side.BUY, anchor)] + [(side, anchor + level * step) for side, level in walk]
    last = fills[-1][1]
    view = MarketView(last + offset, last + offset + width)
    quotes = filled(grid_params, fills).quotes(view, RICH, RULES)
    bids, asks = prices(quotes, Side.BUY), prices(quotes, Side.SELL)
    assert len(bids) == len(asks) == grid_params.levels
    assert all(b < view.best_ask and b < last for b in bids)
    assert all(a > view.best_bid and a > last for a in asks)
    assert bids[0] >= min(last, view.best_ask) - step
    assert asks[0] <= max(last, view.best_bid) + step
    for side_prices in (bids, asks):
        gaps = {abs(x - y) for x, y in pairwise(side_prices)}
        assert gaps <= {step}
        assert all((p - anchor) % step == 0 for p in side_prices)
    for q in quotes:
        assert q.size_lots >= RULES.size_lots(grid_params.order_size)
        assert RULES.price(q.price_ticks) * RULES.size(q.size_lots) >= RULES.min_notional


@given(params, st.integers(10_000, 200_000), walks, sides, st.integers(-15, 15),
       st.integers(0, 1_000), st.integers(1, 1_000))
def test_every_fill_is_countered_one_step_away(
    grid_params: GridParams, anchor: int, walk: list[tuple[Side, int]], side: Side,
    level: int, inside: int, outside: int,
) -> None:
    step = step_of(anchor, grid_params)
    fills = [(Side.BUY, anchor)] + [(s, anchor + lv * step) for s, lv in walk]
    price = anchor + level * step
    grid = filled(grid_params, [*fills, (side, price)])
    if side is Side.BUY:  # the others' bids sit at or under the bid that was hit
        view = MarketView(price - inside, price + outside)
        assert price + step in prices(grid.quotes(view, RICH, RULES), Side.SELL)
    else:
        view = MarketView(price - outside, price + inside)
        assert price - step in prices(grid.quotes(view, RICH, RULES), Side.BUY)


@given(walks)
def test_a_grid_rebuilt_from_its_fills_quotes_the_same(walk: list[tuple[Side, int]]) -> None:
    fills = [(Side.BUY, ANCHOR)] + [(side, ANCHOR + level * STEP) for side, level in walk]
    live, restarted = Grid(PARAMS), filled(PARAMS, fills)
    for side, price in fills:
        live.quotes(MarketView(price - 1, price + 1), RICH, RULES)
        live.on_fill(side, price, 1)
    view = MarketView(ANCHOR - 500, ANCHOR + 500)
    assert live.quotes(view, RICH, RULES) == restarted.quotes(view, RICH, RULES)


def test_before_the_first_fill_the_grid_centres_on_mid() -> None:
    quotes = Grid(PARAMS).quotes(MarketView(12_400, 12_600), RICH, RULES)
    assert prices(quotes, Side.BUY) == [12_438, 12_376, 12_314]
    assert prices(quotes, Side.SELL) == [12_562, 12_624, 12_686]


def test_the_side_that_was_hit_is_reseeded_one_level_further_out() -> None:
    grid = filled(PARAMS, [(Side.BUY, ANCHOR), (Side.SELL, ANCHOR + STEP)])
    quotes = grid.quotes(MarketView(ANCHOR, ANCHOR + 2 * STEP), RICH, RULES)
    assert prices(quotes, Side.BUY) == [ANCHOR, ANCHOR - STEP, ANCHOR - 2 * STEP]
    assert prices(quotes, Side.SELL) == [ANCHOR + 2 * STEP, ANCHOR + 3 * STEP,
                                         ANCHOR + 4 * STEP]


def test_levels_the_market_has_passed_give_way_to_the_next_ones_out() -> None:
    grid = filled(PARAMS, [(Side.BUY, ANCHOR)])
    quotes = grid.quotes(MarketView(ANCHOR - 200, ANCHOR - 100), RICH, RULES)
    assert prices(quotes, Side.BUY) == [ANCHOR - 2 * STEP, ANCHOR - 3 * STEP, ANCHOR - 4 * STEP]
    assert prices(quotes, Side.SELL) == [ANCHOR + STEP, ANCHOR + 2 * STEP, ANCHOR + 3 * STEP]


def test_a_fill_between_levels_is_countered_at_a_gain() -> None:
    grid = filled(PARAMS, [(Side.BUY, ANCHOR), (Side.BUY, ANCHOR + 10)])
    quotes = grid.quotes(MarketView(ANCHOR, ANCHOR + 20), RICH, RULES)
    assert prices(quotes, Side.SELL)[0] == ANCHOR + STEP
    grid.on_fill(Side.SELL, ANCHOR + 10, 1)
    assert prices(grid.quotes(MarketView(ANCHOR, ANCHOR + 20), RICH, RULES), Side.BUY)[0] == ANCHOR


def test_a_fill_of_no_whole_lot_leaves_the_grid_alone() -> None:
    grid = filled(PARAMS, [(Side.BUY, ANCHOR)])
    view = MarketView(ANCHOR - 10, ANCHOR + 10)
    before = grid.quotes(view, RICH, RULES)
    grid.on_fill(Side.SELL, ANCHOR + STEP, 0)
    assert grid.quotes(view, RICH, RULES) == before


def test_balances_fund_the_nearest_levels_only() -> None:
    # 250 MTS pays for two asks of 100 MTS; 130 USDT for one bid of 100 MTS at 1.2438.
    holdings = Holdings(Decimal(0), Decimal(250), Decimal(130))
    quotes = filled(PARAMS, [(Side.BUY, ANCHOR)]).quotes(
        MarketView(ANCHOR - 10, ANCHOR + 10), holdings, RULES)
    assert prices(quotes, Side.SELL) == [ANCHOR + STEP, ANCHOR + 2 * STEP]
    assert prices(quotes, Side.BUY) == [ANCHOR - STEP]


def test_spacing_can_follow_a_measured_volatility() -> None:
    grid_params = GridParams(levels=2, order_size=Decimal(100), volatility_bps=Decimal(20),
                             volatility_multiple=Decimal("1.5"))
    quotes = filled(grid_params, [(Side.BUY, ANCHOR)]).quotes(
        MarketView(ANCHOR - 10, ANCHOR + 10), RICH, RULES)
    assert prices(quotes, Side.SELL) == [ANCHOR + 38, ANCHOR + 76]  # 30 bps of 12 500 is 37.5


def test_crossed_book_gives_no_quotes() -> None:
    assert Grid(PARAMS).quotes(MarketView(12_600, 12_600), RICH, RULES) == []


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "give exactly one of step_bps"),
    ({"step_bps": 10, "volatility_bps": 10}, "give exactly one of step_bps"),
    ({"step_bps": 10, "volatility_multiple": 2}, "volatility_multiple applies to volatility_bps"),
    ({"step_bps": 300}, "reaches 6000 bps from the centre, more than 5000"),
    ({"step_bps": 10, "levels": 21}, "levels"),
])
def test_invalid_spacing_is_refused_with_what_to_change(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GridParams.model_validate({"levels": 20, "order_size": "1", **fields})


def test_a_fixed_spacing_reads_back_as_it_was_stored() -> None:
    """Stored settings carry every field, the default volatility_multiple included."""
    stored = GridParams(levels=5, order_size=Decimal(1), step_bps=Decimal(10)).model_dump(
        mode="json")
    assert GridParams.model_validate(stored).step_bps == 10
