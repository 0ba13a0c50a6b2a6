# cython: annotation_typing=False
"""An L2 order book of one symbol, replaced whole by each depth snapshot.

ccxt.pro keeps the exchange's book in step (a REST snapshot, then the depth diffs, and a fresh
snapshot after a gap); the box takes the top of that book as a snapshot each time it changes.
Written in Cython's pure-Python mode: interpreted in development, compiled for the image with
the C types declared beside it in `book.pxd`. Each side keeps its levels best first, so the best
price is read in O(1) and a snapshot that arrives in order is taken without sorting.
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.vocabulary import Level, Side


class _Ladder:
    """One side of the book: its levels best first, as (price_ticks, lots) with lots > 0.

    `better` is 1 for bids (a higher price is better) and -1 for asks.
    """

    def __init__(self, better: int) -> None:
        self.better = better
        self.levels: list[Level] = []

    def load(self, levels: Iterable[Level]) -> None:
        """Replace every level with `levels`: a repeated price keeps its last size, 0 lots none.

        A snapshot already ordered best first, without repeats or empty levels (as ccxt.pro
        gives it), is taken as it is; any other is sorted.
        """
        taken = list(levels)
        better = self.better
        previous: int | None = None
        ordered = True
        for price, lots in taken:
            if lots <= 0:
                if lots < 0:
                    raise ValueError(
                        f"level at {price} ticks has {lots} lots; sizes are never negative")
                ordered = False
            elif previous is not None and (price - previous) * better >= 0:
                ordered = False
            previous = price
        if not ordered:
            kept = {price: lots for price, lots in taken}
            taken = sorted([(price, lots) for price, lots in kept.items() if lots > 0],
                           key=lambda level: -better * level[0])
        self.levels = taken

    def best(self) -> int | None:
        """Return the best price, or None when the side is empty."""
        return self.levels[0][0] if self.levels else None

    def best_lots(self) -> int:
        """Return the lots at the best price, or 0 when the side is empty."""
        return self.levels[0][1] if self.levels else 0

    def top(self, n: int) -> list[Level]:
        """Return up to `n` levels, best first."""
        return self.levels[:n]


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
        return not self._bids.levels or not self._asks.levels

    @property
    def crossed(self) -> bool:
        """Return whether the best bid reaches the best ask (crossed or locked)."""
        if not self._bids.levels or not self._asks.levels:
            return False
        return self._bids.levels[0][0] >= self._asks.levels[0][0]
