"""The recent public trades of one market, oldest first, up to a fixed count."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from appliance.vocabulary import Side


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade: when it was seen, its price in ticks, its lots, the taker's side."""

    time: float
    price_ticks: int
    lots: int
    taker_side: Side


class TradeTape:
    """The last `capacity` public trades; older ones fall off."""

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError(f"a trade tape holds at least one trade, not {capacity}")
        self._trades: deque[Trade] = deque(maxlen=capacity)

    def record(self, now: float, price_ticks: int, lots: int, taker_side: Side) -> None:
        """Add a trade seen at `now`."""
        self._trades.append(Trade(now, price_ticks, lots, taker_side))

    def __len__(self) -> int:
        """Return how many trades the tape holds."""
        return len(self._trades)

    @property
    def last(self) -> Trade | None:
        """Return the latest trade, or None before the first."""
        return self._trades[-1] if self._trades else None

    @property
    def last_price(self) -> int | None:
        """Return the price of the latest trade in ticks, or None before the first."""
        return self._trades[-1].price_ticks if self._trades else None

    def volume(self, now: float, window_s: float) -> int:
        """Return the lots traded in the `window_s` seconds up to `now`, start excluded."""
        since = now - window_s
        lots = 0
        for trade in reversed(self._trades):
            if trade.time <= since:
                break
            lots += trade.lots
        return lots
