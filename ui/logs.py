"""Every log the box keeps, read as one stream of entries, newest first, paged by keyset.

The sources, each read only as far as a page needs:
- each bot's events.db: strategy decisions (the quotes chosen), orders (intents, acks,
  rejects, fills, cancels), risk trips and state changes;
- each bot's API log (api.log, and the api.log.1 it rotates to): its exchange requests;
- appliance.db's user-activity log, for an owner (it is the owner's, as at /api/activity);
- the processes' logs (`DataDir.log(name)`): the supervisor's and its children's;
- the signer's audit log (`hsm/audit.log`).

An entry's key is (time, source, position), its position the seq of its row or the byte offset
of its line, so keys are unique and their order total. A page is the entries below one key (a
cursor), a tail those above one. Each source finds where the cursor falls in it by bisecting
on time over its positions (seqs, byte offsets: times grow with them, so no index on time is
needed) and reads from there, so a page near the head of a log of a million events costs what
it costs on a log of a thousand. A page that examines its budget of rows without filling up
ends at the last row it examined: the next page goes on from there.

No entry holds a secret: events, exchange requests (method, path without its query, status)
and the signer's audit records never hold one, and activity details are scrubbed when written.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol
from urllib.parse import urlencode

import orjson
import sqlite_utils

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState
from appliance.store import access
from appliance.store.database import StoreUnavailable, open_reader
from appliance.store.events import (
    ORDER_KINDS,
    BotStateChanged,
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
    decode,
)
from ui.access_admin import newest_seq
from ui.api_log import ApiRequest, parse_request, rotated

PAGE_LIMIT = 100
"""How many entries a page holds unless asked for another number."""

MAX_LIMIT = 500
"""The most entries one page holds."""

EXAMINED_MAX = 20_000
"""The most rows one page examines: a filter that few rows pass ends a page early, with a
cursor to go on from, rather than reading a whole log at once."""

FIRST_BATCH, MAX_BATCH = 64, 1024
"""How many rows a source reads at a time: few at first (a page may need none of its rows),
then more while the page takes them."""

BLOCK, PROBE = 64 * 1024, 4 * 1024
"""How much of a file one read takes, and one look at a place in it while bisecting."""

SPAN, SCANNED_MAX = 65_536, 262_144
"""How many seqs of events.db are looked through at a time for a pair's rows, and at most for
one page."""

MORE_LINES = 50
"""The most lines kept below a process log's line (a traceback, say)."""

MAX_TEXT = 200
"""The longest free text a filter takes."""


class LogKind(StrEnum):
    """What an entry is about: the Logs page's kinds."""

    DECISION = "decision"
    ORDER = "order"
    API = "api"
    RISK = "risk"
    ACTIVITY = "activity"
    PROCESS = "process"
    AUDIT = "audit"


KIND_LABELS = {
    LogKind.DECISION: "strategy decisions", LogKind.ORDER: "orders",
    LogKind.API: "API requests", LogKind.RISK: "risk and state",
    LogKind.ACTIVITY: "user activity", LogKind.PROCESS: "supervisor and processes",
    LogKind.AUDIT: "signer audit",
}

KIND_OF_EVENT = {
    EventKind.QUOTE: LogKind.DECISION, **dict.fromkeys(ORDER_KINDS, LogKind.ORDER),
    EventKind.STATE: LogKind.RISK, EventKind.RISK: LogKind.RISK,
}
"""The kind of entry each kind of row of events.db makes."""
KIND_OF_ROW = {kind.value: log_kind for kind, log_kind in KIND_OF_EVENT.items()}


