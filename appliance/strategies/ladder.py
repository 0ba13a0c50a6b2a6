"""`ladder`: bins every `bin_step` from mid, sized by the inventory/quote value ratio (seed 001).

`iqv_ratio` is the share of the account's value held in the base asset and `iqv_move_ratio`
its drift from the target, relative to the target. Past `inventory_rb_iqv_ratio` the bids
shrink linearly until buying stops at `iqv_up_limit`; below `quote_rb_iqv_ratio` the asks
shrink until selling stops at `iqv_down_limit`. Exposure is steered by size, never by price.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.holdings import Holdings
from appliance.strategies.spread import BPS
from appliance.vocabulary import Quote, Side

MAX_LEVELS = 20


class LadderParams(BaseModel):
    """Parameters of the ladder strategy; price limits are fractions of mid, sizes base asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bin_step: int = Field(ge=1, le=1000, description="price step between bins, in basis points")
    price_down_pct_limit: Decimal = Field(
        gt=0, le=Decimal("0.5"), description="furthest bid below mid, as a fraction (0.02 is 2%)")
    price_up_pct_limit: Decimal = Field(
        gt=0, le=Decimal("0.5"), description="furthest ask above mid, as a fraction (0.02 is 2%)")
    bid_size: Decimal = Field(gt=0, description="size of all bids together, in the base asset")
    ask_size: Decimal = Field(gt=0, description="size of all asks together, in the base asset")
    init_iqv_ratio: Decimal = Field(
        default=Decimal("0.5"), gt=0, lt=1, description="target share of value held in base")
    inventory_rb_iqv_ratio: Decimal = Field(
        default=Decimal("0.3"), ge=0, description="iqv_move_ratio above which bids shrink")
    iqv_up_limit: Decimal = Field(
        default=Decimal("0.6"), gt=0, description="iqv_move_ratio from which no bid rests")
    quote_rb_iqv_ratio: Decimal = Field(
        default=Decimal("-0.3"), gt=-1, le=0, description="iqv_move_ratio below which asks shrink")
    iqv_down_limit: Decimal = Field(
        default=Decimal("-0.6"), ge=-1, lt=0, description="iqv_move_ratio from which no ask rests")

    @property
    def bid_levels(self) -> int:
        """Return how many bins fit between mid and the lowest bid."""
        return math.floor(Fraction(self.price_down_pct_limit) / (self.bin_step * BPS))

    @property
    def ask_levels(self) -> int:
        """Return how many bins fit between mid and the highest ask."""
        return math.floor(Fraction(self.price_up_pct_limit) / (self.bin_step * BPS))

    @model_validator(mode="after")
    def _levels_fit(self) -> LadderParams:
        for field, side, count in (("price_down_pct_limit", "bid", self.bid_levels),
                                   ("price_up_pct_limit", "ask", self.ask_levels)):
            if count < 1:
                raise ValueError(
                    f"{field} is less than one bin_step, so no {side} fits; raise {field} to "
                    f"at least {Decimal(self.bin_step) / 10_000} or lower bin_step")
            if count > MAX_LEVELS:
                raise ValueError(
                    f"{field} / bin_step makes {count} {side} bins, more than {MAX_LEVELS}; "
                    f"raise bin_step or lower {field}")
        return self

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> LadderParams:
        if self.inventory_rb_iqv_ratio >= self.iqv_up_limit:
            raise ValueError(
                "inventory_rb_iqv_ratio must be below iqv_up_limit: bids shrink from the first "
                "and stop at the second; lower inventory_rb_iqv_ratio or raise iqv_up_limit")
        if self.quote_rb_iqv_ratio <= self.iqv_down_limit:
            raise ValueError(
                "quote_rb_iqv_ratio must be above iqv_down_limit: asks shrink from the first "
                "and stop at the second; raise quote_rb_iqv_ratio or lower iqv_down_limit")
        return self


def iqv_ratio(inventory_value: Fraction, quote_value: Fraction) -> Fraction:
    """Return the share of the account's value held as inventory."""
    return inventory_value / (inventory_value + quote_value)


def iqv_move_ratio(ratio: Fraction, init_ratio: Fraction) -> Fraction:
    """Return how far the inventory share has drifted from its target, relative to the target."""
    return (ratio - init_ratio) / init_ratio


def side_scales(move: Fraction, params: LadderParams) -> tuple[Fraction, Fraction]:
    """Return the factors for the bid and the ask sizes at an `iqv_move_ratio` of `move`."""
    bids = _shrink(move, Fraction(params.inventory_rb_iqv_ratio), Fraction(params.iqv_up_limit))
    asks = _shrink(-move, -Fraction(params.quote_rb_iqv_ratio), -Fraction(params.iqv_down_limit))
    return bids, asks


def ladder_quotes(
    view: MarketView, holdings: Holdings, params: LadderParams, rules: MarketRules
) -> list[Quote]:
    """Return the bins to rest: bids below mid, asks above it, the exposed side shrunk."""
    if view.crossed:
        return []
    mid = view.mid
    inventory_value = Fraction(holdings.base_balance) * mid * Fraction(rules.tick)
    quote_value = Fraction(holdings.quote_balance)
    if inventory_value + quote_value <= 0:
        return []
    move = iqv_move_ratio(iqv_ratio(inventory_value, quote_value), Fraction(params.init_iqv_ratio))
    bid_scale, ask_scale = side_scales(move, params)
    bids, asks = _bin_prices(mid, params, Side.BUY), _bin_prices(mid, params, Side.SELL)
    bid_budget = min(math.floor(rules.size_lots(params.bid_size) * bid_scale),
                     holdings.bid_lots(bids[0], rules)) if bids else 0
    ask_budget = min(math.floor(rules.size_lots(params.ask_size) * ask_scale),
                     holdings.ask_lots(rules))
    return _fill_bins(Side.BUY, bids, bid_budget, rules) + _fill_bins(
        Side.SELL, asks, ask_budget, rules)


def _shrink(move: Fraction, start: Fraction, stop: Fraction) -> Fraction:
    """Return 1 up to `start`, 0 from `stop`, and a straight line between them."""
    if move <= start:
        return Fraction(1)
    if move >= stop:
        return Fraction(0)
    return (stop - move) / (stop - start)


def _bin_prices(mid: Fraction, params: LadderParams, side: Side) -> list[int]:
    """Return one side's distinct bin prices in ticks, nearest mid first, inside the band."""
    if side is Side.BUY:
        sign, count, limit = -1, params.bid_levels, params.price_down_pct_limit
    else:
        sign, count, limit = 1, params.ask_levels, params.price_up_pct_limit
    edge = mid * (1 + sign * Fraction(limit))
    prices: list[int] = []
    for k in range(1, count + 1):
        level = mid * (1 + sign * k * params.bin_step * BPS)
        price = math.floor(level) if side is Side.BUY else math.ceil(level)
        inside = price >= edge if side is Side.BUY else price <= edge
        if inside and price not in prices:
            prices.append(price)
    return prices


def _fill_bins(side: Side, prices: list[int], budget: int, rules: MarketRules) -> list[Quote]:
    """Spread `budget` lots evenly over the nearest bins that each still meet min notional."""
    for count in range(len(prices), 0, -1):
        each, extra = divmod(budget, count)
        if each >= max(rules.min_lots(price) for price in prices[:count]):
            return [Quote(side, price, each + 1 if i < extra else each)
                    for i, price in enumerate(prices[:count])]
    return []
