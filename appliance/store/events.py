"""A bot's append-only event log (`bots/bot-N/events.db`): one typed record per event.

Each kind of event is a frozen dataclass; they are encoded to and decoded from the log's rows
here and nowhere else, so the bot, the ledger and the panel read the same types. Prices and
amounts are Decimals, states are enum values. Rows written by older versions (upper-case
states, a reject without a reason, a state change without its actor) decode to the same types.

Every row is chained to the one before it (`appliance.store.chain`): its `hash` covers its
`prev` and the canonical encoding of its seq, time, symbol, kind and body as stored, so a row
edited, deleted, inserted or moved shows (`appliance.store.verify`). A row and its hash are
written by one INSERT: a bot killed while it writes leaves the whole row or none of it. A log
written before rows were chained is chained once, by its bot when it next opens it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from appliance.risk.const import SymbolState, TripKind
from appliance.store.access import transaction
from appliance.store.chain import START, Head, Link, record_hash
from appliance.store.database import close_writer, open_reader, open_writer
from appliance.vocabulary import Side


class EventKind(StrEnum):
    """What an event records: the `kind` column of the log."""

    STATE = "state"
    QUOTE = "quote"
    ORDER = "order"
    ACK = "ack"
    REJECT = "reject"
    FILL = "fill"
    CANCEL = "cancel"
    RISK = "risk"


class BotStatus(StrEnum):
    """Whether the bot process is running; a bot's start and stop pause every symbol."""

    RUNNING = "running"
    STOPPED = "stopped"


PriceSize = tuple[Decimal, Decimal]


@dataclass(frozen=True)
class BotStateChanged:
    """The bot process started or stopped (logged without a symbol)."""

    status: BotStatus


@dataclass(frozen=True)
class SymbolStateChanged:
    """A symbol moved to another state, by the operator or the bot, and why.

    `actor` and `fingerprint` name the user whose action it was, as the user-activity log
    names them; both are '' for a change the bot made, and in rows written before they were
    kept.
    """

    state: SymbolState
    reason: str
    actor: str = ""
    fingerprint: str = ""


@dataclass(frozen=True)
class QuotesChosen:
    """The quotes the strategy wants resting, best first, and the mid they were chosen at.

    `best_bid` and `best_ask` are the market's best prices without the box's own orders, as
    the strategy saw them, and `inventory` the symbol's position in the base asset that it
    quoted against (None in rows written before they were kept, or with no market).
    """

    mid: Decimal | None
    bids: tuple[PriceSize, ...]
    asks: tuple[PriceSize, ...]
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    inventory: Decimal | None = None


@dataclass(frozen=True)
class OrderSent:
    """An order about to leave for the exchange: the intent, logged before it is sent."""

    client_id: str
    side: Side
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class OrderAcked:
    """The exchange accepted an order and gave it its own id."""

    client_id: str
    order_id: str


@dataclass(frozen=True)
class OrderRejected:
    """The exchange refused an order, or it never reached the exchange."""

    client_id: str
    reason: str
    error: str


@dataclass(frozen=True)
class OrderFilled:
    """A trade of one of the box's orders."""

    client_id: str
    order_id: str
    trade_id: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    base: str
    quote: str


@dataclass(frozen=True)
class OrderCancelled:
    """An order left the book unfilled (cancelled, expired, or gone from the exchange)."""

    client_id: str
    order_id: str | None
    reason: str


@dataclass(frozen=True)
class RiskTripped:
    """The risk guard stopped a symbol: its orders are cancelled, it moved to `state`."""

    trip: TripKind
    reason: str
    state: SymbolState


EventBody = (BotStateChanged | SymbolStateChanged | QuotesChosen | OrderSent | OrderAcked
             | OrderRejected | OrderFilled | OrderCancelled | RiskTripped)

KIND_OF: dict[type[Any], EventKind] = {
    BotStateChanged: EventKind.STATE, SymbolStateChanged: EventKind.STATE,
    QuotesChosen: EventKind.QUOTE, OrderSent: EventKind.ORDER, OrderAcked: EventKind.ACK,
    OrderRejected: EventKind.REJECT, OrderFilled: EventKind.FILL,
    OrderCancelled: EventKind.CANCEL, RiskTripped: EventKind.RISK,
}
ORDER_KINDS = (EventKind.ORDER, EventKind.ACK, EventKind.REJECT, EventKind.FILL,
               EventKind.CANCEL)
