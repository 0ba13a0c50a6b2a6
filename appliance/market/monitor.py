"""Everything a worker knows about one market: its book, its volatility, its health."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import StrEnum

from appliance.market.book import Book
from appliance.market.view import MarketView, others_top
from appliance.market.volatility import EwmaVolatility, RollingVolatility
from appliance.vocabulary import Level, Side

VOLATILITY_WINDOW_S = 60.0
VOLATILITY_HALFLIFE_S = 30.0


class MarketHealth(StrEnum):
    """Whether the market data can be quoted against, or why not."""

    OK = "ok"
    EMPTY = "empty"
    STALE = "stale"
    CROSSED = "crossed"


class MarketMonitor:
    """The book and volatility of one symbol, fed by depth snapshots as they arrive.

    Volatility, rolling and EWMA, is sampled at the mid of every snapshot that leaves a
    two-sided, uncrossed book.
    """

    def __init__(
        self,
        symbol: str,
        *,
        volatility_window_s: float = VOLATILITY_WINDOW_S,
        volatility_halflife_s: float = VOLATILITY_HALFLIFE_S,
    ) -> None:
        self.symbol = symbol
        self.book = Book(symbol)
        self.rolling = RollingVolatility(volatility_window_s)
        self.ewma = EwmaVolatility(volatility_halflife_s)
        self._updated = -math.inf

    def on_snapshot(
        self, now: float, update_id: int, bids: Iterable[Level], asks: Iterable[Level]
    ) -> None:
        """Replace the book with a depth snapshot received at `now`."""
        self.book.apply_snapshot(update_id, bids, asks)
        self._changed(now)

    def age(self, now: float) -> float:
        """Return the seconds since the book last changed (infinite before the first snapshot)."""
        return now - self._updated

    def health(self, now: float, stale_after_s: float) -> MarketHealth:
        """Return the first of STALE, EMPTY, CROSSED that holds, else OK.

        The book is stale once `stale_after_s` seconds or more have passed without a change.
        """
        if self.age(now) >= stale_after_s:
            return MarketHealth.STALE
        if self.book.empty:
            return MarketHealth.EMPTY
        if self.book.crossed:
            return MarketHealth.CROSSED
        return MarketHealth.OK

    def view(
        self, now: float,
        own_bids: Sequence[Level] = (), own_asks: Sequence[Level] = (),
    ) -> MarketView | None:
        """Return the market of others once the box's own resting orders are taken out.

        `own_bids` and `own_asks` are (price_ticks, lots); None when a side has nothing left.
        """
        # Each own order empties at most one level, so one level more than there are own
        # orders always reaches the others' best, when the side has one.
        bid = others_top(self.book.levels(Side.BUY, len(own_bids) + 1), own_bids)
        ask = others_top(self.book.levels(Side.SELL, len(own_asks) + 1), own_asks)
        if bid is None or ask is None:
            return None
        return MarketView(bid[0], ask[0], bid[1], ask[1], volatility_bps=self.rolling.bps,
                          ewma_volatility_bps=self.ewma.bps, age=self.age(now))

    def _changed(self, now: float) -> None:
        self._updated = now
        bid, ask = self.book.best_bid, self.book.best_ask
        if bid is not None and ask is not None and bid < ask:
            mid = (bid + ask) / 2  # a statistic's input: float, as math.log takes it anyway
            self.rolling.update(now, mid)
            self.ewma.update(now, mid)
