"""Each bot's performance over time, from its event log: the series the charts draw.

A bot's log is folded once, in batches, into a `PairHistory` per pair: at most one sample per
SAMPLE_SECONDS, holding the pair's levels (mid, inventory, and the ledger's realized and
unrealized PnL, from the same `Position` the dashboard shows) and its flows as running totals
(volume, fees, fills, orders, spread captured, seconds ACTIVE and seconds two-sided). A
refresh folds only the rows after the last seq read. A range is then cut from the samples into
at most MAX_POINTS buckets: a level's last value in each bucket, a flow's sum (its running
total at the bucket's end less that at its start), so a cut costs the same for a day of events
as for a month.

Equity is what the pair's trading is worth at the mid: inventory at the mid plus the quote
paid and received, net of fees (the ledger's `pnl(mid)`); the balances the bot started with are
not in its log. Two-sided presence is the share of ACTIVE time with at least one acked bid and
one acked ask resting; an order rests from its ack until it is filled, cancelled or rejected.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from itertools import pairwise
from pathlib import Path

import sqlite_utils
from pydantic import BaseModel, Field

from appliance.datadir import DataDir
from appliance.ledger import OpenOrder, Position, apply_fill_event
from appliance.risk.const import SymbolState
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from
from appliance.store.events import (
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
    open_events,
)
from appliance.vocabulary import Side
from ui.snapshot import UnknownBot

SAMPLE_SECONDS = 10.0
"""The finest resolution kept: events within one such slot of time share one sample."""

MAX_POINTS = 500
"""The most buckets a series of a range holds."""

BATCH = 20_000
"""How many rows of a log are read and folded at a time."""

ZERO = Decimal(0)


class Span(StrEnum):
    """A range of the charts, back from now."""

    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"
    ALL = "all"


SPAN_SECONDS = {Span.HOUR: 3600.0, Span.DAY: 86_400.0, Span.WEEK: 604_800.0}
"""How far back each range reaches; 'all' reaches the log's first event."""

LEVELS = ("mid", "inventory", "realized", "unrealized", "equity")
FLOWS = ("volume", "fees", "fills", "orders", "spread", "active", "two_sided")
COLUMNS = ("ts", *LEVELS, *FLOWS, "active_now", "two_sided_now")
"""A sample's values: its time, the levels, the flows' running totals, and whether the pair was
ACTIVE and two-sided then (for the seconds up to a bucket's edge)."""


class FillPoint(BaseModel):
    """One fill, to be drawn on the price."""

    time: float = Field(description="Unix time")
    price: float
    side: Side
    amount: float


class PairTotals(BaseModel):
    """The pair's ledger at the last event read: the figures the dashboard shows."""

    inventory: Decimal
    mark: Decimal | None = Field(description="the last mid; null before the first")
    realized: Decimal
    unrealized: Decimal | None
    fees: Decimal = Field(description="in the quote asset")
    volume: Decimal = Field(description="in the quote asset")
    fills: int
    orders: int
    spread_captured: Decimal = Field(description="each fill's distance from the mid, times "
                                     "its amount, summed, in the quote asset")


class PairSeries(BaseModel):
    """One pair's series over a range; point k of each is bucket k, which ends at times[k]."""

    symbol: str
    times: list[float] = Field(description="each bucket's end, Unix time")
    mid: list[float | None] = Field(description="the last mid in the bucket")
    equity: list[float | None] = Field(description="inventory at the mid plus quote paid and "
                                       "received, net of fees, since the log began")
    realized: list[float | None]
    unrealized: list[float | None]
    inventory: list[float | None]
    spread_captured: list[float]
    volume: list[float]
    fees: list[float]
    fills: list[int]
    orders: list[int] = Field(description="orders sent in the bucket")
    order_to_trade: list[float | None] = Field(description="orders sent per fill from the "
                                               "range's start to the bucket's end; null "
                                               "before a fill")
    two_sided: list[float | None] = Field(description="share of the bucket's ACTIVE time "
                                          "with a bid and an ask resting; null when not ACTIVE")
    presence: float | None = Field(description="the same share over the whole range")
    fill_points: list[FillPoint] = Field(description="the range's fills; above MAX_POINTS, "
                                         "the last buy and the last sell of each bucket")
    fills_in_range: int
    totals: PairTotals


class BotPerformance(BaseModel):
    """A bot's series over a range, one set per pair it has logged events for."""

    bot: str
    range: Span
    start: float = Field(description="the range's start, Unix time")
    end: float
    bucket_seconds: float
    pairs: list[PairSeries]