"""The kinds that tell an order's life, from intent to its end."""


@dataclass(frozen=True)
class Event:
    """One row of the event log: its place, its time, its symbol ('' for the bot) and body."""

    seq: int
    ts: float
    symbol: str
    body: EventBody

    @property
    def kind(self) -> EventKind:
        """Return the kind of the event's body."""
        return KIND_OF[type(self.body)]


class EventDecodeError(Exception):
    """A row of the log cannot be read as an event; the message names the row."""


def encode(body: EventBody) -> str:
    """Return the JSON stored for an event body."""
    data: dict[str, Any] = {}
    for name, value in vars(body).items():
        if isinstance(value, tuple):
            value = [[str(price), str(size)] for price, size in value]
        elif value is not None and not isinstance(value, str):
            value = str(value)
        data[name] = value
    if isinstance(body, BotStateChanged):
        data = {"state": body.status.value}
    elif isinstance(body, QuotesChosen):
        data["bid"] = data["bids"][0] if body.bids else None
        data["ask"] = data["asks"][0] if body.asks else None
    return json.dumps(data, separators=(",", ":"))


def decode(seq: int, kind: str, data: str) -> EventBody:
    """Return the body of a stored row, or raise EventDecodeError naming the row."""
    try:
        fields = json.loads(data)
        if not isinstance(fields, dict):
            raise TypeError(f"the data is a JSON {type(fields).__name__}, not an object")
        return _decode(EventKind(kind), fields)
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise EventDecodeError(f"event {seq} ({kind}) cannot be read: {exc!r}") from None


def _decode(kind: EventKind, d: dict[str, Any]) -> EventBody:
    if kind is EventKind.STATE:
        state = str(d["state"])
        if state in set(BotStatus):
            return BotStateChanged(BotStatus(state))
        return SymbolStateChanged(SymbolState(state.lower()), str(d.get("reason", "")),
                                  str(d.get("actor", "")), str(d.get("fingerprint", "")))
    if kind is EventKind.QUOTE:
        return QuotesChosen(_price(d.get("mid")), _levels(d.get("bids"), d.get("bid")),
                            _levels(d.get("asks"), d.get("ask")),
                            _price(d.get("best_bid")), _price(d.get("best_ask")),
                            _price(d.get("inventory")))
    if kind is EventKind.ORDER:
        return OrderSent(str(d["client_id"]), Side(d["side"]), Decimal(str(d["price"])),
                         Decimal(str(d["amount"])))
    if kind is EventKind.ACK:
        return OrderAcked(str(d["client_id"]), str(d["order_id"]))
    if kind is EventKind.REJECT:
        return OrderRejected(str(d.get("client_id", "")), str(d.get("reason", "")),
                             str(d.get("error", "")))
    if kind is EventKind.FILL:
        return OrderFilled(
            str(d.get("client_id", "")), str(d["order_id"]), str(d["trade_id"]), Side(d["side"]),
            Decimal(str(d["price"])), Decimal(str(d["amount"])), Decimal(str(d.get("fee", "0"))),
            str(d.get("fee_asset", "")), str(d.get("base", "")), str(d.get("quote", "")))
    if kind is EventKind.CANCEL:
        order_id = d.get("order_id")
        return OrderCancelled(str(d.get("client_id", "")),
                              None if order_id is None else str(order_id),
                              str(d.get("reason", "")))
    return RiskTripped(TripKind(d["trip"]), str(d.get("reason", "")),
                       SymbolState(str(d["state"]).lower()))


def _price(value: Any) -> Decimal | None:
    """Return a stored price, or None where the row has none."""
    return None if value is None else Decimal(str(value))


def _levels(levels: Any, best: Any) -> tuple[PriceSize, ...]:
    """Return stored levels; older quote rows hold only the best one."""
    if levels is None:
        levels = [] if best is None else [best]
    return tuple((Decimal(str(price)), Decimal(str(size))) for price, size in levels)


CHAIN_BATCH = 5000
"""How many rows are chained, or read to be checked, at a time."""