class LogLevel(StrEnum):
    """How much an entry asks for attention."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


LEVEL_OF_NAME = {"DEBUG": LogLevel.INFO, "INFO": LogLevel.INFO, "WARNING": LogLevel.WARNING,
                 "ERROR": LogLevel.ERROR, "CRITICAL": LogLevel.ERROR}
"""A level of Python's logging as an entry's level."""


class BadLogQuery(ValueError):
    """A filter or cursor that cannot be read; the message says what to send instead."""


class LogsUnavailable(Exception):
    """A log failed while a page was read from it; the message names it."""


class LogKey(NamedTuple):
    """Where an entry stands among all: by time, then source, then position in its source."""

    time: float
    source: str
    position: int

    @property
    def cursor(self) -> str:
        """Return the key as the text `before=` and `after=` take."""
        return f"{self.time!r},{self.source},{self.position}"


TOP = LogKey(math.inf, "", 0)
BOTTOM = LogKey(-math.inf, "", 0)
SOURCE = re.compile(r"(events|api|process)/[\w.-]{1,64}|activity|audit")
CURSOR_FORM = "a cursor from an answer's before or after, like 1733101958.279,events/bot-1,42"


def parse_cursor(text: str) -> LogKey:
    """Return the key a cursor names, or raise BadLogQuery."""
    moment, _, rest = text.partition(",")
    source, _, position = rest.rpartition(",")
    try:
        key = LogKey(float(moment), source, int(position))
    except ValueError:
        raise BadLogQuery(f"the cursor is not {CURSOR_FORM}") from None
    if not (math.isfinite(key.time) and SOURCE.fullmatch(source) and key.position >= 0
            and position.isascii() and position.isdecimal()):
        raise BadLogQuery(f"the cursor is not {CURSOR_FORM}")
    return key


@dataclass(frozen=True)
class LogEntry:
    """One entry of a log: when, from which source and where in it, about which bot and pair
    ('' for none), what kind and level, a line of text, and the details as JSON values."""

    time: float
    source: str
    position: int
    bot: str
    pair: str
    kind: LogKind
    level: LogLevel
    text: str
    detail: dict[str, Any]

    @property
    def key(self) -> LogKey:
        """Return the entry's place among all."""
        return LogKey(self.time, self.source, self.position)

    def record(self) -> dict[str, Any]:
        """Return the entry as the REST API and the export write it, with its cursor."""
        return {"time": self.time, "source": self.source, "bot": self.bot, "pair": self.pair,
                "kind": self.kind.value, "level": self.level.value, "text": self.text,
                "detail": self.detail, "cursor": self.key.cursor}


def stamp(moment: float) -> str:
    """Return a Unix time as a UTC date and time to the millisecond."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def moment_of(text: str, name: str) -> float:
    """Return the Unix time a filter's time names (ISO 8601, UTC unless it says otherwise, or
    Unix seconds), or raise BadLogQuery."""
    try:
        moment = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            raise BadLogQuery(f"{name} must be a time like 2026-01-31 14:05 (UTC) or Unix "
                              "seconds") from None
        moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if not math.isfinite(moment) or moment < 0:
        raise BadLogQuery(f"{name} must be a time after 1970")
    return moment


@dataclass(frozen=True)
class LogFilter:
    """Which entries a page holds: of one bot, one pair, some kinds (none: all), holding a
    text (case aside), from `since` (inclusive) until `until` (exclusive)."""

    bot: str | None = None
    pair: str | None = None
    kinds: frozenset[LogKind] = frozenset()
    text: str | None = None
    since: float | None = None
    until: float | None = None

    @classmethod
    def of(cls, bot: str | None = None, pair: str | None = None, kinds: Sequence[str] = (),
           text: str | None = None, since: str | None = None, until: str | None = None
           ) -> LogFilter:
        """Return the filter a form or a query names, or raise BadLogQuery saying what is
        wrong with it."""
        chosen = set()
        for kind in kinds:
            try:
                chosen.add(LogKind(kind))
            except ValueError:
                raise BadLogQuery(f"kind must be one of {', '.join(LogKind)}") from None
        if text is not None and len(text) > MAX_TEXT:
            raise BadLogQuery(f"the text to find is over {MAX_TEXT} characters; shorten it")
        wanted = cls(bot or None, pair or None, frozenset(chosen), text or None,
                     None if not since else moment_of(since, "since"),
                     None if not until else moment_of(until, "until"))
        if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
            raise BadLogQuery("since must be before until")
        return wanted

    def wants(self, *kinds: LogKind) -> bool:
        """Return whether entries of any of these kinds may pass."""
        return not self.kinds or any(kind in self.kinds for kind in kinds)

    def matches(self, entry: LogEntry) -> bool:
        """Return whether an entry passes."""
        return (self.wants(entry.kind) and self.bot in (None, entry.bot)
                and self.pair in (None, entry.pair)
                and (self.text is None or self.text.casefold() in haystack(entry)))

    def span(self) -> tuple[LogKey, LogKey]:
        """Return the keys the entries lie between, both excluded."""
        return (BOTTOM if self.since is None else LogKey(self.since, "", -1),
                TOP if self.until is None else LogKey(self.until, "", -1))

    def query(self) -> str:
        """Return the filter as a URL's query, as `of` reads it back."""
        pairs = [(name, value) for name, value in (
            ("bot", self.bot), ("pair", self.pair), ("text", self.text),
            ("since", None if self.since is None else repr(self.since)),
            ("until", None if self.until is None else repr(self.until))) if value is not None]
        pairs += [("kind", kind.value) for kind in LogKind if kind in self.kinds]
        return urlencode(pairs)


