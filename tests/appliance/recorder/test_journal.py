"""The input journal gives back exactly what was recorded, in order, within its bounds on disk."""

from __future__ import annotations

import stat
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.recorder.journal import (
    MIB,
    InputJournal,
    JournalEntry,
    JournalError,
    read_journal,
    segment_files,
)
from appliance.recorder.limits import RecorderLimits
from appliance.risk.window import DAY_S

MIDNIGHT = 20_000 * DAY_S  # a UTC midnight
LIMITS = RecorderLimits()
BOOK = {"symbol": "MTS/USDT", "timestamp": 1_728_000_000_123, "nonce": None,
        "bids": [[0.012344 - i * 1e-6, 1234.5 + i] for i in range(20)],
        "asks": [[0.012346 + i * 1e-6, 0.1 + i / 3] for i in range(20)]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)
examples = count()


def entries(directory: Path, since: float | None = None) -> list[JournalEntry]:
    return list(read_journal(directory, since))


def write(directory: Path, records: list[tuple[float, str, Any]],
          limits: RecorderLimits = LIMITS, segment_bytes: int = 1024) -> None:
    with InputJournal(directory, limits, segment_bytes=segment_bytes) as journal:
        for ts, kind, payload in records:
            journal.record(ts, kind, payload)


def numbered(n: int, start: int = 0, step: float = 1.0) -> list[tuple[float, str, Any]]:
    return [(MIDNIGHT + i * step, "trade", {"n": i, "price": 0.1 * i}) for i in range(start, n)]


def disk_bytes(directory: Path) -> int:
    return sum(segment.path.stat().st_size for segment in segment_files(directory))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(MIDNIGHT, MIDNIGHT + 3 * DAY_S), st.text(min_size=1),
                          json_values), min_size=1))
def test_entries_come_back_exactly_floats_and_nesting_included(
    tmp_path: Path, records: list[tuple[float, str, Any]]
) -> None:
    directory = tmp_path / f"example-{next(examples)}"
    write(directory, records, segment_bytes=16 * MIB)  # out of order, yet none a week old
    # repr tells -0.0 from 0.0 and shows every float's shortest exact digits.
    assert repr(entries(directory)) == repr([JournalEntry(*record) for record in records])


def test_a_book_payload_comes_back_equal_to_the_one_recorded(tmp_path: Path) -> None:
    write(tmp_path, [(MIDNIGHT + 0.123456789, "book", BOOK)])
    assert entries(tmp_path) == [JournalEntry(MIDNIGHT + 0.123456789, "book", BOOK)]


def test_a_payload_json_cannot_carry_exactly_is_refused(tmp_path: Path) -> None:
    with InputJournal(tmp_path, LIMITS) as journal, pytest.raises(TypeError):
        journal.record(MIDNIGHT, "balance", {"MTS": Decimal("1.5")})
    assert entries(tmp_path) == []


def test_entries_keep_their_order_across_segments_and_segment_names_sort_by_time(
    tmp_path: Path
) -> None:
    write(tmp_path, numbered(300))
    found = segment_files(tmp_path)
    assert len(found) > 5
    assert [entry.payload["n"] for entry in entries(tmp_path)] == list(range(300))
    assert sorted(path.name for path in tmp_path.iterdir()) == [s.path.name for s in found]
    assert [s.start for s in found] == sorted(s.start for s in found)
    assert all(s.path.stat().st_size <= 1024 for s in found)


def test_a_new_utc_day_starts_a_new_segment(tmp_path: Path) -> None:
    write(tmp_path, [(MIDNIGHT - 1, "clock", None), (MIDNIGHT - 0.5, "clock", None),
                     (MIDNIGHT, "clock", None), (MIDNIGHT + 1, "clock", None)],
          segment_bytes=16 * MIB)
    names = [segment.path.name for segment in segment_files(tmp_path)]
    assert names == ["000000000001-20241003T235959Z.jsonl",
                     "000000000002-20241004T000000Z.jsonl"]