@dataclass
class PairHistory:
    """One pair's samples and fills, and what folding its next events needs."""

    symbol: str
    columns: dict[str, array[float]] = field(
        default_factory=lambda: {name: array("d") for name in COLUMNS})
    fill_ts: array[float] = field(default_factory=lambda: array("d"))
    fill_price: array[float] = field(default_factory=lambda: array("d"))
    fill_amount: array[float] = field(default_factory=lambda: array("d"))
    fill_buy: bytearray = field(default_factory=bytearray)
    position: Position = field(init=False)
    mid: Decimal | None = None
    spread: Decimal = ZERO
    orders: int = 0
    active: bool = False
    seconds: dict[str, float] = field(default_factory=lambda: {"active": 0.0, "two_sided": 0.0})
    open: dict[str, OpenOrder] = field(default_factory=dict)
    resting: dict[Side, int] = field(default_factory=lambda: {Side.BUY: 0, Side.SELL: 0})
    last_ts: float | None = None

    def __post_init__(self) -> None:
        self.position = Position(self.symbol)

    @property
    def two_sided(self) -> bool:
        """Return whether a bid and an ask both rest now."""
        return self.resting[Side.BUY] > 0 and self.resting[Side.SELL] > 0

    def advance(self, ts: float) -> None:
        """Count the seconds since the last event as ACTIVE and two-sided as they were."""
        if self.last_ts is not None and self.active:
            elapsed = max(0.0, ts - self.last_ts)
            self.seconds["active"] += elapsed
            if self.two_sided:
                self.seconds["two_sided"] += elapsed
        self.last_ts = ts

    def fold(self, event: Event, positions: dict[str, Position]) -> None:
        """Apply one event of this pair, then sample the pair."""
        self.advance(event.ts)
        match event.body:
            case QuotesChosen(mid=mid) if mid is not None:
                self.mid = mid
            case OrderSent() as sent:
                self.orders += 1
                self.open[sent.client_id] = OpenOrder(sent.client_id, self.symbol, sent.side,
                                                      sent.price, sent.amount)
            case OrderAcked(client_id=client_id, order_id=order_id) if client_id in self.open:
                order = self.open[client_id]
                if order.order_id is None:
                    self.resting[order.side] += 1
                order.order_id = order_id
            case OrderFilled() as fill:
                apply_fill_event(positions, self.symbol, fill)
                self.position = positions[self.symbol]
                self._fill(event.ts, fill)
            case OrderCancelled(client_id=client_id) | OrderRejected(client_id=client_id):
                self._close(client_id)
            case SymbolStateChanged(state=state) | RiskTripped(state=state):
                self.active = state is SymbolState.ACTIVE
        self.sample(event.ts)

    def _fill(self, ts: float, fill: OrderFilled) -> None:
        if self.mid is not None:
            edge = self.mid - fill.price if fill.side is Side.BUY else fill.price - self.mid
            self.spread += edge * fill.amount
        self.fill_ts.append(ts)
        self.fill_price.append(float(fill.price))
        self.fill_amount.append(float(fill.amount))
        self.fill_buy.append(fill.side is Side.BUY)
        order = self.open.get(fill.client_id)
        if order is not None:
            order.filled += fill.amount
            if order.remaining <= 0:
                self._close(fill.client_id)

    def _close(self, client_id: str) -> None:
        order = self.open.pop(client_id, None)
        if order is not None and order.order_id is not None:
            self.resting[order.side] -= 1

    def pause(self, ts: float) -> None:
        """Stop the pair's ACTIVE time: its bot started or stopped, which pauses every pair."""
        self.advance(ts)
        self.active = False
        self.sample(ts)

    def sample(self, ts: float) -> None:
        """Record the pair as it stands; a sample in the same slot as the last replaces it."""
        position, mid = self.position, self.mid
        values = (ts, math.nan if mid is None else float(mid), float(position.base),
                  float(position.realized),
                  math.nan if mid is None else float(position.unrealized(mid)),
                  math.nan if mid is None else float(position.pnl(mid)),
                  float(position.volume), float(position.fees), float(position.fills),
                  float(self.orders), float(self.spread), self.seconds["active"],
                  self.seconds["two_sided"], float(self.active),
                  float(self.active and self.two_sided))
        times = self.columns["ts"]
        same_slot = bool(times) and ts // SAMPLE_SECONDS == times[-1] // SAMPLE_SECONDS
        for name, value in zip(COLUMNS, values, strict=True):
            if same_slot:
                self.columns[name][-1] = value
            else:
                self.columns[name].append(value)

    def totals(self) -> PairTotals:
        """Return the pair's ledger at the last event folded in."""
        position, mid = self.position, self.mid
        return PairTotals(inventory=position.base, mark=mid, realized=position.realized,
                          unrealized=None if mid is None else position.unrealized(mid),
                          fees=position.fees, volume=position.volume, fills=position.fills,
                          orders=self.orders, spread_captured=self.spread)


