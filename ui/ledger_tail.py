"""Follow one bot's event log and keep its ledger and pair states current without re-reading it."""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from appliance.ledger import OpenOrder, Position, apply_fill_event, open_orders_from_events
from appliance.store.database import StoreUnavailable
from appliance.store.events import Event, EventKind, open_events, read_events
from ui.const import RECENT_FILLS, SymbolState

ORDER_KINDS = (EventKind.ORDER, EventKind.ACK, EventKind.REJECT, EventKind.FILL, EventKind.CANCEL)
STATE_KINDS = (EventKind.STATE, EventKind.RISK)
FOLDED_KINDS = (EventKind.QUOTE, *ORDER_KINDS, *STATE_KINDS)

BOT_STATE_REASONS = {"running": "the bot started", "stopped": "the bot stopped"}
"""Why a bot's start or stop (a state event without a symbol) paused its symbols.

A bot starts every symbol PAUSED, a halted one too; a halt it keeps is recorded after its start.
"""


@dataclass(frozen=True)
class SymbolStatus:
    """A symbol's trading state, why and since when, and the kind of its latest risk trip."""

    state: str = SymbolState.PAUSED
    reason: str = ""
    since: float | None = None
    trip: str | None = None


def moved(status: SymbolStatus, event: Event) -> SymbolStatus:
    """Return a symbol's status after a state event or a risk trip about it."""
    after = replace(
        status,
        state=str(event.data["state"]).upper(),  # older logs hold lowercase states
        reason=str(event.data.get("reason", "")),
        since=event.ts,
    )
    return replace(after, trip=str(event.data["trip"])) if event.kind is EventKind.RISK else after


def restarted(status: SymbolStatus, event: Event) -> SymbolStatus:
    """Return a symbol's status after its bot started or stopped: paused (seed 004), trip kept."""
    bot_state = str(event.data.get("state", ""))
    reason = BOT_STATE_REASONS.get(bot_state, f"the bot is {bot_state}")
    return replace(status, state=SymbolState.PAUSED, reason=reason, since=event.ts)


class LedgerTail:
    """One bot's positions, marks, open orders and newest fills, folded in as events arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, Position] = {}
        self.marks: dict[str, Decimal] = {}
        self.open_orders: list[OpenOrder] = []
        self.recent_fills: deque[Event] = deque(maxlen=RECENT_FILLS)
        self.symbols: dict[str, SymbolStatus] = {}
        self._live_order_events: list[Event] = []
        self._seq = 0
        self._db: sqlite_utils.Database | None = None

    def catch_up(self) -> bool:
        """Fold in the events appended since the last call; return False while there is no log."""
        if not self.path.exists():
            return False
        self._fold(self._read_new())
        return True

    def _read_new(self) -> list[Event]:
        """Return the events after the last one folded in, or raise StoreUnavailable."""
        try:
            if self._db is None:
                self._db = open_events(self.path)
            return read_events(self._db, self._seq, FOLDED_KINDS)
        except sqlite3.Error as exc:
            self._db = None
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None

    def _fold(self, events: list[Event]) -> None:
        """Apply new events in log order."""
        for event in events:
            if event.kind is EventKind.QUOTE:
                self._mark(event)
            elif event.kind is EventKind.FILL:
                self._fill(event)
            elif event.kind in STATE_KINDS:
                self._move(event)
        if events:
            self._seq = events[-1].seq
            self._follow_orders([event for event in events if event.kind in ORDER_KINDS])

    def _mark(self, quote: Event) -> None:
        """Take a quote's mid as its symbol's mark."""
        mid = quote.data.get("mid")
        if mid is not None:
            self.marks[quote.symbol] = Decimal(str(mid))

    def _fill(self, fill: Event) -> None:
        """Apply one fill to its symbol's position and keep it among the newest."""
        apply_fill_event(self.positions, fill)
        self.recent_fills.appendleft(fill)

    def status(self, symbol: str) -> SymbolStatus:
        """Return a symbol's status; a symbol without a state event is paused."""
        return self.symbols.get(symbol, SymbolStatus())

    def _move(self, event: Event) -> None:
        """Apply a symbol's state change or risk trip, or its bot's start or stop to every one."""
        if event.symbol:
            self.symbols[event.symbol] = moved(self.status(event.symbol), event)
        elif event.kind is EventKind.STATE:
            self.symbols = {
                symbol: restarted(status, event) for symbol, status in self.symbols.items()
            }

    def _follow_orders(self, new: list[Event]) -> None:
        """Replay the events of the still-open orders plus the new ones; keep only the open."""
        events = self._live_order_events + new
        self.open_orders = open_orders_from_events(events)
        live = {order.client_id for order in self.open_orders}
        self._live_order_events = [
            event for event in events if str(event.data.get("client_id", "")) in live
        ]
