"""The part of a book a strategy quotes against: everyone's orders but the box's own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class MarketView:
    """Best bid and ask of other participants in ticks, their lots, and how lively the market is.

    `volatility_bps` (over a rolling window) and `ewma_volatility_bps` (weights halving every
    half-life) are in basis points per square root of a second; `age` is the seconds since the
    book last changed.
    """

    best_bid: int
    best_ask: int
    bid_lots: int = 0
    ask_lots: int = 0
    volatility_bps: float = 0.0
    ewma_volatility_bps: float = 0.0
    age: float = 0.0

    @property
    def mid(self) -> Fraction:
        """Return the mid price in ticks (may fall between two ticks)."""
        return Fraction(self.best_bid + self.best_ask, 2)

    @property
    def spread(self) -> int:
        """Return the distance from best bid to best ask in ticks."""
        return self.best_ask - self.best_bid

    @property
    def crossed(self) -> bool:
        """Return whether the book is crossed or locked, so no safe quote exists."""
        return self.best_bid >= self.best_ask


def others_top(
    levels: Iterable[tuple[int, int]], own: Iterable[tuple[int, int]]
) -> tuple[int, int] | None:
    """Return the best (price_ticks, lots) of `levels` (best first) without the box's own lots.

    `levels` and `own` are (price_ticks, size_lots); own orders at a price reduce that level,
    and a level left with no lots of others is skipped.
    """
    own_lots: dict[int, int] = {}
    for price, lots in own:
        own_lots[price] = own_lots.get(price, 0) + lots
    for price, lots in levels:
        others = lots - own_lots.get(price, 0)
        if others > 0:
            return price, others
    return None


def others_best(
    levels: Sequence[tuple[int, int]], own: Iterable[tuple[int, int]]
) -> int | None:
    """Return the best price of `levels` (best first) once the box's own lots are taken out."""
    top = others_top(levels, own)
    return None if top is None else top[0]
