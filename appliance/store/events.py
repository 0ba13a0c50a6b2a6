"""A bot's append-only event log (`bots/bot-N/events.db`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from appliance.store.database import open_reader, open_writer


class EventKind(StrEnum):
    """What an event records."""

    STATE = "state"  # bot or symbol state change: {"state", "reason"}
    QUOTE = "quote"  # desired quotes: {"mid", "bid": [price, amount] | None, "ask": ...}
    ORDER = "order"  # an order sent: {"client_id", "side", "price", "amount"}
    ACK = "ack"  # the exchange accepted it: {"client_id", "order_id"}
    REJECT = "reject"  # the exchange refused it: {"client_id", "error"}
    FILL = "fill"  # a trade: {"client_id", "order_id", "trade_id", "side", "price", "amount",
    #                "fee", "fee_asset", "base", "quote"}
    CANCEL = "cancel"  # an order left the book unfilled: {"client_id", "order_id"}
    RISK = "risk"  # a risk trip: {"trip", "reason", "state"}


@dataclass(frozen=True)
class Event:
    """One row of the event log."""

    seq: int
    ts: float
    kind: EventKind
    symbol: str
    data: dict[str, Any]


def _ensure_schema(db: sqlite_utils.Database) -> None:
    if "events" not in db.table_names():
        db.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
            " kind TEXT NOT NULL, symbol TEXT NOT NULL, data TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX events_kind ON events (kind, seq)")


class EventLog:
    """The writer side: a bot appends its events here and nowhere else."""

    def __init__(self, path: Path) -> None:
        self._db = open_writer(path)
        _ensure_schema(self._db)

    def append(self, kind: EventKind, symbol: str, data: dict[str, Any]) -> int:
        """Append one event and return its sequence number."""
        cursor = self._db.execute(
            "INSERT INTO events (ts, kind, symbol, data) VALUES (?, ?, ?, ?)",
            [time.time(), kind.value, symbol, json.dumps(data, separators=(",", ":"))],
        )
        return int(cursor.lastrowid or 0)

    def events(self, since: int = 0, kinds: tuple[EventKind, ...] = ()) -> list[Event]:
        """Return the events after sequence number `since`, oldest first."""
        return read_events(self._db, since, kinds)

    def close(self) -> None:
        """Close the log."""
        self._db.close()


def open_events(path: Path) -> sqlite_utils.Database:
    """Open a bot's event log read-only (for the panel and tests)."""
    return open_reader(path)


def read_events(
    db: sqlite_utils.Database,
    since: int = 0,
    kinds: tuple[EventKind, ...] = (),
    newest: int | None = None,
) -> list[Event]:
    """Return events after `since` (oldest first), or only the `newest` N of them."""
    where = "seq > ?"
    params: list[Any] = [since]
    if kinds:
        where += f" AND kind IN ({','.join('?' * len(kinds))})"
        params += [k.value for k in kinds]
    sql = f"SELECT seq, ts, kind, symbol, data FROM events WHERE {where} ORDER BY seq"
    if newest is not None:
        sql = f"SELECT * FROM ({sql} DESC LIMIT {int(newest)}) ORDER BY seq"
    return [
        Event(int(seq), float(ts), EventKind(kind), str(symbol), json.loads(data))
        for seq, ts, kind, symbol, data in db.execute(sql, params).fetchall()
    ]