def haystack(entry: LogEntry) -> str:
    """Return what the free text of a filter is looked for in, case aside."""
    return f"{entry.text} {json.dumps(entry.detail, ensure_ascii=False)}".casefold()


@dataclass(frozen=True)
class LogPage:
    """Entries newest first; `before`: where older entries go on (None: no older ones);
    `after`: where a tail goes on (None: from the newest); the logs left out, and why."""

    entries: tuple[LogEntry, ...]
    before: LogKey | None
    after: LogKey | None
    left_out: tuple[str, ...]


class Store(Protocol):
    """One log whose records stand at positions 0 <= p < end, their times growing with p."""

    name: str
    end: int
    stable: bool
    """Whether a position names the same record for good (a rotated file's offsets do not)."""

    def first_at(self, position: int) -> tuple[int, float] | None:
        """Return the position and time of the first record at or after a position."""

    def entries(self, lo: int, hi: int, newest_first: bool) -> Iterator[LogEntry | LogKey]:
        """Yield the entries of the records at positions lo <= p < hi; a key instead ends
        the page there: the log was looked through that far, as much as a page may."""


def key_of(item: LogEntry | LogKey) -> LogKey:
    """Return the key an entry, or the end of what a log looked through, stands at."""
    return item if isinstance(item, LogKey) else item.key


def first_later(store: Store, moment: float, strict: bool) -> int:
    """Return the position of the first record later than `moment` (or as late, not strict)."""
    lo, hi = 0, store.end
    while lo < hi:
        mid = (lo + hi) // 2
        found = store.first_at(mid)
        if found is None or (found[1] > moment if strict else found[1] >= moment):
            hi = mid
        else:
            lo = found[0] + 1
    found = store.first_at(lo)
    return store.end if found is None else found[0]


def scan(store: Store, low: LogKey, high: LogKey, newest_first: bool
         ) -> Iterator[LogEntry | LogKey]:
    """Yield a store's entries whose keys lie between `low` and `high`, in order."""
    own = store.name if store.stable else None
    lo = (0 if low.time == -math.inf else low.position + 1 if low.source == own
          else first_later(store, low.time, strict=False))
    hi = (store.end if high.time == math.inf else min(high.position, store.end)
          if high.source == own else first_later(store, high.time, strict=True))
    if lo < hi:
        for item in store.entries(lo, hi, newest_first):
            if low < key_of(item) < high:
                yield item


def plain(value: Any) -> Any:
    """Return a value of an event's body as JSON: decimals exact, enums by value."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    return value


def amount(value: Decimal | None) -> str:
    """Return a price or size as written, or a dash for none."""
    return "—" if value is None else format(value, "f")


def levels(side: tuple[tuple[Decimal, Decimal], ...]) -> str:
    """Return one side of quotes: its best price and size, and how many levels follow."""
    if not side:
        return "none"
    (price, size), more = side[0], len(side) - 1
    return f"{amount(size)} @ {amount(price)}" + (f" (+{more} levels)" if more else "")


def event_text(event: Event) -> tuple[str, LogLevel]:
    """Return the line an event is shown as, and its level."""
    match event.body:
        case QuotesChosen(mid=mid, bids=bids, asks=asks, best_bid=bid, best_ask=ask,
                          inventory=held):
            inventory = "" if held is None else f", inventory {amount(held)}"
            return (f"quotes bid {levels(bids)}, ask {levels(asks)} at mid {amount(mid)} "
                    f"(market {amount(bid)} / {amount(ask)}{inventory})", LogLevel.INFO)
        case OrderSent(client_id=cid, side=side, price=price, amount=size):
            return f"sending {side.value} {amount(size)} @ {amount(price)} ({cid})", LogLevel.INFO
        case OrderAcked(client_id=cid, order_id=oid):
            return f"acked {cid} as {oid}", LogLevel.INFO
        case OrderRejected(client_id=cid, reason=reason, error=error):
            return f"rejected {cid}: {reason or error or 'no reason given'}", LogLevel.WARNING
        case OrderFilled(client_id=cid, side=side, price=price, amount=size, fee=fee,
                         fee_asset=asset):
            return (f"filled {side.value} {amount(size)} @ {amount(price)}, fee {amount(fee)} "
                    f"{asset} ({cid})", LogLevel.INFO)
        case OrderCancelled(client_id=cid, reason=reason):
            return f"cancelled {cid}: {reason}", LogLevel.INFO
        case SymbolStateChanged(state=state, reason=reason, actor=actor):
            by = f" by {actor}" if actor else ""
            level = LogLevel.WARNING if state is SymbolState.HALTED else LogLevel.INFO
            return f"{state.name}{by}: {reason}", level
        case RiskTripped(trip=trip, reason=reason, state=state):
            level = LogLevel.ERROR if state is SymbolState.HALTED else LogLevel.WARNING
            return f"risk trip {trip.value}: {reason}; now {state.name}", level
        case BotStateChanged(status=status):
            return f"bot {status.value}", LogLevel.INFO
    raise TypeError(f"no text for {type(event.body).__name__}")


def event_entry(source: str, bot: str, event: Event) -> LogEntry:
    """Return an entry of a bot's event log."""
    text, level = event_text(event)
    detail = {"seq": event.seq, "event": event.kind.value,
              **{f.name: plain(getattr(event.body, f.name)) for f in fields(event.body)}}
    return LogEntry(event.ts, source, event.seq, bot, event.symbol, KIND_OF_EVENT[event.kind],
                    level, text, detail)


