"""Benchmark: appending to the event log with its hash chain, against the same rows unchained.

Run with `./build.sh bench`. Both write the same bodies to a fresh events.db in WAL mode, one
row per INSERT as a bot does; the unchained side is the INSERT bots made before rows were
chained.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.store.database import open_writer
from appliance.store.events import KIND_OF, EventBody, EventLog, OrderSent, QuotesChosen, encode
from appliance.vocabulary import Side

pytestmark = pytest.mark.bench

APPENDS = 20_000
BODIES: list[EventBody] = [
    QuotesChosen(Decimal("1.0005"), ((Decimal("0.9995"), Decimal(20)),),
                 ((Decimal("1.0015"), Decimal(20)),), Decimal("0.9999"), Decimal("1.0011")),
    OrderSent("mmboxbot1x17", Side.BUY, Decimal("0.9995"), Decimal(20)),
]


def chained(path: Path) -> float:
    """Return appends per second through the event log, chained."""
    log = EventLog(path)
    started = time.perf_counter()
    for n in range(APPENDS):
        log.append("MTS/USDT", BODIES[n % len(BODIES)])
    elapsed = time.perf_counter() - started
    log.close()
    return APPENDS / elapsed


def unchained(path: Path) -> float:
    """Return appends per second of the same rows inserted without their chain."""
    db = open_writer(path)
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
               " kind TEXT NOT NULL, symbol TEXT NOT NULL, data TEXT NOT NULL)")
    started = time.perf_counter()
    for n in range(APPENDS):
        body = BODIES[n % len(BODIES)]
        db.execute("INSERT INTO events (ts, kind, symbol, data) VALUES (?, ?, ?, ?)",
                   [time.time(), KIND_OF[type(body)].value, "MTS/USDT", encode(body)])
    elapsed = time.perf_counter() - started
    db.close()
    return APPENDS / elapsed


def test_the_chain_costs_little_of_an_append(tmp_path: Path) -> None:
    plain = unchained(tmp_path / "plain.db")
    chain = chained(tmp_path / "chained.db")

    ratio = plain / chain
    print(f"\nevent log appends, {APPENDS} rows one INSERT each (WAL, synchronous=NORMAL):")
    print(f"  unchained {plain:,.0f}/s, chained {chain:,.0f}/s: the chain makes an append "
          f"{ratio:.2f}x as long")
    assert ratio < 2.0