def level(value: float) -> float | None:
    """Return a sampled level, None where it had none."""
    return None if math.isnan(value) else value


def share(part: float, whole: float) -> float | None:
    """Return part / whole, None when whole is nothing."""
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Cut:
    """Where a range's buckets end and which sample stands at each edge."""

    edges: list[float]
    at: list[int]
    """The index of the last sample at or before each edge; -1 before the first."""

    @classmethod
    def of(cls, times: array[float], start: float, end: float, buckets: int) -> Cut:
        """Return the cut of (start, end] into `buckets` equal buckets."""
        width = (end - start) / buckets
        edges = [start + width * k for k in range(buckets)] + [end]
        return cls(edges, [bisect_right(times, edge) - 1 for edge in edges])

    def levels(self, column: array[float]) -> list[float | None]:
        """Return a level's last value in each bucket."""
        return [None if i < 0 else level(column[i]) for i in self.at[1:]]

    def totals(self, history: PairHistory, name: str) -> list[float]:
        """Return a flow's running total at each edge; seconds run on to the edge."""
        column = history.columns[name]
        if name not in ("active", "two_sided"):
            return [0.0 if i < 0 else column[i] for i in self.at]
        now, times = history.columns[f"{name}_now"], history.columns["ts"]
        return [0.0 if i < 0 else column[i] + (edge - times[i]) * now[i]
                for edge, i in zip(self.edges, self.at, strict=True)]

    def flows(self, history: PairHistory, name: str) -> list[float]:
        """Return a flow's sum in each bucket."""
        totals = self.totals(history, name)
        return [after - before for before, after in pairwise(totals)]


def fill_points(history: PairHistory, cut: Cut) -> tuple[list[FillPoint], int]:
    """Return the fills in the cut's range to draw (thinned above MAX_POINTS) and their count."""
    times = history.fill_ts
    first, last = bisect_right(times, cut.edges[0]), bisect_right(times, cut.edges[-1])
    chosen: range | list[int] = range(first, last)
    if last - first > MAX_POINTS:
        latest: dict[tuple[int, int], int] = {}
        bucket = 0
        for index in range(first, last):
            while times[index] > cut.edges[bucket + 1]:
                bucket += 1
            latest[bucket, history.fill_buy[index]] = index
        chosen = sorted(latest.values())
    return [FillPoint(time=times[i], price=history.fill_price[i],
                      side=Side.BUY if history.fill_buy[i] else Side.SELL,
                      amount=history.fill_amount[i]) for i in chosen], last - first


def pair_series(history: PairHistory, start: float, end: float, buckets: int) -> PairSeries:
    """Return a pair's series over (start, end] in `buckets` buckets."""
    cut = Cut.of(history.columns["ts"], start, end, buckets)
    levels = {name: cut.levels(history.columns[name]) for name in LEVELS}
    flows = {name: cut.flows(history, name) for name in FLOWS}
    points, count = fill_points(history, cut)
    orders, fills = cut.totals(history, "orders"), cut.totals(history, "fills")
    active = cut.totals(history, "active")
    two_sided = cut.totals(history, "two_sided")
    return PairSeries(
        symbol=history.symbol, times=cut.edges[1:], mid=levels["mid"], equity=levels["equity"],
        realized=levels["realized"], unrealized=levels["unrealized"],
        inventory=levels["inventory"],
        spread_captured=flows["spread"], volume=flows["volume"], fees=flows["fees"],
        fills=[round(n) for n in flows["fills"]], orders=[round(n) for n in flows["orders"]],
        order_to_trade=[share(o - orders[0], f - fills[0]) for o, f in zip(
            orders[1:], fills[1:], strict=True)],
        two_sided=[share(b, a) for b, a in zip(flows["two_sided"], flows["active"],
                                               strict=True)],
        presence=share(two_sided[-1] - two_sided[0], active[-1] - active[0]),
        fill_points=points, fills_in_range=count, totals=history.totals())


def buckets_for(seconds: float) -> int:
    """Return how many buckets a range of this length is cut into: none finer than a sample."""
    return max(1, min(MAX_POINTS, math.ceil(seconds / SAMPLE_SECONDS)))


