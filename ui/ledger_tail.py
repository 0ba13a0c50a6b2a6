"""Follow one bot's event log and keep its ledger and pair states current without re-reading it."""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from appliance.ledger import OpenOrder, Position, apply_fill_event, open_orders_from_events
from appliance.risk.const import SymbolState, TripKind
from appliance.store.database import StoreUnavailable
from appliance.store.events import (
    ORDER_KINDS,
    BotStateChanged,
    BotStatus,
    Event,
    EventDecodeError,
    EventKind,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSent,
    QuotesChosen,
    RiskTripped,
    SymbolStateChanged,
    open_events,
    read_events,
)
from ui.const import RECENT_FILLS

FOLDED_KINDS = (EventKind.QUOTE, *ORDER_KINDS, EventKind.STATE, EventKind.RISK)
OrderBody = OrderSent | OrderAcked | OrderRejected | OrderFilled | OrderCancelled

BOT_STATE_REASONS = {BotStatus.RUNNING: "the bot started", BotStatus.STOPPED: "the bot stopped"}
"""Why a bot's start or stop (a state event without a symbol) paused its symbols.

A bot starts every symbol PAUSED, a halted one too; a halt it keeps is recorded after its start.
"""


@dataclass(frozen=True)
class SymbolStatus:
    """A symbol's trading state, why and since when, and the kind of its latest risk trip."""

    state: SymbolState = SymbolState.PAUSED
    reason: str = ""
    since: float | None = None
    trip: TripKind | None = None


def moved(
    status: SymbolStatus, ts: float, change: SymbolStateChanged | RiskTripped
) -> SymbolStatus:
    """Return a symbol's status after a state change or a risk trip about it, logged at `ts`."""
    after = replace(status, state=change.state, reason=change.reason, since=ts)
    return replace(after, trip=change.trip) if isinstance(change, RiskTripped) else after


def restarted(status: SymbolStatus, ts: float, bot: BotStateChanged) -> SymbolStatus:
    """Return a symbol's status after its bot started or stopped: paused (seed 004), trip kept."""
    return replace(status, state=SymbolState.PAUSED, reason=BOT_STATE_REASONS[bot.status], since=ts)


class LedgerTail:
    """One bot's positions, marks, open orders and newest fills, folded in as events arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, Position] = {}
        self.marks: dict[str, Decimal] = {}
        self.open_orders: list[OpenOrder] = []
        self.recent_fills: deque[tuple[Event, OrderFilled]] = deque(maxlen=RECENT_FILLS)
        """The newest fill events, newest first, each with its fill."""
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
        except (sqlite3.Error, EventDecodeError) as exc:
            self._db = None
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None

    def _fold(self, events: list[Event]) -> None:
        """Apply new events in log order."""
        for event in events:
            match event.body:
                case QuotesChosen(mid=mid) if mid is not None:
                    self.marks[event.symbol] = mid
                case OrderFilled() as fill:
                    apply_fill_event(self.positions, event.symbol, fill)
                    self.recent_fills.appendleft((event, fill))
                case SymbolStateChanged() | RiskTripped() as change if event.symbol:
                    self.symbols[event.symbol] = moved(self.status(event.symbol), event.ts, change)
                case BotStateChanged() as bot:
                    self.symbols = {symbol: restarted(status, event.ts, bot)
                                    for symbol, status in self.symbols.items()}
        if events:
            self._seq = events[-1].seq
            self._follow_orders([event for event in events if event.kind in ORDER_KINDS])

    def status(self, symbol: str) -> SymbolStatus:
        """Return a symbol's status; a symbol without a state event is paused."""
        return self.symbols.get(symbol, SymbolStatus())

    def _follow_orders(self, new: list[Event]) -> None:
        """Replay the events of the still-open orders plus the new ones; keep only the open."""
        events = self._live_order_events + new
        self.open_orders = open_orders_from_events(events)
        live = {order.client_id for order in self.open_orders}
        self._live_order_events = [
            event for event in events
            if isinstance(event.body, OrderBody) and event.body.client_id in live
        ]
