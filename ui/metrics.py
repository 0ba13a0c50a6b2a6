"""The box's figures at `/metrics`, in the Prometheus text format, read when Prometheus asks.

One collector on the panel's own registry reads the stores at each scrape and runs nothing in
between. The panel's reader folds in what each bot appended since the last scrape (pair states,
positions, PnL, fills, the API log); a follower of each bot's events.db counts the orders and
risk trips appended since and finds each pair's newest quotes; the kernel is asked after each
process the supervisor runs. A store that cannot be read shows as `mmbox_store_up 0` with none
of its figures: the answer is never an error.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import sqlite_utils
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from appliance.store.appliance_db import ProcessStatus
from appliance.store.database import StoreUnavailable
from appliance.store.events import (
    EventDecodeError,
    EventKind,
    QuotesChosen,
    RiskTripped,
    decode,
    open_events,
    read_events,
)
from appliance.supervisor.child import ChildState
from ui.auth.guard import METRICS_PATH
from ui.const import LogState
from ui.panel import Panel
from ui.snapshot import BotSnapshot, BoxReader, read_config

APPLIANCE_DB, EVENTS_DB, API_LOG = "appliance.db", "events.db", "api.log"
"""The stores `mmbox_store_up` names."""

ORDER_COUNTERS = {
    EventKind.ORDER: ("mmbox_orders_sent", "Orders the bot sent to the exchange"),
    EventKind.ACK: ("mmbox_orders_acked", "Orders the exchange accepted"),
    EventKind.CANCEL: ("mmbox_orders_cancelled", "Orders that left the book unfilled"),
    EventKind.REJECT: ("mmbox_orders_rejected",
                       "Orders the exchange refused, or that never reached it"),
}
"""The order events counted per pair, each its own counter: they overlap, so never add them."""

PID_CLOCK_SLACK = 2.0
"""Seconds a process may seem to start after the supervisor recorded its pid (the kernel gives
start times to the clock tick, from a boot time in whole seconds)."""

BPS = Decimal(10_000)

COUNT_SQL = ("SELECT symbol, kind, count(*) FROM events WHERE kind IN ({kinds}) "
             "AND seq > ? AND seq <= ? GROUP BY symbol, kind")
NEWEST_SQL = "SELECT coalesce(max(seq), 0) FROM events"
LATEST_QUOTES_SQL = ("SELECT seq, ts, data FROM events WHERE kind = ? AND symbol = ? "
                     "AND seq > ? AND seq <= ? ORDER BY seq DESC LIMIT 1")


@dataclass(frozen=True)
class LatestQuotes:
    """A pair's newest quotes and when the bot chose them."""

    ts: float
    quotes: QuotesChosen


class EventCounts:
    """One bot's order events and risk trips counted by symbol, and each symbol's newest quotes,
    taken from its events.db as the bot appends them.

    Counting is done by SQLite on the rows appended since the last call, and only a symbol's
    newest quote row is decoded, so a scrape costs what the bot appended, not the log's size.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.orders: Counter[tuple[str, EventKind]] = Counter()
        self.trips: Counter[tuple[str, TripKind]] = Counter()
        self.quotes: dict[str, LatestQuotes] = {}
        self._seq = 0
        self._searched: set[str] = set()
        self._db: sqlite_utils.Database | None = None

    def catch_up(self, symbols: Iterable[str]) -> None:
        """Count the events appended since the last call and find these symbols' newest quotes.

        A log the bot has not written yet counts nothing; one that cannot be read raises
        StoreUnavailable and changes nothing here.
        """
        if not self.path.exists():
            return
        try:
            if self._db is None:
                self._db = open_events(self.path)
            self._fold(self._db, list(symbols))
        except (sqlite3.Error, EventDecodeError) as exc:
            self._db = None
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None

    def symbols(self) -> list[str]:
        """Return every symbol with a counted event, in the order first counted."""
        return list(dict.fromkeys([symbol for symbol, _ in self.orders]
                                  + [symbol for symbol, _ in self.trips]))

    def _fold(self, db: sqlite_utils.Database, symbols: list[str]) -> None:
        """Read everything up to the newest row first, then take it in all at once."""
        newest = int(db.execute(NEWEST_SQL).fetchone()[0])
        kinds = list(ORDER_COUNTERS)
        sql = COUNT_SQL.format(kinds=",".join("?" * len(kinds)))
        orders = Counter({(str(symbol), EventKind(kind)): int(count) for symbol, kind, count
                          in db.execute(sql, [*kinds, self._seq, newest]).fetchall()})
        trips = Counter((event.symbol, event.body.trip)
                        for event in read_events(db, self._seq, (EventKind.RISK,))
                        if event.seq <= newest and isinstance(event.body, RiskTripped))
        quotes = {symbol: latest for symbol in symbols
                  if (latest := self._latest_quotes(db, symbol, newest)) is not None}
        self.orders.update(orders)
        self.trips.update(trips)
        self.quotes.update(quotes)
        self._searched.update(symbols)
        self._seq = max(self._seq, newest)

    def _latest_quotes(self, db: sqlite_utils.Database, symbol: str, newest: int
                       ) -> LatestQuotes | None:
        """Return a symbol's newest quotes up to row `newest` not seen before, if any."""
        since = self._seq if symbol in self._searched else 0
        row = db.execute(LATEST_QUOTES_SQL, [EventKind.QUOTE.value, symbol, since, newest]
                         ).fetchone()
        if row is None:
            return None
        seq, ts, data = row
        body = decode(int(seq), EventKind.QUOTE, str(data))
        return LatestQuotes(float(ts), body) if isinstance(body, QuotesChosen) else None


