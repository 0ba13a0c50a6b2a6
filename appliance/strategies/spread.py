"""`spread`: one bid and one ask around mid, both shifted against inventory (seed 004).

A long inventory moves both prices down and a short one moves them up, so the side that
reduces exposure is the likelier to fill; the spread itself is never widened by inventory.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.vocabulary import Quote, Side

BPS = Fraction(1, 10_000)
CENTI_BPS = 1_000_000
"""Hundredths of a basis point in a whole: spread works in these integers."""


class SpreadParams(BaseModel):
    """Parameters of the spread strategy; sizes are in the base asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    half_spread_bps: float = Field(gt=0, le=1000, description="distance of each quote from mid")
    order_size: Decimal = Field(gt=0, description="size of each quote, in the base asset")
    max_inventory: Decimal = Field(gt=0, description="no more buying (selling) beyond +(-) this")
    skew_bps: float = Field(default=0, ge=0, le=1000, description="shift at max inventory")
    band_bps: float = Field(default=200, gt=0, le=5000, description="no quote further from mid")

    @cached_property
    def in_centi_bps(self) -> tuple[int, int, int]:
        """Return the half spread, skew and band in hundredths of a basis point, as integers."""
        return (round(self.half_spread_bps * 100), round(self.skew_bps * 100),
                round(self.band_bps * 100))

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
    """Return the bid and ask to rest, never crossing the others' best prices.

    Integer arithmetic only (this runs on every market event): every price below is a
    numerator over one common denominator `den`, in ticks.
    """
    if view.crossed:
        return []
    max_lots = max(1, rules.size_lots(params.max_inventory))
    held = max(-max_lots, min(max_lots, int(inventory / rules.lot)))
    mid2 = view.best_bid + view.best_ask  # twice the mid
    half_spread, skew, band_width = params.in_centi_bps
    den = 2 * CENTI_BPS * max_lots
    mid = mid2 * CENTI_BPS * max_lots
    half = mid2 * half_spread * max_lots
    shift = mid2 * skew * held
    band = mid2 * band_width * max_lots
    bid = min((mid - half - shift) // den, view.best_ask - 1, (mid + band) // den)
    ask = max(-((shift - mid - half) // den), view.best_bid + 1, -((band - mid) // den))
    bid, ask = max(bid, -((band - mid) // den)), min(ask, (mid + band) // den)
    if bid >= ask or bid <= 0:
        return []
    size = max(1, rules.size_lots(params.order_size))
    quotes = []
    if held < max_lots:
        quotes.append(Quote(Side.BUY, bid, max(size, rules.min_lots(bid))))
    if held > -max_lots:
        quotes.append(Quote(Side.SELL, ask, max(size, rules.min_lots(ask))))
    return quotes
