# cython: annotation_typing=False
"""An L2 order book of one symbol, replaced whole by each depth snapshot.

ccxt.pro keeps the exchange's book in step (a REST snapshot, then the depth diffs, and a fresh
snapshot after a gap); the box takes the top of that book as a snapshot each time it changes.
Written in Cython's pure-Python mode: interpreted in development, compiled for the image with
the C types declared beside it in `book.pxd`. Each side keeps a dict (price_ticks → lots) and
a sorted list of keys with the best price last, so the best price is read in O(1).
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.vocabulary import Level, Side


class _Ladder:
    """One side of the book; keys are `sign * price` in ascending order, the best price last."""

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.lots: dict[int, int] = {}
        self.keys: list[int] = []

    def load(self, levels: Iterable[Level]) -> None:
        """Replace every level with `levels`: a repeated price keeps its last size, 0 lots none."""
        self.lots = {price: lots for price, lots in dict(levels).items() if _checked(price, lots)}
        self.keys = sorted([self.sign * price for price in self.lots])

    def best(self) -> int | None:
        """Return the best price, or None when the side is empty."""
        return self.sign * self.keys[-1] if self.keys else None

    def best_lots(self) -> int:
        """Return the lots at the best price, or 0 when the side is empty."""
        return self.lots[self.sign * self.keys[-1]] if self.keys else 0

    def top(self, n: int) -> list[Level]:
        """Return up to `n` levels, best first."""
        out: list[Level] = []
        i = len(self.keys) - 1
        stop = max(-1, i - n)
        while i > stop:
            price = self.sign * self.keys[i]
            out.append((price, self.lots[price]))
            i -= 1
        return out


def _checked(price: int, lots: int) -> bool:
    """Return whether a level has lots, refusing a negative size."""
    if lots < 0:
        raise ValueError(f"level at {price} ticks has {lots} lots; sizes are never negative")
    return lots > 0


class Book:
    """Bids and asks of one symbol in ticks and lots, with the exchange's id of the snapshot."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.last_update_id = -1
        self._bids = _Ladder(1)
        self._asks = _Ladder(-1)

    def apply_snapshot(
        self, update_id: int, bids: Iterable[Level], asks: Iterable[Level]
    ) -> None:
        """Replace the whole book with a depth snapshot taken at `update_id`."""
        self._bids.load(bids)
        self._asks.load(asks)
        self.last_update_id = update_id

    @property
    def best_bid(self) -> int | None:
        """Return the highest bid in ticks, or None when there is no bid."""
        return self._bids.best()

    @property
    def best_ask(self) -> int | None:
        """Return the lowest ask in ticks, or None when there is no ask."""
        return self._asks.best()

    @property
    def best_bid_lots(self) -> int:
        """Return the lots bid at the best bid (0 when there is no bid)."""
        return self._bids.best_lots()

    @property
    def best_ask_lots(self) -> int:
        """Return the lots offered at the best ask (0 when there is no ask)."""
        return self._asks.best_lots()

    def levels(self, side: Side, n: int) -> list[Level]:
        """Return up to `n` (price_ticks, lots) levels of a side, best first."""
        return (self._bids if side is Side.BUY else self._asks).top(n)

    @property
    def empty(self) -> bool:
        """Return whether a side has no level, so the book is not a two-sided market."""
        return not self._bids.keys or not self._asks.keys

    @property
    def crossed(self) -> bool:
        """Return whether the best bid reaches the best ask (crossed or locked)."""
        if not self._bids.keys or not self._asks.keys:
            return False
        return self._bids.keys[-1] >= -self._asks.keys[-1]
