"""The part of a book a strategy quotes against: everyone's orders but the box's own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class MarketView:
    """Best bid and ask of other participants, in ticks."""

    best_bid: int
    best_ask: int

    @property
    def mid(self) -> Fraction:
        """Return the mid price in ticks (may fall between two ticks)."""
        return Fraction(self.best_bid + self.best_ask, 2)

    @property
    def crossed(self) -> bool:
        """Return whether the book is crossed or locked, so no safe quote exists."""
        return self.best_bid >= self.best_ask


def others_best(
    levels: Sequence[tuple[int, int]], own: Iterable[tuple[int, int]]
) -> int | None:
    """Return the best price of `levels` (best first) once the box's own lots are taken out.

    `levels` and `own` are (price_ticks, size_lots); own orders at a price reduce that level.
    """
    own_lots = Counter[int]()
    for price, lots in own:
        own_lots[price] += lots
    for price, lots in levels:
        if lots > own_lots[price]:
            return price
    return None
