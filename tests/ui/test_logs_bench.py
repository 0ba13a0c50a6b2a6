"""Benchmark: a page of the logs at the head, middle and tail of a million events, against a
log of a thousand.

Run with `./build.sh bench`. Both logs are written by the bot's own EventLog (chained, one
INSERT a row); a page is 100 entries read through the panel's LogReader, as /api/logs reads
it, from a cursor in the events (by seq) or in another log (by time, so bisected).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.datadir import DataDir
from appliance.store.database import open_reader
from appliance.store.events import (
    EventBody,
    EventLog,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderSent,
    QuotesChosen,
)
from appliance.vocabulary import Side
from ui.logs import PAGE_LIMIT, SCANNED_MAX, LogFilter, LogKey, LogKind, LogPage, LogReader

pytestmark = pytest.mark.bench

BIG, SMALL = 1_000_000, 1_000
REPEATS = 15
SOURCE = "events/bot-1"
BODIES: list[EventBody] = [
    QuotesChosen(Decimal("1.0005"), ((Decimal("0.9995"), Decimal(20)),),
                 ((Decimal("1.0015"), Decimal(20)),), Decimal("0.9999"), Decimal("1.0011")),
    OrderSent("mmbox-bot-1-17", Side.BUY, Decimal("0.9995"), Decimal(20)),
    OrderAcked("mmbox-bot-1-17", "4242"),
    QuotesChosen(Decimal("1.0007"), ((Decimal("0.9997"), Decimal(20)),),
                 ((Decimal("1.0017"), Decimal(20)),), Decimal("1.0001"), Decimal("1.0013")),
    OrderCancelled("mmbox-bot-1-17", "4242", "replaced"),
    OrderFilled("mmbox-bot-1-16", "4241", "t9", Side.SELL, Decimal("1.0015"), Decimal(20),
                Decimal("0.02"), "USDT", "MTS", "USDT"),
]
"""A quoting cycle's events: quotes, then orders sent, acked, replaced or filled."""


def write_log(data: DataDir, count: int) -> None:
    """Write `count` events to bot-1's events.db through the bot's own writer."""
    log = EventLog(data.events_db("bot-1"))
    for n in range(count):
        log.append("MTS/USDT", BODIES[n % len(BODIES)])
    log.close()


def key_at(data: DataDir, seq: int, source: str = SOURCE) -> LogKey:
    """Return the cursor of the event at `seq`, or a cursor at its time in another log."""
    db = open_reader(data.events_db("bot-1"))
    try:
        ts = float(db.execute("SELECT ts FROM events WHERE seq = ?", [seq]).fetchone()[0])
    finally:
        db.close()
    return LogKey(ts, source, seq if source == SOURCE else 0)


def per_page(read: Callable[[], LogPage]) -> float:
    """Return the median seconds one page takes to read."""
    assert len(read().entries) == PAGE_LIMIT
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_bytes(read: Callable[[], LogPage]) -> int:
    """Return the most memory the reader held while it read one page."""
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def pages(data: DataDir, count: int) -> dict[str, Callable[[], LogPage]]:
    """Return the page reads measured on a log of `count` events."""
    reader = LogReader(data)
    every, orders = LogFilter(), LogFilter(kinds=frozenset({LogKind.ORDER}))
    middle, oldest = key_at(data, count // 2 + 1), key_at(data, PAGE_LIMIT + 1)
    by_time = key_at(data, count // 2 + 1, "api/bot-1")
    return {
        "newest": lambda: reader.page(every),
        "middle": lambda: reader.page(every, before=middle),
        "oldest": lambda: reader.page(every, before=oldest),
        "middle, from another log's cursor (bisected by time)": lambda: reader.page(
            every, before=by_time),
        "middle, orders only (kind index)": lambda: reader.page(orders, before=middle),
    }


def test_a_page_of_a_million_events_costs_what_a_page_of_a_thousand_does(
    tmp_path: Path
) -> None:
    big, small = DataDir(tmp_path / "big"), DataDir(tmp_path / "small")
    started = time.perf_counter()
    write_log(big, BIG)
    written = time.perf_counter() - started
    write_log(small, SMALL)

    ratios = {}
    print(f"\nlog paging, {PAGE_LIMIT} entries a page ({BIG:,} events written in "
          f"{written:.0f} s):")
    for (name, big_page), small_page in zip(pages(big, BIG).items(),
                                            pages(small, SMALL).values(), strict=True):
        slow, fast = per_page(big_page), per_page(small_page)
        ratios[name] = slow / fast
        print(f"  {name}: {slow * 1000:.2f} ms on {BIG:,} events, {fast * 1000:.2f} ms on "
              f"{SMALL:,}: {ratios[name]:.2f}x (target < 2x)")
    elsewhere = LogFilter(pair="MTS/BTC")  # no row of bot-1's log: looked for, not found
    started = time.perf_counter()
    looked = LogReader(big).page(elsewhere)
    bounded = time.perf_counter() - started
    print(f"  newest, a pair no row has: {bounded * 1000:.0f} ms for a page that looks through "
          f"{SCANNED_MAX:,} rows and goes on from there (target < 1 s)")
    assert looked.entries == () and looked.before is not None
    big_peak = max(peak_bytes(read) for read in pages(big, BIG).values())
    small_peak = max(peak_bytes(read) for read in pages(small, SMALL).values())
    print(f"  reader's peak memory per page: {big_peak / 1024:,.0f} KiB on {BIG:,} events, "
          f"{small_peak / 1024:,.0f} KiB on {SMALL:,}: {big_peak / small_peak:.2f}x")
    assert max(ratios.values()) < 2.0
    assert bounded < 1.0
    assert big_peak < 2 * small_peak
