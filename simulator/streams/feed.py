"""One symbol's market streams: depth diffs with update ids, partial depth, best prices,
24-hour tickers and trades, as Binance's stream server sends them."""

from __future__ import annotations

from typing import Any, Protocol

from simulator.exchange import SpotExchange
from simulator.faults import FaultInjector, FaultKind
from simulator.instrument import Instrument
from simulator.market_views import day_statistics
from simulator.orders import PublicTrade
from simulator.streams import payloads

PARTIAL_DEPTHS = (5, 10, 20)
FAST, SLOW = "@100ms", "@1000ms"

Levels = list[tuple[int, int]]


class Publisher(Protocol):
    """Where a feed sends its events."""

    def listening(self, stream: str) -> bool:
        """Return whether any connection listens to a stream."""

    def publish(self, stream: str, payload: dict[str, Any], gappable: bool = False) -> None:
        """Send an event to every connection that listens to a stream."""


class MarketFeed:
    """The streams of one symbol, driven by ticks every 100 ms and trades as they print.

    A depth update covers the book updates after the previous one up to `u`, and carries
    each changed level's lots at the time it is sent, so a client that applies them to the
    REST snapshot with `lastUpdateId` in [U - 1, u] holds the simulator's book.
    """

    def __init__(
        self, exchange: SpotExchange, instrument: Instrument, out: Publisher, faults: FaultInjector
    ) -> None:
        self.exchange = exchange
        self.instrument = instrument
        self.prefix = instrument.symbol.lower()
        self._out = out
        self._faults = faults
        self._book = exchange.book(instrument.symbol)
        self._last_id = self._book.update_id
        self._slow_first: int | None = None
        self._slow_bids: set[int] = set()
        self._slow_asks: set[int] = set()
        self._crossed: tuple[bool, int] | None = None
        self._top: dict[str, Any] | None = None

    def tick(self, slow: bool) -> None:
        """Send what changed in the last 100 ms; every second, the slower streams too."""
        now = self.exchange.clock()
        bids, asks = self._book.drain_changes()
        self._slow_bids.update(price for price, _ in bids)
        self._slow_asks.update(price for price, _ in asks)
        bids, asks = self._with_crossed_fault(bids, asks)
        if self._book.update_id > self._last_id:
            self._send_fast_depth(bids, asks, now)
        self._send_partial_depths(FAST)
        self._send_book_ticker()
        if slow:
            self._send_slow_depth(now)
            self._send_partial_depths("")
            self._send_partial_depths(SLOW)
            self._send_tickers(now)

    def on_trade(self, printed: PublicTrade) -> None:
        """Send a trade to the trade and aggregate trade streams."""
        now = self.exchange.clock()
        symbol = self.instrument.symbol
        if self._out.listening(f"{self.prefix}@trade"):
            self._out.publish(
                f"{self.prefix}@trade", payloads.trade(symbol, printed, self.instrument, now)
            )
        if self._out.listening(f"{self.prefix}@aggTrade"):
            self._out.publish(
                f"{self.prefix}@aggTrade",
                payloads.aggregate_trade(symbol, printed, self.instrument, now),
            )

    def _send_fast_depth(self, bids: Levels, asks: Levels, now: int) -> None:
        """Send the 100 ms depth update covering the book updates since the last one."""
        first = self._last_id + 1
        self._last_id = self._book.update_id
        if self._slow_first is None:
            self._slow_first = first
        self._out.publish(
            f"{self.prefix}@depth{FAST}",
            payloads.depth_update(
                self.instrument.symbol, first, self._last_id, bids, asks, self.instrument, now
            ),
            gappable=True,
        )

    def _send_slow_depth(self, now: int) -> None:
        """Send the one-second depth update: the levels changed in the last second."""
        if self._slow_first is None:
            return
        bids = [(price, self._book.level_lots(True, price)) for price in sorted(self._slow_bids)]
        asks = [(price, self._book.level_lots(False, price)) for price in sorted(self._slow_asks)]
        update = payloads.depth_update(
            self.instrument.symbol,
            self._slow_first,
            self._last_id,
            bids,
            asks,
            self.instrument,
            now,
        )
        for stream in (f"{self.prefix}@depth", f"{self.prefix}@depth{SLOW}"):
            self._out.publish(stream, update, gappable=True)
        self._slow_first = None
        self._slow_bids, self._slow_asks = set(), set()

    def _with_crossed_fault(self, bids: Levels, asks: Levels) -> tuple[Levels, Levels]:
        """Take back a crossed level shown by the last update, or now and then show one.

        The crossed level sits one tick through the best price of the other side, and the
        next update sends that price's real lots again. Each counts as a book update even
        when nothing else changed, so the take-back never waits for the market.
        """
        if self._crossed is not None:
            is_buy, price = self._crossed
            self._crossed = None
            self._count_if_quiet()
            real = (price, self._book.level_lots(is_buy, price))
            return ([*bids, real], asks) if is_buy else (bids, [*asks, real])
        if not self._faults.happens(FaultKind.CROSSED_BOOK, self._faults.plan.crossed_book_rate):
            return bids, asks
        best_ask, best_bid = self._book.best_ask(), self._book.best_bid()
        if best_ask is not None:
            self._crossed = (True, best_ask + 1)
            crossed = (best_ask + 1, self._book.level_lots(False, best_ask))
            self._count_if_quiet()
            return [*bids, crossed], asks
        if best_bid is not None and best_bid > 1:
            self._crossed = (False, best_bid - 1)
            crossed = (best_bid - 1, self._book.level_lots(True, best_bid))
            self._count_if_quiet()
            return bids, [*asks, crossed]
        return bids, asks

    def _count_if_quiet(self) -> None:
        """Give an update that only carries a fault level an update id of its own."""
        if self._book.update_id == self._last_id:
            self._book.count_update()

    def _send_partial_depths(self, speed: str) -> None:
        """Send the top levels to the partial depth streams of one speed."""
        for levels in PARTIAL_DEPTHS:
            stream = f"{self.prefix}@depth{levels}{speed}"
            if self._out.listening(stream):
                self._out.publish(
                    stream, payloads.partial_depth(self._book, self.instrument, levels)
                )

    def _send_book_ticker(self) -> None:
        """Send the best bid and ask when they changed."""
        stream = f"{self.prefix}@bookTicker"
        if not self._out.listening(stream):
            self._top = None
            return
        ticker = payloads.book_ticker(self._book, self.instrument)
        top = {key: value for key, value in ticker.items() if key != "u"}
        if top != self._top:
            self._top = top
            self._out.publish(stream, ticker)

    def _send_tickers(self, now: int) -> None:
        """Send the 24-hour tickers, full and mini."""
        for stream, full in ((f"{self.prefix}@ticker", True), (f"{self.prefix}@miniTicker", False)):
            if self._out.listening(stream):
                stats = day_statistics(self.exchange, self.instrument.symbol)
                self._out.publish(
                    stream, payloads.day_ticker(stats, self._book, self.instrument, now, full)
                )
