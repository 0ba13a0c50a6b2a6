"""The words the engine's packages share: a side, a book level and a desired quote.

Market data, strategies, orders, risk and integrity all speak of these; keeping them here lets
those packages depend on this module instead of on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

Level = tuple[int, int]
"""One level of a book: (price in ticks, size in lots)."""


class Side(StrEnum):
    """The side of an order, as ccxt names it."""

    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True)
class Quote:
    """One desired resting order: a side, a price in ticks and a size in lots."""

    side: Side
    price_ticks: int
    size_lots: int
