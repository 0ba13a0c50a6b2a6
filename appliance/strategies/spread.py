"""`spread`: one bid and one ask around mid, both shifted against inventory (seed 004).

A long inventory moves both prices down and a short one moves them up, so the side that
reduces exposure is the likelier to fill; the spread itself is never widened by inventory.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.quote import Quote, Side

BPS = Fraction(1, 10_000)


class SpreadParams(BaseModel):
    """Parameters of the spread strategy; sizes are in the base asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    half_spread_bps: float = Field(gt=0, le=1000, description="distance of each quote from mid")
    order_size: Decimal = Field(gt=0, description="size of each quote, in the base asset")
    max_inventory: Decimal = Field(gt=0, description="no more buying (selling) beyond +(-) this")
    skew_bps: float = Field(default=0, ge=0, le=1000, description="shift at max inventory")
    band_bps: float = Field(default=200, gt=0, le=5000, description="no quote further from mid")

    @model_validator(mode="after")
    def _fits_band(self) -> SpreadParams:
        if self.half_spread_bps + self.skew_bps > self.band_bps:
            raise ValueError(
                "half_spread_bps + skew_bps must not exceed band_bps; "
                "narrow the spread or the skew, or widen the band"
            )
        return self


def spread_quotes(
    view: MarketView, inventory: Decimal, params: SpreadParams, rules: MarketRules
) -> list[Quote]:
    """Return the bid and ask to rest, never crossing the others' best prices."""
    if view.crossed:
        return []
    mid = view.mid
    ratio = Fraction(inventory) / Fraction(params.max_inventory)
    exposure = max(Fraction(-1), min(Fraction(1), ratio))
    shift = mid * Fraction(params.skew_bps) * BPS * exposure
    half = mid * Fraction(params.half_spread_bps) * BPS
    band = mid * Fraction(params.band_bps) * BPS
    bid = min(math.floor(mid - half - shift), view.best_ask - 1)
    ask = max(math.ceil(mid + half - shift), view.best_bid + 1)
    bid, ask = max(bid, math.ceil(mid - band)), min(ask, math.floor(mid + band))
    if bid >= ask or bid <= 0:
        return []
    quotes = []
    if exposure < 1:
        quotes.append(Quote(Side.BUY, bid, _lots(bid, params.order_size, rules)))
    if exposure > -1:
        quotes.append(Quote(Side.SELL, ask, _lots(ask, params.order_size, rules)))
    return quotes


def _lots(price_ticks: int, size: Decimal, rules: MarketRules) -> int:
    """Return the quote size in lots, raised to the market's minimum notional if needed."""
    lots = max(1, rules.size_lots(size))
    notional_per_lot = rules.price(price_ticks) * rules.lot
    return max(lots, math.ceil(rules.min_notional / notional_per_lot))
