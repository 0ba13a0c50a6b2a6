"""What a strategy asks for: a side, a price in ticks and a size in lots."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    """The side of an order, as ccxt names it."""

    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True)
class Quote:
    """One desired resting order."""

    side: Side
    price_ticks: int
    size_lots: int
