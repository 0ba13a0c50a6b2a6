"""`grid`: a fixed grid whose every fill is answered one step away (seeds 002, 003).

Grid levels lie a fixed number of ticks apart, anchored at the first fill. The box bids on the
`levels` grid levels under the last fill and asks on the `levels` above it, so a filled bid at
level k brings an ask at k+1 and a filled ask at k a bid at k-1 (ping-pong), while the side
that was hit is re-seeded one level further out to stay `levels` deep. The state is the fills
alone: a restarted bot rebuilds it by replaying its fill events. Before the first fill the grid
centres on mid. A level the others' book has reached is passed over for the next one out, so
the box only ever makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.holdings import Holdings
from appliance.strategies.spread import BPS
from appliance.vocabulary import Quote, Side

MAX_LEVELS = 20
MAX_REACH_BPS = 5000


class GridParams(BaseModel):
    """Parameters of the grid strategy; the spacing is fixed or follows a measured volatility."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: int = Field(ge=1, le=MAX_LEVELS, description="grid levels quoted on each side")
    order_size: Decimal = Field(gt=0, description="size quoted at each level, in the base asset")
    step_bps: Decimal | None = Field(
        default=None, gt=0, le=1000, description="fixed spacing of the levels, in basis points")
    volatility_bps: Decimal | None = Field(
        default=None, gt=0, le=1000,
        description="recent volatility of the market's trades, in basis points")
    volatility_multiple: Decimal = Field(
        default=Decimal(1), gt=0, le=10, description="spacing as a multiple of volatility_bps")

    @property
    def spacing_bps(self) -> Fraction:
        """Return the distance between neighbouring levels, in basis points."""
        if self.volatility_bps is not None:
            return Fraction(self.volatility_bps) * Fraction(self.volatility_multiple)
        return Fraction(self.step_bps or 0)

    @model_validator(mode="after")
    def _spacing_fits(self) -> GridParams:
        if (self.step_bps is None) == (self.volatility_bps is None):
            raise ValueError(
                "give exactly one of step_bps (a fixed spacing) and volatility_bps "
                "(a spacing of volatility_multiple times the volatility)")
        if self.step_bps is not None and self.volatility_multiple != 1:
            # Not "was it given": stored settings carry every field, the default included.
            raise ValueError("volatility_multiple applies to volatility_bps only; drop it "
                             "or give volatility_bps instead of step_bps")
        reach = self.levels * self.spacing_bps
        if reach > MAX_REACH_BPS:
            raise ValueError(
                f"levels times the spacing reaches {float(reach):g} bps from the centre, "
                f"more than {MAX_REACH_BPS}; use fewer levels or a smaller spacing")
        return self


@dataclass(frozen=True)
class Lattice:
    """The grid's price levels: `anchor + level * step` ticks."""

    anchor: int
    step: int

    @classmethod
    def at(cls, anchor: int, spacing_bps: Fraction) -> Lattice:
        """Return the lattice through `anchor` with levels `spacing_bps` of it apart."""
        return cls(anchor, max(1, round(anchor * spacing_bps * BPS)))

    def price(self, level: int) -> int:
        """Return the price of a level in ticks."""
        return self.anchor + level * self.step

    def level_of(self, side: Side, price_ticks: int) -> int:
        """Return a fill's level: a buy's rounds down and a sell's up, so counters gain."""
        offset = price_ticks - self.anchor
        return offset // self.step if side is Side.BUY else -(-offset // self.step)

    def bid_prices(self, last: int, best_ask: int, count: int) -> list[int]:
        """Return `count` bid prices under level `last` and under `best_ask`, nearest first."""
        top = min(last - 1, (best_ask - 1 - self.anchor) // self.step)
        prices = [self.price(top - i) for i in range(count)]
        return [price for price in prices if price > 0]

    def ask_prices(self, last: int, best_bid: int, count: int) -> list[int]:
        """Return `count` ask prices over level `last` and over `best_bid`, nearest first."""
        bottom = max(last + 1, -(-(best_bid + 1 - self.anchor) // self.step))
        return [self.price(bottom + i) for i in range(count)]


class Grid:
    """One pair's grid; its only state is the fills it has been told of."""

    def __init__(self, params: GridParams) -> None:
        self.params = params
        self._lattice: Lattice | None = None
        self._last = 0

    def on_fill(self, side: Side, price_ticks: int, lots: int) -> None:
        """Move the grid to a fill's level; the first fill anchors the grid."""
        if lots <= 0:
            return
        if self._lattice is None:
            self._lattice = Lattice.at(price_ticks, self.params.spacing_bps)
        self._last = self._lattice.level_of(side, price_ticks)

    def quotes(self, view: MarketView, holdings: Holdings, rules: MarketRules) -> list[Quote]:
        """Return the grid's bids and asks around the last fill that the balances fund."""
        if view.crossed:
            return []
        lattice, last = self._lattice, self._last
        if lattice is None:
            lattice, last = Lattice.at(math.floor(view.mid), self.params.spacing_bps), 0
        bids = lattice.bid_prices(last, view.best_ask, self.params.levels)
        asks = lattice.ask_prices(last, view.best_bid, self.params.levels)
        return (self._funded(Side.BUY, bids, holdings.quote_balance, rules)
                + self._funded(Side.SELL, asks, holdings.base_balance, rules))

    def _funded(
        self, side: Side, prices: list[int], balance: Decimal, rules: MarketRules
    ) -> list[Quote]:
        """Return quotes at `prices`, nearest first, for as long as `balance` pays for them."""
        quotes: list[Quote] = []
        for price in prices:
            lots = max(rules.size_lots(self.params.order_size), rules.min_lots(price))
            cost = rules.size(lots) * (rules.price(price) if side is Side.BUY else 1)
            if cost > balance:
                break
            balance -= cost
            quotes.append(Quote(side, price, lots))
        return quotes