class EventStore:
    """A bot's events.db: its rows by seq, of the kinds and pair a filter wants.

    Rows are found by seq (the key) or by kind and seq (the log's `events_kind` index), and
    decoded by `appliance.store.events`.
    """

    stable = True

    def __init__(self, bot: str, db: sqlite_utils.Database, wanted: LogFilter) -> None:
        self.name = f"events/{bot}"
        self._bot = bot
        self._db = db
        self._pair = wanted.pair
        kinds = [k for k, kind in KIND_OF_EVENT.items() if wanted.wants(kind)]
        self._kinds: list[EventKind | None] = [None] if len(kinds) == len(KIND_OF_EVENT) \
            else list(kinds)
        row = db.execute("SELECT max(seq) FROM events").fetchone()
        self.end = int(row[0] or 0) + 1

    def first_at(self, position: int) -> tuple[int, float] | None:
        """Return the seq and time of the first row at or after seq `position`."""
        row = self._db.execute("SELECT seq, ts FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
                               [position]).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def last_before(self, position: int) -> tuple[int, float] | None:
        """Return the seq and time of the last row before seq `position`."""
        row = self._db.execute("SELECT seq, ts FROM events WHERE seq < ? ORDER BY seq DESC "
                               "LIMIT 1", [position]).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def entries(self, lo: int, hi: int, newest_first: bool) -> Iterator[LogEntry | LogKey]:
        """Yield the entries of the rows lo <= seq < hi.

        No index leads to a pair's rows: with a pair to find, rows are looked through a span
        of seqs at a time, and after SCANNED_MAX of them the key of the last row looked at
        ends the page.
        """
        if self._pair is None:
            yield from self._span(lo, hi, newest_first)
            return
        scanned = 0
        while lo < hi:
            if scanned >= SCANNED_MAX:
                edge = self.first_at(hi) if newest_first else self.last_before(lo)
                if edge is not None:
                    yield LogKey(edge[1], self.name, edge[0])
                return
            start, stop = (max(lo, hi - SPAN), hi) if newest_first else (lo, min(hi, lo + SPAN))
            yield from self._span(start, stop, newest_first)
            scanned += stop - start
            lo, hi = (lo, start) if newest_first else (stop, hi)

    def _span(self, lo: int, hi: int, newest_first: bool) -> Iterator[LogEntry]:
        """Yield the entries of the rows lo <= seq < hi, merging each wanted kind's rows."""
        rows = heapq.merge(*(self._rows(lo, hi, newest_first, kind) for kind in self._kinds),
                           key=lambda row: int(row[0]), reverse=newest_first)
        for seq, ts, kind, symbol, data in rows:
            try:
                body = decode(seq, kind, data)
            except EventDecodeError as exc:
                yield LogEntry(float(ts), self.name, int(seq), self._bot, str(symbol),
                               KIND_OF_ROW.get(kind, LogKind.ORDER), LogLevel.ERROR, str(exc),
                               {"seq": seq, "event": kind})
                continue
            yield event_entry(self.name, self._bot, Event(int(seq), float(ts), str(symbol), body))

    def _rows(self, lo: int, hi: int, newest_first: bool, kind: EventKind | None
              ) -> Iterator[tuple[Any, ...]]:
        """Yield rows of one kind (None: any) and the pair, lo <= seq < hi, batch by batch.

        The five columns are those `read_events` reads; `decode` makes the body of them.
        """
        wanted = [("kind", None if kind is None else kind.value), ("symbol", self._pair)]
        where = "".join(f" AND {column} = ?" for column, value in wanted if value is not None)
        values = [value for _, value in wanted if value is not None]
        sql = (f"SELECT seq, ts, kind, symbol, data FROM events WHERE seq >= ? AND seq < ?"
               f"{where} ORDER BY seq {'DESC' if newest_first else 'ASC'} LIMIT ?")
        batch = FIRST_BATCH
        while lo < hi:
            rows = self._db.execute(sql, [lo, hi, *values, batch]).fetchall()
            yield from rows
            if len(rows) < batch:
                return
            if newest_first:
                hi = int(rows[-1][0])
            else:
                lo = int(rows[-1][0]) + 1
            batch = min(2 * batch, MAX_BATCH)