def spread_bps(quotes: QuotesChosen) -> float | None:
    """Return the spread between the best bid and ask quoted, in basis points of the mid."""
    if not quotes.bids or not quotes.asks or not quotes.mid:
        return None
    return float((quotes.asks[0][0] - quotes.bids[0][0]) / quotes.mid * BPS)


def usage_of(pid: int, since: float) -> tuple[float, float] | None:
    """Return a process's resident bytes and CPU seconds (user and system).

    None when it is gone or cannot be read, or when the pid now belongs to a process started
    after the supervisor recorded it.
    """
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.create_time() > since + PID_CLOCK_SLACK:
                return None
            cpu = process.cpu_times()
            return float(process.memory_info().rss), float(cpu.user + cpu.system)
    except (psutil.Error, OSError, ValueError):  # ValueError: a pid that cannot be one
        return None


PAIR = ("bot", "symbol")
PROCESS = ("process",)


class Scrape:
    """The metric families of one scrape, filled store by store."""

    def __init__(self) -> None:
        gauge, counter = GaugeMetricFamily, CounterMetricFamily
        self.store_up = gauge("mmbox_store_up", "Whether the panel can read a store of the box "
                              "(1, also before its writer wrote it) or not (0)",
                              labels=("store", "bot"))
        self.pair_state = gauge("mmbox_pair_state", "A pair's trading state: 1 for the state "
                                "it is in, 0 for the others", labels=(*PAIR, "state"))
        self.inventory = gauge("mmbox_inventory_base", "Inventory in the base asset",
                               labels=PAIR)
        self.realized = gauge("mmbox_realized_pnl", "Realized PnL in the quote asset, before "
                              "fees", labels=PAIR)
        self.unrealized = gauge("mmbox_unrealized_pnl", "Unrealized PnL in the quote asset at "
                                "the latest mid", labels=PAIR)
        self.fees = gauge("mmbox_fees_paid", "Fees paid in the quote asset (a rebate lowers "
                          "them)", labels=PAIR)
        self.fills = counter("mmbox_fills", "Trades of the bot's orders", labels=PAIR)
        self.volume = counter("mmbox_fill_volume", "Traded value in the quote asset",
                              labels=PAIR)
        self.orders = {kind: counter(name, text, labels=PAIR)
                       for kind, (name, text) in ORDER_COUNTERS.items()}
        self.trips = counter("mmbox_risk_trips", "Risk trips that stopped a pair, by kind",
                             labels=(*PAIR, "kind"))
        self.spread = gauge("mmbox_quoted_spread_bps", "Spread between the best bid and ask "
                            "the bot quotes now, in basis points of the mid", labels=PAIR)
        self.data_age = gauge("mmbox_market_data_age_seconds", "Seconds since the bot last "
                              "chose quotes from the pair's market (it logs them when they "
                              "change)", labels=PAIR)
        self.api_weight = gauge("mmbox_api_weight_used", "The exchange's request weight used "
                                "this minute, as its latest answer to the bot said",
                                labels=("bot",))
        self.process_up = gauge("mmbox_process_up", "Whether a process of the box is RUNNING",
                                labels=PROCESS)
        self.process_state = gauge("mmbox_process_state", "A process's state as the supervisor "
                                   "recorded it: 1 for its state, 0 for the others",
                                   labels=(*PROCESS, "state"))
        self.restarts = counter("mmbox_process_restarts", "Times the supervisor restarted a "
                                "process since it started", labels=PROCESS)
        self.rss = gauge("mmbox_process_resident_memory", "A process's resident memory",
                         labels=PROCESS, unit="bytes")
        self.cpu = counter("mmbox_process_cpu", "CPU time a process used, user and system",
                           labels=PROCESS, unit="seconds")

    def families(self) -> list[Metric]:
        """Return every family, those left empty too: Prometheus reads their HELP and TYPE."""
        return [self.store_up, self.pair_state, self.inventory, self.realized, self.unrealized,
                self.fees, self.fills, self.volume, *self.orders.values(), self.trips,
                self.spread, self.data_age, self.api_weight, self.process_up,
                self.process_state, self.restarts, self.rss, self.cpu]

    def add_ledger(self, bot: BotSnapshot) -> None:
        """Add a bot's pair states and, per symbol, its position, PnL, fills and fees."""
        for pair in bot.pairs:
            for state in SymbolState:
                self.pair_state.add_metric([bot.name, pair.symbol, state.name],
                                           float(pair.state is state))
        for position in bot.positions:
            labels = [bot.name, position.symbol]
            self.inventory.add_metric(labels, float(position.base))
            self.realized.add_metric(labels, float(position.realized))
            if position.unrealized is not None:
                self.unrealized.add_metric(labels, float(position.unrealized))
            self.fees.add_metric(labels, float(position.fees))
            self.fills.add_metric(labels, position.fills)
            self.volume.add_metric(labels, float(position.volume))

    def add_counts(self, bot: BotSnapshot, counts: EventCounts, now: float) -> None:
        """Add a bot's order and trip counters per symbol, and each pair's newest quotes."""
        symbols = dict.fromkeys([pair.symbol for pair in bot.pairs]
                                + [position.symbol for position in bot.positions]
                                + counts.symbols())
        for symbol in symbols:
            for kind, family in self.orders.items():
                family.add_metric([bot.name, symbol], counts.orders[symbol, kind])
            for trip in TripKind:
                self.trips.add_metric([bot.name, symbol, trip.value], counts.trips[symbol, trip])
        for pair in bot.pairs:
            latest = counts.quotes.get(pair.symbol)
            if latest is None:
                continue
            spread = spread_bps(latest.quotes)
            if spread is not None:
                self.spread.add_metric([bot.name, pair.symbol], spread)
            self.data_age.add_metric([bot.name, pair.symbol], max(0.0, now - latest.ts))

    def add_process(self, status: ProcessStatus) -> None:
        """Add a process's state and restarts, and its memory and CPU while it can be read."""
        self.process_up.add_metric([status.name], float(status.state == ChildState.RUNNING))
        for state in dict.fromkeys([*ChildState, status.state]):
            self.process_state.add_metric([status.name, state], float(state == status.state))
        self.restarts.add_metric([status.name], status.restarts)
        usage = None if status.pid is None else usage_of(status.pid, status.since)
        if usage is not None:
            self.rss.add_metric([status.name], usage[0])
            self.cpu.add_metric([status.name], usage[1])


