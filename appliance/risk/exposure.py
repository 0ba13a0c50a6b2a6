"""A bot's exposure: each symbol's position valued at its last price, summed across symbols.

The sum is taken in each symbol's quote asset, so it means what it says when the bot's
symbols share their quote asset (all `MTS/USDT`-like pairs).
"""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal(0)


class Exposure:
    """The quote value of every symbol's position; shared by the guards of one bot."""

    def __init__(self) -> None:
        self._values: dict[str, Decimal] = {}

    def value(self, symbol: str) -> Decimal:
        """Return the quote value of one symbol's position."""
        return self._values.get(symbol, ZERO)

    def set(self, symbol: str, value: Decimal) -> None:
        """Record the quote value of one symbol's position."""
        self._values[symbol] = value

    def total(self) -> Decimal:
        """Return the quote value of every position together."""
        return sum(self._values.values(), ZERO)

    def others(self, symbol: str) -> Decimal:
        """Return the quote value of every position but `symbol`'s."""
        return self.total() - self.value(symbol)