def activity_entry(record: access.ActivityRecord) -> LogEntry:
    """Return an entry of the user-activity log."""
    bot, pair = record.detail.get("bot"), record.detail.get("symbol")
    who = record.actor or "someone unknown"
    text = f"{who} {record.action}: {record.outcome}" + (
        f" (from {record.address})" if record.address else "")
    detail = {"seq": record.seq, "actor": record.actor, "fingerprint": record.fingerprint,
              "address": record.address, "action": record.action, "outcome": record.outcome,
              "detail": record.detail}
    return LogEntry(record.ts, "activity", record.seq, bot if isinstance(bot, str) else "",
                    pair if isinstance(pair, str) else "", LogKind.ACTIVITY,
                    LogLevel.INFO if record.outcome == "ok" else LogLevel.WARNING, text, detail)


class ActivityStore:
    """appliance.db's user-activity log, by seq (1, 2, ... as the supervisor appends)."""

    name = "activity"
    stable = True

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self.end = newest_seq(db) + 1

    def first_at(self, position: int) -> tuple[int, float] | None:
        """Return the seq and time of the first record at or after seq `position`."""
        records = access.activity(self._db, after_seq=max(position, 1) - 1, limit=1)
        return (records[0].seq, records[0].ts) if records else None

    def entries(self, lo: int, hi: int, newest_first: bool) -> Iterator[LogEntry | LogKey]:
        """Yield the entries of the records lo <= seq < hi."""
        batch = FIRST_BATCH
        while lo < hi:
            size = min(batch, hi - lo)
            start = hi - size if newest_first else lo
            records = [r for r in access.activity(self._db, after_seq=start - 1, limit=size)
                       if r.seq < start + size]
            yield from map(activity_entry, reversed(records) if newest_first else records)
            hi, lo = (start, lo) if newest_first else (hi, start + size)
            batch = min(2 * batch, MAX_BATCH)


class Segment(NamedTuple):
    """One file of a log: where its bytes start among the log's, and its complete lines."""

    file: BinaryIO
    base: int
    size: int