class BotHistory:
    """One bot's pairs' histories, folded from its log as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pairs: dict[str, PairHistory] = {}
        self.positions: dict[str, Position] = {}
        self.seq = 0
        self.lock = threading.Lock()
        self._db: sqlite_utils.Database | None = None

    def catch_up(self) -> None:
        """Fold in the rows after the last one read; raise StoreUnavailable if the log fails."""
        if not self.path.exists():
            return
        while batch := self._read():
            for event in batch:
                self._fold(event)
            self.seq = batch[-1].seq

    def _read(self) -> list[Event]:
        try:
            if self._db is None:
                self._db = open_events(self.path)
            # Of a quote row only its mid is charted: SQLite picks it out, so the quote levels
            # (most of a log) are never decoded.
            rows = self._db.execute(
                "SELECT seq, ts, kind, symbol, CASE WHEN kind = ? THEN NULL ELSE data END,"
                " CASE WHEN kind = ? THEN json_extract(data, '$.mid') END"
                " FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                [EventKind.QUOTE.value, EventKind.QUOTE.value, self.seq, BATCH]).fetchall()
            return [Event(int(seq), float(ts), str(symbol),
                          QuotesChosen(None if mid is None else Decimal(str(mid)), (), ())
                          if data is None else decode(int(seq), str(kind), str(data)))
                    for seq, ts, kind, symbol, data, mid in rows]
        except (sqlite3.Error, EventDecodeError) as exc:
            self._db = None
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None

    def _fold(self, event: Event) -> None:
        if isinstance(event.body, BotStateChanged):
            for pair in self.pairs.values():
                pair.pause(event.ts)
        elif event.symbol:
            if event.symbol not in self.pairs:
                self.pairs[event.symbol] = PairHistory(event.symbol)
            self.pairs[event.symbol].fold(event, self.positions)

    def performance(self, bot: str, span: Span, now: float) -> BotPerformance:
        """Return the bot's series over a range ending `now`."""
        reach = SPAN_SECONDS.get(span)
        if reach is None:
            first = min((p.columns["ts"][0] for p in self.pairs.values()), default=now)
            start = min(first, now) - SAMPLE_SECONDS
        else:
            start = now - reach
        buckets = buckets_for(now - start)
        return BotPerformance(
            bot=bot, range=span, start=start, end=now, bucket_seconds=(now - start) / buckets,
            pairs=[pair_series(pair, start, now, buckets)
                   for _, pair in sorted(self.pairs.items())])


class PerformanceReader:
    """Every bot's history, each folded from its log as far as it has grown."""

    def __init__(self, datadir: DataDir) -> None:
        self._datadir = datadir
        self._histories: dict[str, BotHistory] = {}
        self._lock = threading.Lock()

    def bots(self) -> list[str]:
        """Return the box's bots by name; raise StoreUnavailable if appliance.db fails."""
        return [bot.name for bot in read_from(self._datadir.appliance_db, appliance_db.bots)]

    def performance(self, bot: str, span: Span, now: float | None = None) -> BotPerformance:
        """Return a bot's series over a range; raise UnknownBot or StoreUnavailable.

        Blocking (the first read of a long log takes a while): call it off the event loop.
        """
        bots = self.bots()
        if bot not in bots:
            raise UnknownBot(f"there is no bot named '{bot}'; the bots are "
                             f"{', '.join(bots) or 'none yet'}")
        history = self._history(bot)
        with history.lock:
            history.catch_up()
            return history.performance(bot, span, time.time() if now is None else now)

    def warm(self) -> None:
        """Fold every bot's log so far, so that the first look is as quick as the next.

        The panel runs it off the event loop when it starts: a long log takes seconds to fold
        the first time (about 5 s for 30 days of one bot on the box), a moment after.
        """
        try:
            bots = self.bots()
        except StoreUnavailable:
            return  # the first look reads them, and says why it cannot
        for bot in bots:
            history = self._history(bot)
            with history.lock, contextlib.suppress(StoreUnavailable):
                history.catch_up()

    def _history(self, bot: str) -> BotHistory:
        with self._lock:
            history = self._histories.get(bot)
            if history is None:
                history = self._histories[bot] = BotHistory(self._datadir.events_db(bot))
            return history


@cache
def shared_reader(root: Path) -> PerformanceReader:
    """Return the one reader of a data directory's histories, which the page and the API share."""
    return PerformanceReader(DataDir(root))