def chain_record(seq: int, ts: float, symbol: str, kind: str, data: str) -> dict[str, Any]:
    """Return what a row's hash covers: its seq, time, symbol, kind and body as stored."""
    return {"seq": seq, "ts": ts, "symbol": symbol, "kind": kind, "body": data}


def is_chained(db: sqlite_utils.Database) -> bool:
    """Return whether the log's rows carry their chain (logs of older bots do not, until
    their bot opens them)."""
    return "hash" in {column.name for column in db["events"].columns}


def read_links(db: sqlite_utils.Database, after: int, limit: int = CHAIN_BATCH) -> list[Link]:
    """Return up to `limit` rows after seq `after`, oldest first, as links of the chain."""
    rows = db.execute("SELECT seq, ts, kind, symbol, data, prev, hash FROM events "
                      "WHERE seq > ? ORDER BY seq LIMIT ?", [after, limit]).fetchall()
    return [Link(int(seq), chain_record(int(seq), float(ts), str(symbol), str(kind), str(data)),
                 str(prev or ""), str(hash_ or ""))
            for seq, ts, kind, symbol, data, prev, hash_ in rows]


def _ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the log, or chain the rows of one an older bot wrote."""
    if "events" not in db.table_names():
        db.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
            " kind TEXT NOT NULL, symbol TEXT NOT NULL, data TEXT NOT NULL,"
            " prev TEXT NOT NULL DEFAULT '', hash TEXT NOT NULL DEFAULT '')"
        )
        db.execute("CREATE INDEX events_kind ON events (kind, seq)")
    elif not is_chained(db):
        _chain_rows(db)


def _chain_rows(db: sqlite_utils.Database) -> None:
    """Chain every row of a log written before rows were chained, all in one transaction.

    A log of an older bot is brought up to date once, by its bot (its one writer) when it
    opens it: from then on its existing rows verify like new ones, and an edit made to them
    before this cannot be told from what the bot wrote.
    """
    with transaction(db):
        db.execute("ALTER TABLE events ADD COLUMN prev TEXT NOT NULL DEFAULT ''")
        db.execute("ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''")
        head = START
        while links := read_links(db, head.seq):
            chained = []
            for link in links:
                digest = record_hash(head.hash, link.record)
                chained.append((head.hash, digest, link.seq))
                head = Head(link.seq, digest)
            db.conn.executemany("UPDATE events SET prev = ?, hash = ? WHERE seq = ?", chained)


def _head(db: sqlite_utils.Database) -> Head:
    """Return the log's last row as the head of its chain."""
    row = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return START if row is None else Head(int(row[0]), str(row[1]))


class EventLog:
    """The writer side: a bot appends its events here and nowhere else."""

    def __init__(self, path: Path) -> None:
        self._db = open_writer(path)
        _ensure_schema(self._db)
        self._head = _head(self._db)

    def append(self, symbol: str, body: EventBody) -> Event:
        """Append one event, chained to the one before, and return it as the log now holds it.

        The row and its hash are one INSERT: the log holds all of it, or none.
        """
        ts = time.time()
        kind = KIND_OF[type(body)].value
        data = encode(body)
        prev, seq = self._head.hash, self._head.seq + 1
        digest = record_hash(prev, chain_record(seq, ts, symbol, kind, data))
        self._db.execute(
            "INSERT INTO events (seq, ts, kind, symbol, data, prev, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [seq, ts, kind, symbol, data, prev, digest])
        self._head = Head(seq, digest)
        return Event(seq, ts, symbol, body)

    def events(self, since: int = 0, kinds: tuple[EventKind, ...] = (),
               newest: int | None = None) -> list[Event]:
        """Return the events after sequence number `since` (or only the `newest` N of them),
        oldest first."""
        return read_events(self._db, since, kinds, newest)

    def count(self, kind: EventKind) -> int:
        """Return how many events of one kind the log holds."""
        row = self._db.execute("SELECT count(*) FROM events WHERE kind = ?", [kind.value])
        return int(row.fetchone()[0])

    def close(self) -> None:
        """Close the log, leaving it readable by the panel's uid."""
        close_writer(self._db)


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
        Event(int(seq), float(ts), str(symbol), decode(int(seq), str(kind), str(data)))
        for seq, ts, kind, symbol, data in db.execute(sql, params).fetchall()
    ]
