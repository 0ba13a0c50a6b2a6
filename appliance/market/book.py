# cython: annotation_typing=False
"""An L2 order book kept from a depth snapshot and Binance-style diff-depth deltas.

Written in Cython's pure-Python mode: interpreted in development, compiled for the image with
the C types declared beside it in `book.pxd`. Each side keeps a dict (price_ticks → lots) and
a sorted list of keys with the best price last, so the best price is read in O(1) and most
updates, which land near the touch, move only a few list entries.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from appliance.vocabulary import Level, Side


class BookGap(Exception):
    """Deltas were missed, so the book no longer matches the exchange's."""


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

    def set(self, price: int, lots: int) -> None:
        """Set the lots resting at `price`; 0 lots removes the level."""
        key = self.sign * price
        if lots == 0:
            if self.lots.pop(price, 0):
                del self.keys[bisect_left(self.keys, key)]
        elif _checked(price, lots):
            if price not in self.lots:
                insort(self.keys, key)
            self.lots[price] = lots

    def clear(self) -> None:
        """Drop every level."""
        self.lots = {}
        self.keys = []

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
    """Bids and asks of one symbol, in ticks and lots, kept in step with the exchange's ids."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.last_update_id = -1
        self.synced = False
        self._bids = _Ladder(1)
        self._asks = _Ladder(-1)

    def apply_snapshot(
        self, update_id: int, bids: Iterable[Level], asks: Iterable[Level]
    ) -> None:
        """Replace the whole book with a depth snapshot taken at `update_id`."""
        self._bids.load(bids)
        self._asks.load(asks)
        self.last_update_id = update_id
        self.synced = True

    def apply_delta(
        self, first_update_id: int, final_update_id: int,
        bids: Iterable[Level], asks: Iterable[Level],
    ) -> bool:
        """Apply a diff-depth event; return False when it is wholly older than the book.

        Raise BookGap, and empty the book, when updates between the book and the event are
        missing: the caller must apply a fresh snapshot before any further delta.
        """
        if not self.synced:
            raise BookGap(f"{self.symbol}: the book has no snapshot since it started or lost "
                          "updates; fetch a depth snapshot and apply it before any delta")
        if final_update_id <= self.last_update_id:
            return False
        if first_update_id > self.last_update_id + 1:
            missing = f"{self.last_update_id + 1}..{first_update_id - 1}"
            self._bids.clear()
            self._asks.clear()
            self.synced = False
            raise BookGap(f"{self.symbol}: depth updates {missing} were missed; fetch a depth "
                          "snapshot and apply it, then the deltas that follow it")
        for price, lots in bids:
            self._bids.set(price, lots)
        for price, lots in asks:
            self._asks.set(price, lots)
        self.last_update_id = final_update_id
        return True

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
