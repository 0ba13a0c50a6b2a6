"""Benchmark: the chart data of the 'all' range for 30 days of two bots.

Run with `./build.sh bench`. Each bot quotes one pair, written by the bot's own EventLog with
its clock set: a quote set every 10 s, and each minute a buy and a sell sent and acked, one of
them filled and the other cancelled (12 events a minute, 518,400 a bot in 30 days). The first
read folds each whole log once (the panel does it in the background when it starts, so an
operator's first look is already a later one); the figure held to the target is a look after
that: the minute's new rows read, and both bots' series cut.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState
from appliance.store import events
from appliance.store.events import EventLog, SymbolStateChanged
from tests.ui.panel_box import PAIRS, write_appliance_db
from tests.ui.test_performance import T0, Clock, trade_minute
from ui.performance import PerformanceReader, Span

pytestmark = pytest.mark.bench

DAYS = 30
MINUTES = DAYS * 24 * 60
TARGET_SECONDS = 1.0
LOOKS = 5


def write_month(data: DataDir, clock: Clock) -> None:
    """Write 30 days of both bots' logs."""
    for bot, symbol in PAIRS.items():
        log = EventLog(data.events_db(bot))
        clock.now = T0
        log.append(symbol, SymbolStateChanged(SymbolState.ACTIVE, "operator"))
        for minute in range(MINUTES):
            trade_minute(log, clock, symbol, T0, minute)
        log.close()


def look(reader: PerformanceReader, now: float) -> float:
    """Return the seconds both bots' 'all' series take, each pair's fills counted in them."""
    started = time.perf_counter()
    answers = [reader.performance(bot, Span.ALL, now=now) for bot in PAIRS]
    took = time.perf_counter() - started
    assert all(len(a.pairs[0].times) == 500 for a in answers)
    return took


def test_the_chart_data_of_30_days_of_two_bots_takes_under_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(events, "time", clock)
    data = DataDir(tmp_path / "data")
    write_appliance_db(data)
    started = time.perf_counter()
    write_month(data, clock)
    written = time.perf_counter() - started
    reader = PerformanceReader(data)

    started = time.perf_counter()
    reader.warm()
    warming = time.perf_counter() - started
    first = look(reader, T0 + MINUTES * 60)
    looks = []
    for extra in range(LOOKS):
        minute = MINUTES + extra
        for bot, symbol in PAIRS.items():
            log = EventLog(data.events_db(bot))
            trade_minute(log, clock, symbol, T0, minute)
            log.close()
        looks.append(look(reader, T0 + (minute + 1) * 60))
    later = statistics.median(looks)

    print(f"\nperformance charts, 'all' range of {DAYS} days of two bots ({2 * MINUTES * 12:,} "
          f"events, written in {written:.0f} s):")
    print(f"  the panel's warm-up at start (each whole log folded once): {warming:.2f} s")
    print(f"  first look after it: {first * 1000:.1f} ms: {first / TARGET_SECONDS:.3f}x the "
          "1 s target")
    print(f"  a look a minute later (new rows read, series cut; median of {LOOKS}): "
          f"{later * 1000:.1f} ms: {later / TARGET_SECONDS:.3f}x the 1 s target")
    assert first < TARGET_SECONDS and later < TARGET_SECONDS
