"""Write down a worker's inputs: its own entries, and every answer its venue gave.

A `SymbolRecorder` tags each entry with the worker's symbol, since a bot's workers share one
journal. A `RecordingVenue` stands between the order manager and the live venue and writes
down each answer, or the exchange's error, before handing it on: with the worker's own entries
(each cycle's clock, books, trades, operator actions) that is everything its decisions read.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Protocol

import ccxt.async_support as ccxt_async

from appliance.orders.venue import StreamState, Venue
from appliance.vocabulary import Side


class Journal(Protocol):
    """Where entries go (`appliance.recorder.journal.InputJournal`)."""

    def record(self, ts: float, kind: str, payload: Any) -> None:
        """Append one entry."""


class SymbolRecorder:
    """Write one worker's entries to the bot's journal, tagged with the worker's symbol."""

    def __init__(self, journal: Journal, symbol: str) -> None:
        self.symbol = symbol
        self._journal = journal

    def record(self, now: float, kind: str, payload: dict[str, Any]) -> None:
        """Write down one input that arrived at `now`."""
        self._journal.record(now, kind, {"symbol": self.symbol, **payload})


class RecordingVenue:
    """A venue that writes down every answer of the one it wraps."""

    def __init__(self, venue: Venue, recorder: SymbolRecorder) -> None:
        self.inner = venue
        self._recorder = recorder

    async def budget(self, now: float) -> int:
        """Return the inner venue's answer, written down."""
        return int(await self._answer("budget", self.inner.budget(now)))

    async def book(self) -> dict[str, Any]:
        """Return the inner venue's answer, written down."""
        return dict(await self._answer("book", self.inner.book()))

    async def balances(self) -> dict[str, float]:
        """Return the inner venue's answer, written down."""
        return dict(await self._answer("balances", self.inner.balances()))

    async def open_orders(self) -> list[dict[str, Any]]:
        """Return the inner venue's answer, written down."""
        return list(await self._answer("open_orders", self.inner.open_orders()))

    async def trades(self, after: int) -> list[dict[str, Any]]:
        """Return the inner venue's answer, written down."""
        return list(await self._answer("trades", self.inner.trades(after)))

    async def order(self, order_id: str | None, client_id: str) -> dict[str, Any]:
        """Return the inner venue's answer, written down."""
        return dict(await self._answer("order", self.inner.order(order_id, client_id)))

    async def create(self, now: float, side: Side, amount: str, price: str,
                     client_id: str) -> dict[str, Any]:
        """Return the inner venue's answer, written down."""
        return dict(await self._answer(
            "create", self.inner.create(now, side, amount, price, client_id)))

    async def cancel(self, order_id: str) -> None:
        """Return the inner venue's answer, written down."""
        await self._answer("cancel", self.inner.cancel(order_id))

    async def stream(self) -> StreamState | None:
        """Return the inner venue's answer, written down."""
        state = await self.inner.stream()
        self._recorder.record(time.time(), "answer", {
            "call": "stream", "result": None if state is None else asdict(state)})
        return state

    async def _answer(self, call: str, answer: Any) -> Any:
        try:
            result = await answer
        except ccxt_async.BaseError as exc:
            self._recorder.record(time.time(), "error", {
                "call": call, "type": type(exc).__name__, "message": str(exc)[:500]})
            raise
        self._recorder.record(time.time(), "answer", {"call": call, "result": result})
        return result
