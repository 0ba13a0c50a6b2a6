"""Market data over websockets: a worker's book and public trades fed by ccxt.pro streams.

ccxt.pro keeps the book in step itself (a REST snapshot, then the depth diffs, and a fresh
snapshot after a gap or a reconnect); the feed hands the worker the top of the book each time
it changes, and every public trade. A dropped connection or a network error is retried with
exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.pacing.backoff import Backoff

log = logging.getLogger(__name__)

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
"""Retries of a failed stream wait twice as long each time, up to this."""


def streams_market(client: Any) -> bool:
    """Return whether `client` can stream an order book (ccxt.pro), else it is polled."""
    return bool(getattr(client, "has", {}).get("watchOrderBook"))


async def follow(
    what: str, watch: Callable[[], Awaitable[Any]], deliver: Callable[[Any], None],
    backoff: Backoff, lost: Callable[[], None] | None = None,
) -> None:
    """Hand every update of one ccxt.pro stream to `deliver`, reconnecting until cancelled.

    `lost` is told of each failure: updates may have been missed until the stream is back.
    """
    while True:
        try:
            update = await watch()
        except ccxt_async.BaseError as exc:
            if lost is not None:
                lost()
            delay = backoff.next_delay()
            log.warning("%s: stream failed (%s: %s); reconnecting in %.1f s",
                        what, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        deliver(update)


class MarketFeed:
    """Stream one symbol's order book and public trades into a worker until cancelled."""

    def __init__(
        self, client: Any, symbol: str, on_book: Callable[[Any], None],
        on_trades: Callable[[list[Any]], None],
    ) -> None:
        self.symbol = symbol
        self._client = client
        self._on_book = on_book
        self._on_trades = on_trades
        self.book_backoff = Backoff(FIRST_RETRY_S, MAX_RETRY_S)
        self.trade_backoff = Backoff(FIRST_RETRY_S, MAX_RETRY_S)

    async def run(self) -> None:
        """Follow the book and the trades of the symbol until cancelled."""
        await asyncio.gather(
            follow(f"{self.symbol} book", self._watch_book, self._on_book, self.book_backoff),
            follow(f"{self.symbol} trades", self._watch_trades, self._on_trades,
                   self.trade_backoff),
        )

    async def _watch_book(self) -> Any:
        return await self._client.watch_order_book(self.symbol)

    async def _watch_trades(self) -> Any:
        return await self._client.watch_trades(self.symbol)
