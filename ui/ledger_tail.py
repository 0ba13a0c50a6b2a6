"""Follow one bot's event log and keep its ledger current without re-reading the log."""

from __future__ import annotations

import sqlite3
from collections import deque
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from appliance.ledger import OpenOrder, Position, apply_fill_event, open_orders_from_events
from appliance.store.database import StoreUnavailable
from appliance.store.events import Event, EventKind, open_events, read_events
from ui.const import RECENT_FILLS

ORDER_KINDS = (EventKind.ORDER, EventKind.ACK, EventKind.REJECT, EventKind.FILL, EventKind.CANCEL)
FOLDED_KINDS = (EventKind.QUOTE, *ORDER_KINDS)


class LedgerTail:
    """One bot's positions, marks, open orders and newest fills, folded in as events arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, Position] = {}
        self.marks: dict[str, Decimal] = {}
        self.open_orders: list[OpenOrder] = []
        self.recent_fills: deque[Event] = deque(maxlen=RECENT_FILLS)
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

    def _follow_orders(self, new: list[Event]) -> None:
        """Replay the events of the still-open orders plus the new ones; keep only the open."""
        events = self._live_order_events + new
        self.open_orders = open_orders_from_events(events)
        live = {order.client_id for order in self.open_orders}
        self._live_order_events = [
            event for event in events if str(event.data.get("client_id", "")) in live
        ]