def test_entries_are_read_from_the_first_at_or_after_since(tmp_path: Path) -> None:
    write(tmp_path, numbered(300, step=0.25))
    assert [e.payload["n"] for e in entries(tmp_path, since=MIDNIGHT + 50)] == list(
        range(200, 300))
    assert entries(tmp_path, since=MIDNIGHT + 1000) == []


def test_the_journal_keeps_within_its_size_plus_one_segment_deleting_the_oldest(
    tmp_path: Path
) -> None:
    limits = RecorderLimits(mib=64)
    segment_bytes = 2 * MIB
    payload = "x" * (MIB // 2)
    with InputJournal(tmp_path, limits, segment_bytes=segment_bytes) as journal:
        for n in range(200):  # 100 MiB
            journal.record(MIDNIGHT + n, "book", [n, payload])
            journal.flush()
            assert disk_bytes(tmp_path) <= limits.mib * MIB + segment_bytes
    assert disk_bytes(tmp_path) > (limits.mib - 2) * MIB
    kept = [entry.payload[0] for entry in entries(tmp_path)]
    assert kept == list(range(kept[0], 200)) and kept[0] > 0


def test_segments_whose_newest_entry_is_older_than_the_days_kept_are_deleted(
    tmp_path: Path
) -> None:
    every_six_hours = [(MIDNIGHT + n * DAY_S / 4, "clock", n) for n in range(21)]  # 5 days
    write(tmp_path, every_six_hours, limits=RecorderLimits(days=2), segment_bytes=16 * MIB)
    # The entry at day 5 started its segment; the days before day 3 ended more than 2 days ago.
    assert [entry.payload for entry in entries(tmp_path)] == list(range(12, 21))
    assert len(segment_files(tmp_path)) == 3


def test_a_reopened_journal_deletes_what_aged_while_it_was_closed(tmp_path: Path) -> None:
    write(tmp_path, numbered(100, step=60))
    write(tmp_path, [(MIDNIGHT + 30 * DAY_S, "clock", "back")], limits=RecorderLimits(days=7))
    assert entries(tmp_path) == [JournalEntry(MIDNIGHT + 30 * DAY_S, "clock", "back")]


def test_a_torn_last_line_is_skipped_and_the_reopened_journal_writes_a_new_segment(
    tmp_path: Path
) -> None:
    write(tmp_path, numbered(50), segment_bytes=16 * MIB)
    torn = segment_files(tmp_path)[-1].path
    with torn.open("ab") as file:
        file.write(b'[1728000050.0,"trade",{"n":50,"pri')
    before = torn.read_bytes()
    assert [entry.payload["n"] for entry in entries(tmp_path)] == list(range(50))
    write(tmp_path, numbered(60, start=50), segment_bytes=16 * MIB)
    assert torn.read_bytes() == before
    assert len(segment_files(tmp_path)) == 2
    assert [entry.payload["n"] for entry in entries(tmp_path)] == list(range(60))


def test_a_damaged_line_inside_a_segment_names_the_file_and_line_and_the_fix(
    tmp_path: Path
) -> None:
    write(tmp_path, numbered(5), segment_bytes=16 * MIB)
    segment = segment_files(tmp_path)[0].path
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join([*lines[:2], b'{"not": "an entry"}\n', *lines[3:]]))
    with pytest.raises(JournalError, match=rf"{segment.name} line 3 .*Move .*cut it"):
        entries(tmp_path)


def test_segments_are_readable_by_the_bots_group_only(tmp_path: Path) -> None:
    write(tmp_path / "inputs", numbered(3))
    assert stat.S_IMODE((tmp_path / "inputs").stat().st_mode) & 0o027 == 0
    for segment in segment_files(tmp_path / "inputs"):
        assert stat.S_IMODE(segment.path.stat().st_mode) == 0o640