class BoxCollector(Collector):
    """Every figure of the box, read from its stores at each scrape."""

    def __init__(self, reader: BoxReader, datadir: DataDir) -> None:
        self._reader = reader
        self._datadir = datadir
        self._counts: dict[str, EventCounts] = {}

    def collect(self) -> Iterable[Metric]:
        """Return the box's figures as they stand now."""
        scrape = Scrape()
        try:
            box = self._reader.snapshot()
            processes = read_config(self._datadir.appliance_db).processes
        except StoreUnavailable:
            scrape.store_up.add_metric([APPLIANCE_DB, ""], 0)
            return scrape.families()
        scrape.store_up.add_metric([APPLIANCE_DB, ""], 1)
        now = time.time()
        for bot in box.bots:
            self._add_bot(scrape, bot, now)
        for status in processes.values():
            scrape.add_process(status)
        return scrape.families()

    def _add_bot(self, scrape: Scrape, bot: BotSnapshot, now: float) -> None:
        """Add one bot's figures, those of its events only if its events.db can be read."""
        scrape.store_up.add_metric([API_LOG, bot.name],
                                   float(bot.requests.log is not LogState.UNREADABLE))
        if bot.requests.summary.weight is not None:
            scrape.api_weight.add_metric([bot.name], bot.requests.summary.weight)
        counts = self._counts.setdefault(bot.name, EventCounts(self._datadir.events_db(bot.name)))
        readable = bot.events is not LogState.UNREADABLE
        if readable:
            try:
                counts.catch_up(pair.symbol for pair in bot.pairs)
            except StoreUnavailable:
                readable = False
        scrape.store_up.add_metric([EVENTS_DB, bot.name], float(readable))
        if readable:
            scrape.add_ledger(bot)
            scrape.add_counts(bot, counts, now)


def metrics_router(panel: Panel, datadir: DataDir) -> APIRouter:
    """Return the `/metrics` route, left out of the REST API's schema: it answers Prometheus."""
    registry = CollectorRegistry()
    registry.register(BoxCollector(panel.reader, datadir))
    router = APIRouter(include_in_schema=False)

    @router.get(METRICS_PATH)
    async def metrics() -> Response:
        """Return every figure of the box in the Prometheus text format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return router
