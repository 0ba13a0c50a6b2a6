"""Play a worker's recorded inputs back through the same cycle code, sending nothing.

The journal holds, in the order they happened, each input of one worker's decisions: the
clock of every cycle and operator action, books and trades as the feed brought them, the other
bots' resting orders, and every answer of the venue. `Playback` calls the worker's entry points
with them, and its venue answers each call from the record, so the worker decides again
exactly as it did; a call the record does not hold next means the decisions differ, and says
where.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.worker import SymbolWorker
from appliance.config.pair import pair_settings
from appliance.orders.venue import BudgetSpent, StreamState
from appliance.recorder.journal import JournalEntry
from appliance.vocabulary import Side

ANSWERS = ("answer", "error")
BETWEEN_ANSWERS = ("book", "trades", "others")
"""Inputs that may arrive while a cycle waits for the exchange."""


class ReplayDiverged(Exception):
    """The worker asked for something the record does not hold next: its decisions differ."""


class Playback:
    """One symbol's recorded inputs, fed to a worker; its venue answers from the record."""

    def __init__(self, entries: Iterable[JournalEntry], symbol: str) -> None:
        self.symbol = symbol
        self._entries = deque(e for e in entries if e.payload.get("symbol") == symbol)
        self._worker: SymbolWorker | None = None
        self.position = 0

    async def run(self, worker: SymbolWorker) -> None:
        """Feed every recorded input to `worker`, in order."""
        self._worker = worker
        while self._entries:
            entry = self._pop()
            now, kind, payload = entry.ts, entry.kind, entry.payload
            if kind == "cycle":
                with contextlib.suppress(ccxt_async.OperationFailed):
                    await worker.cycle(now)  # as the bot does; the record holds what followed
            elif kind == "operate":
                await worker.operate(str(payload["action"]), now,
                                     actor=str(payload.get("actor", "")),
                                     fingerprint=str(payload.get("fingerprint", "")))
            elif kind == "reconcile":
                await worker.reconcile(now)
            elif kind == "cancel_all":
                await worker.cancel_all(now)
            elif kind == "check_stale":
                await worker.check_stale(now)
            elif kind == "configure":
                await worker.configure(pair_settings(payload["settings"]), now)
            elif kind in BETWEEN_ANSWERS:
                worker.take_input(now, kind, payload)
            else:
                raise ReplayDiverged(f"input {self.position}: the record holds a {kind} "
                                     f"({payload.get('call')}) that nothing asked for")

    async def budget(self, now: float) -> int:
        """Answer from the record."""
        return int(self._answer("budget"))

    async def book(self) -> dict[str, Any]:
        """Answer from the record."""
        return dict(self._answer("book"))

    async def balances(self) -> dict[str, float]:
        """Answer from the record."""
        return dict(self._answer("balances"))

    async def open_orders(self) -> list[dict[str, Any]]:
        """Answer from the record."""
        return list(self._answer("open_orders"))

    async def trades(self, after: int) -> list[dict[str, Any]]:
        """Answer from the record."""
        return list(self._answer("trades"))

    async def order(self, order_id: str | None, client_id: str) -> dict[str, Any]:
        """Answer from the record."""
        return dict(self._answer("order"))

    async def create(self, now: float, side: Side, amount: str, price: str,
                     client_id: str) -> dict[str, Any]:
        """Answer from the record."""
        return dict(self._answer("create"))

    async def cancel(self, order_id: str) -> None:
        """Answer from the record."""
        self._answer("cancel")

    async def stream(self) -> StreamState | None:
        """Answer from the record."""
        state = self._answer("stream")
        return None if state is None else StreamState(**state)

    def _answer(self, call: str) -> Any:
        """Take the inputs that came before the answer to `call`, then the answer itself."""
        assert self._worker is not None, "run() feeds the worker"
        while self._entries and self._entries[0].kind in BETWEEN_ANSWERS:
            entry = self._pop()
            self._worker.take_input(entry.ts, entry.kind, entry.payload)
        if not self._entries:
            raise ReplayDiverged(f"the worker asked for {call} after the record ended")
        entry = self._pop()
        if entry.kind not in ANSWERS or entry.payload.get("call") != call:
            raise ReplayDiverged(
                f"input {self.position}: the worker asked for {call}, the record holds "
                f"{entry.kind} {entry.payload.get('call', '')}".rstrip())
        if entry.kind == "error":
            raise _error(str(entry.payload["type"]), str(entry.payload["message"]))
        return entry.payload["result"]

    def _pop(self) -> JournalEntry:
        self.position += 1
        return self._entries.popleft()


def _error(name: str, message: str) -> Exception:
    """Return the exception the venue raised, by its name."""
    kind = BudgetSpent if name == BudgetSpent.__name__ else getattr(ccxt_async, name, None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind, message = ccxt_async.ExchangeError, f"{name}: {message}"
    error: Exception = kind(message)
    return error