def complete_size(file: BinaryIO) -> int:
    """Return how many bytes of a file are whole lines (the last may be being written)."""
    size = os.fstat(file.fileno()).st_size
    end = size
    while end > 0:
        start = max(0, end - BLOCK)
        file.seek(start)
        cut = file.read(end - start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def lines_after(file: BinaryIO, lo: int, hi: int, block: int = BLOCK
                ) -> Iterator[tuple[int, bytes]]:
    """Yield the lines between offsets lo and hi (a line's end) and their offsets, in order."""
    position, rest = lo, b""
    while position < hi:
        file.seek(position)
        read = file.read(min(block, hi - position))
        if not read:
            return  # the file was cut short while it was read
        chunk, start = rest + read, position - len(rest)
        position += len(read)
        begin = 0
        while (cut := chunk.find(b"\n", begin)) >= 0:
            yield start + begin, chunk[begin:cut]
            begin = cut + 1
        rest = chunk[begin:]


def lines_before(file: BinaryIO, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
    """Yield the lines between offsets lo (a line's start) and hi (a line's end), newest
    first, and their offsets."""
    position, rest = hi, b""
    while position > lo:
        start = max(lo, position - BLOCK)
        file.seek(start)
        chunk = file.read(position - start) + rest
        end = len(chunk) - 1  # the newline that ends the newest line not yet yielded
        while (cut := chunk.rfind(b"\n", 0, end)) >= 0:
            yield start + cut + 1, chunk[cut + 1:end]
            end = cut
        if start == lo:
            yield start, chunk[:end]
            return
        rest, position = chunk[:end + 1], start


class Head(NamedTuple):
    """A line that starts a record: its time and what was read of it."""

    time: float
    parsed: Any


Parse = Callable[[bytes], Head | None]
Make = Callable[[str, int, Head, list[str]], LogEntry]
"""Make an entry of (the source's name, the record's position, its first line, the lines
below it)."""


class LineStore:
    """A log of lines in one or more files, oldest file first, positioned by byte offset.

    A line `parse` reads starts a record. With `grouped`, the lines below it that it cannot
    read (a traceback) are part of that record; else they are skipped.
    """

    stable = False

    def __init__(self, name: str, files: Sequence[BinaryIO], parse: Parse, make: Make,
                 grouped: bool) -> None:
        self.name = name
        self._parse, self._make, self._grouped = parse, make, grouped
        self._segments: list[Segment] = []
        base = 0
        for file in files:
            size = complete_size(file)
            self._segments.append(Segment(file, base, size))
            base += size
        self.end = base

    def first_at(self, position: int) -> tuple[int, float] | None:
        """Return the offset and time of the first record at or after an offset."""
        for file, base, size in self._segments:
            if position >= base + size:
                continue
            local = max(position - base, 0)
            if local > 0:
                file.seek(local - 1)
                if file.read(1) != b"\n":  # inside a line: go on from the next one
                    local = next((offset + len(line) + 1 for offset, line
                                  in lines_after(file, local, size, PROBE)), size)
            for offset, line in lines_after(file, local, size, PROBE):
                head = self._parse(line)
                if head is not None:
                    return base + offset, head.time
        return None

    def entries(self, lo: int, hi: int, newest_first: bool) -> Iterator[LogEntry | LogKey]:
        """Yield the entries of the records starting at offsets lo <= p < hi."""
        segments = reversed(self._segments) if newest_first else iter(self._segments)
        for file, base, size in segments:
            start, stop = max(lo - base, 0), min(hi - base, size)
            if start < stop:
                read = self._backward if newest_first else self._forward
                yield from read(file, base, start, stop)

    def _backward(self, file: BinaryIO, base: int, lo: int, hi: int) -> Iterator[LogEntry]:
        below: deque[str] = deque(maxlen=MORE_LINES)
        for offset, line in lines_before(file, lo, hi):
            head = self._parse(line)
            if head is not None:
                yield self._make(self.name, base + offset, head, list(below))
                below.clear()
            elif self._grouped:
                below.appendleft(line.decode("utf-8", "replace"))

    def _forward(self, file: BinaryIO, base: int, lo: int, hi: int) -> Iterator[LogEntry]:
        record: tuple[int, Head, list[str]] | None = None
        for offset, line in lines_after(file, lo, hi):
            head = self._parse(line)
            if head is not None:
                if record is not None:
                    yield self._make(self.name, *record)
                record = (base + offset, head, [])
            elif self._grouped and record is not None and len(record[2]) < MORE_LINES:
                record[2].append(line.decode("utf-8", "replace"))
        if record is not None:
            yield self._make(self.name, *record)


def api_head(line: bytes) -> Head | None:
    """Read a line of a bot's API log."""
    request = parse_request(line)
    return None if request is None else Head(request.ts, request)


def api_maker(bot: str) -> Make:
    """Return how entries of one bot's API log are made."""

    def make(source: str, position: int, head: Head, below: list[str]) -> LogEntry:
        request: ApiRequest = head.parsed
        answer = "no answer" if request.status is None else str(request.status)
        text = f"{request.method} {request.path}: {answer}" + (
            f" {request.error}" if request.error else "") + (
            "" if request.ms is None else f" in {request.ms} ms") + (
            "" if request.weight is None else f", used weight {request.weight}")
        level = (LogLevel.ERROR if request.status is None or request.status >= 500
                 else LogLevel.WARNING if request.failed else LogLevel.INFO)
        detail = {k: v for k, v in asdict(request).items() if k != "ts"}
        return LogEntry(request.ts, source, position, bot, "", LogKind.API, level, text, detail)

    return make


PROCESS_LINE = re.compile(rb"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) (.*)", re.S)
"""A line of a process log: Python logging's local time, then the rest."""
NAME_FIRST = re.compile(r"(\S+) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)", re.S)
LEVEL_FIRST = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+?): (.*)", re.S)
NAMED = re.compile(r"([\w./-]+): ")
"""A message that starts with what it is about: a pair ('MTS/USDT: ...') or a process."""


def process_head(line: bytes) -> Head | None:
    """Read a line of a process log that starts a record: (logger, level, message)."""
    found = PROCESS_LINE.fullmatch(line)
    if found is None:
        return None
    try:
        moment = time.mktime(time.strptime(found[1].decode(), "%Y-%m-%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None
    rest = found[3].decode("utf-8", "replace")
    if named := NAME_FIRST.fullmatch(rest):
        logger, level, message = named.groups()
    elif levelled := LEVEL_FIRST.fullmatch(rest):
        level, logger, message = levelled.groups()
    else:
        logger, level, message = "", "INFO", rest
    return Head(moment + int(found[2]) / 1000, (logger, level, message))


def process_maker(process: str, bots: frozenset[str]) -> Make:
    """Return how entries of one process's log are made."""

    def make(source: str, position: int, head: Head, below: list[str]) -> LogEntry:
        logger, level, message = head.parsed
        about = NAMED.match(message)
        subject = about[1] if about else ""
        bot = process if process in bots else subject if subject in bots else ""
        pair = subject if "/" in subject else ""
        detail: dict[str, Any] = {"process": process, "logger": logger}
        if below:
            detail["lines"] = below
        return LogEntry(head.time, source, position, bot, pair, LogKind.PROCESS,
                        LEVEL_OF_NAME[level], message, detail)

    return make


def audit_head(line: bytes) -> Head | None:
    """Read a line of the signer's audit log."""
    try:
        record = orjson.loads(line)
        moment = datetime.fromisoformat(record["ts"]).timestamp()
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        return None
    return Head(moment, record) if isinstance(record, dict) else None


def audit_text(record: dict[str, Any]) -> str:
    """Return the line a record of the signer's audit log is shown as."""
    event = str(record.get("event", "record"))
    if event == "tally":
        listed = record.get("counts")
        counts = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
        calls = "; ".join(f"uid {c.get('uid')} {c.get('op')} {c.get('label') or ''} "
                          f"{c.get('outcome')} x{c.get('n')}" for c in counts[:5])
        more = f"; {len(counts) - 5} more" if len(counts) > 5 else ""
        total = sum(c["n"] for c in counts if isinstance(c.get("n"), int))
        return f"{total} signer calls since {record.get('since')}: {calls}{more}"
    said = ", ".join(f"{k} {record[k]}" for k in ("op", "label", "token", "outcome")
                     if record.get(k) is not None)
    return f"{event}: {said} (uid {record.get('uid')}, pid {record.get('pid')})"


def audit_entry(source: str, position: int, head: Head, below: list[str]) -> LogEntry:
    """Return an entry of the signer's audit log."""
    record: dict[str, Any] = head.parsed
    outcome = record.get("outcome", "ok")
    level = (LogLevel.INFO if outcome == "ok" else LogLevel.ERROR if outcome == "locked_out"
             else LogLevel.WARNING)
    detail = {k: v for k, v in record.items() if k not in ("ts", "prev")}
    return LogEntry(head.time, source, position, "", "", LogKind.AUDIT, level,
                    audit_text(record), detail)


class LogReader:
    """Every log of a data directory, read a page at a time; opens what it reads per page."""

    def __init__(self, data: DataDir) -> None:
        self.data = data

    def bots(self) -> list[str]:
        """Return the bots that have a folder of logs, by name."""
        try:
            return sorted(p.name for p in self.data.bots.iterdir() if p.is_dir())
        except OSError:
            return []

    def page(self, wanted: LogFilter, *, before: LogKey | None = None,
             after: LogKey | None = None, limit: int = PAGE_LIMIT, owner: bool = False
             ) -> LogPage:
        """Return the newest `limit` entries before `before`, or the oldest after `after`.

        User activity is an owner's to read: without `owner` it is left out. Raise
        LogsUnavailable when a log fails while it is read.
        """
        low, high = wanted.span()
        low, high = max(low, after or BOTTOM), min(high, before or TOP)
        newest_first = after is None
        with ExitStack() as stack:
            stores, left_out = self._stores(wanted, owner, stack)
            merged = heapq.merge(*(scan(s, low, high, newest_first) for s in stores),
                                 key=key_of, reverse=newest_first)
            try:
                entries, first, last, ended = self._take(merged, wanted, limit)
            except (sqlite3.Error, OSError) as exc:
                raise LogsUnavailable(f"a log failed while it was read: {exc}") from None
        if newest_first:
            return LogPage(tuple(entries), None if ended else last, first, tuple(left_out))
        return LogPage(tuple(reversed(entries)), None, last or after, tuple(left_out))

    @staticmethod
    def _take(merged: Iterator[LogEntry | LogKey], wanted: LogFilter, limit: int
              ) -> tuple[list[LogEntry], LogKey | None, LogKey | None, bool]:
        """Return the entries that pass, the first and last key examined, and whether the
        logs ended before the page did."""
        entries: list[LogEntry] = []
        first = last = None
        for examined, entry in enumerate(merged, start=1):
            first, last = first or key_of(entry), key_of(entry)
            if isinstance(entry, LogKey):
                return entries, first, last, False
            if wanted.matches(entry):
                entries.append(entry)
            if len(entries) >= limit or examined >= EXAMINED_MAX:
                return entries, first, last, False
        return entries, first, last, True

    def _stores(self, wanted: LogFilter, owner: bool, stack: ExitStack
                ) -> tuple[list[Store], list[str]]:
        """Return the logs a filter may find entries in, open, and those left out and why."""
        stores: list[Store] = []
        left_out: list[str] = []
        bots = frozenset(self.bots())

        def add(label: str, open_store: Callable[[], Store | None]) -> None:
            try:
                store = open_store()
            except PermissionError:
                left_out.append(f"{label}: not readable by the panel")
            except (OSError, StoreUnavailable, sqlite3.Error) as exc:
                left_out.append(f"{label}: cannot be read ({exc})")
            else:
                if store is not None:
                    stores.append(store)

        for bot in sorted(bots):
            if wanted.bot not in (None, bot):
                continue
            if wanted.wants(LogKind.DECISION, LogKind.ORDER, LogKind.RISK):
                add(f"{bot}'s events", partial(self._events, bot, wanted, stack))
            if wanted.wants(LogKind.API) and wanted.pair is None:
                path = self.data.api_log(bot)
                add(f"{bot}'s API log", partial(self._lines, f"api/{bot}", [rotated(path), path],
                                                api_head, api_maker(bot), False, stack))
        if wanted.wants(LogKind.ACTIVITY):
            if owner:
                add("the user-activity log", partial(self._activity, stack))
            else:
                left_out.append("user activity: shown to an owner only")
        if wanted.wants(LogKind.PROCESS):
            try:
                logs = sorted(Path(e.path) for e in os.scandir(self.data.logs)
                              if e.name.endswith(".log"))
            except FileNotFoundError:
                logs = []
            except PermissionError:
                left_out.append("the process logs: not readable by the panel")
                logs = []
            for path in logs:
                add(f"{path.stem}'s log", partial(
                    self._lines, f"process/{path.stem}", [path], process_head,
                    process_maker(path.stem, bots), True, stack))
        if wanted.wants(LogKind.AUDIT) and wanted.bot is None and wanted.pair is None:
            add("the signer's audit log", partial(
                self._lines, "audit", [self.data.hsm / "audit.log"], audit_head, audit_entry,
                False, stack))
        return stores, left_out

    def _events(self, bot: str, wanted: LogFilter, stack: ExitStack) -> Store | None:
        path = self.data.events_db(bot)
        if not path.exists():
            return None
        if not os.access(path, os.R_OK):
            raise PermissionError(path)
        db = open_reader(path)
        stack.callback(db.close)
        if "events" not in db.table_names():
            return None
        return EventStore(bot, db, wanted)

    def _activity(self, stack: ExitStack) -> Store:
        db = open_reader(self.data.appliance_db)
        stack.callback(db.close)
        return ActivityStore(db)

    @staticmethod
    def _lines(name: str, paths: Sequence[Path], parse: Parse, make: Make, grouped: bool,
               stack: ExitStack) -> Store | None:
        files = []
        for path in paths:
            try:
                files.append(stack.enter_context(closing(path.open("rb"))))
            except FileNotFoundError:
                continue
        return LineStore(name, files, parse, make, grouped) if files else None
