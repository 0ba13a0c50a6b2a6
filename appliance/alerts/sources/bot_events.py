"""One bot's event log: risk trips, a pair going HALTED, each pair's state and last quotes."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from appliance.alerts.alert import Alert, AlertKind, Severity
from appliance.risk.const import SymbolState
from appliance.store.database import StoreUnavailable
from appliance.store.events import (
    BotStateChanged,
    Event,
    EventDecodeError,
    EventKind,
    RiskTripped,
    SymbolStateChanged,
    open_events,
    read_events,
)
from ui.ledger_tail import SymbolStatus, moved, restarted

log = logging.getLogger(__name__)

WATCHED = (EventKind.STATE, EventKind.RISK)


class BotEventsTail:
    """Follow one bot's events.db: fold in its state changes, alert on trips and halts.

    On its first read it folds in every state change up to its bookmark (or the log's end)
    without alerting, so it knows each pair's state as the bot does; after that it reads only
    new rows, and the quotes' times without decoding them.
    """

    def __init__(self, bot: str, path: Path, saved: Any) -> None:
        self.bot = bot
        self.path = path
        self.statuses: dict[str, SymbolStatus] = {}
        self.halted: set[str] = set()
        """Pairs halted and not cleared since; a bot's restart keeps a halt, so this does too."""
        self.quoted: dict[str, float] = {}
        """When the bot last chose quotes for each pair, as far as this process has read."""
        self._seq: int | None = None
        self._folded = False
        if isinstance(saved, dict) and isinstance(saved.get("seq"), int):
            self._seq = saved["seq"]
            self.quoted = {str(symbol): float(ts) for symbol, ts
                           in dict(saved.get("quoted", {})).items()}
        self._db: sqlite_utils.Database | None = None
        self._trouble = ""

    def bookmark(self) -> dict[str, Any] | None:
        """Return where the tail stopped reading."""
        return None if self._seq is None else {"seq": self._seq, "quoted": dict(self.quoted)}

    def poll(self) -> list[Alert]:
        """Read what the bot appended since the last poll and return the alerts it raises."""
        if not self.path.exists():
            return []
        try:
            if self._db is None:
                self._db = open_events(self.path)
            alerts = self._read(self._db)
        except (sqlite3.Error, StoreUnavailable, EventDecodeError) as exc:
            self.close()
            if str(exc) != self._trouble:
                self._trouble = str(exc)
                log.warning("%s: cannot read %s (%s); trying again", self.bot, self.path, exc)
            return []
        self._trouble = ""
        return alerts

    def _read(self, db: sqlite_utils.Database) -> list[Alert]:
        """Read one consistent snapshot of the log's new rows."""
        db.execute("BEGIN")
        try:
            last = int(db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
            if self._seq is not None and self._seq > last:  # a new log: learn it again, quietly
                self._seq, self._folded = None, False
                self.statuses.clear()
                self.halted.clear()
            quiet_until = last if self._seq is None else self._seq
            since = 0 if not self._folded else quiet_until
            events = read_events(db, since, WATCHED)
            quotes = db.execute(
                "SELECT symbol, max(ts) FROM events WHERE kind = ? AND seq > ? GROUP BY symbol",
                [EventKind.QUOTE.value, quiet_until]).fetchall()
        finally:
            db.execute("COMMIT")
        for symbol, ts in quotes:
            self.quoted[str(symbol)] = max(float(ts), self.quoted.get(str(symbol), 0.0))
        alerts = [alert for event in events
                  if (alert := self._fold(event, loud=event.seq > quiet_until)) is not None]
        self._seq, self._folded = last, True
        return alerts

    def _fold(self, event: Event, *, loud: bool) -> Alert | None:
        """Apply one state event; return the alert it raises, when `loud`."""
        match event.body:
            case BotStateChanged() as status:
                self.statuses = {symbol: restarted(known, event.ts, status)
                                 for symbol, known in self.statuses.items()}
                return None
            case SymbolStateChanged() | RiskTripped() as change if event.symbol:
                symbol = event.symbol
                self.statuses[symbol] = moved(self.statuses.get(symbol, SymbolStatus()),
                                              event.ts, change)
                was_halted = symbol in self.halted
                if change.state is SymbolState.HALTED:
                    self.halted.add(symbol)
                else:
                    self.halted.discard(symbol)
                if not loud:
                    return None
                if isinstance(change, RiskTripped):
                    return self._trip_alert(event, change)
                if change.state is SymbolState.HALTED and not was_halted:
                    return self._halt_alert(event, change)
        return None

    def _trip_alert(self, event: Event, trip: RiskTripped) -> Alert:
        halted = trip.state is SymbolState.HALTED
        then = ("HALTED: clear the halt in the panel before it trades again" if halted
                else "PAUSED: orders cancelled, resume it when the cause is gone")
        return Alert(f"{self.bot}:event:{event.seq}", AlertKind.RISK_TRIP,
                     Severity.CRITICAL if halted else Severity.WARNING, event.ts,
                     f"risk trip {trip.trip.value}: {trip.reason}; {then}", self.bot,
                     event.symbol, {"trip": trip.trip.value, "reason": trip.reason,
                                    "state": trip.state.name, "seq": event.seq})

    def _halt_alert(self, event: Event, change: SymbolStateChanged) -> Alert:
        return Alert(f"{self.bot}:event:{event.seq}", AlertKind.SYMBOL_HALTED, Severity.CRITICAL,
                     event.ts, f"HALTED: {change.reason}; clear the halt in the panel before it "
                     "trades again", self.bot, event.symbol,
                     {"reason": change.reason, "state": change.state.name, "seq": event.seq})

    def close(self) -> None:
        """Close the log."""
        if self._db is not None:
            self._db.close()
            self._db = None
