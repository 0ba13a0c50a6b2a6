"""Verifying a bot's event log: a row edited, deleted, inserted or moved in the real events.db
is named at that row and says how; an older log is chained once by its writer; the watch the
panel keeps hashes only new rows; the command prints a line per bot and exits 1 on a break."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState
from appliance.store.access import transaction
from appliance.store.chain import Breach, record_hash
from appliance.store.database import StoreUnavailable, open_writer
from appliance.store.events import (
    BotStateChanged,
    BotStatus,
    EventBody,
    EventLog,
    OrderAcked,
    OrderSent,
    SymbolStateChanged,
    chain_record,
    encode,
    open_events,
    read_events,
)
from appliance.store.verify import NOT_CHAINED, ChainWatch, Verdict, verify
from appliance.vocabulary import Side
from tests.conftest import REPO

ROWS = 8
Statement = tuple[str, list[object]]
FORGED = '{"state":"active","reason":"activated by the operator","actor":"mallory"}'


def body(n: int) -> EventBody:
    """Return the n-th body of a small but varied log."""
    bodies: list[EventBody] = [
        BotStateChanged(BotStatus.RUNNING),
        SymbolStateChanged(SymbolState.ACTIVE, "activated by the operator", "alice", "f" * 64),
        OrderSent(f"c{n}", Side.BUY, Decimal("0.985"), Decimal(20)),
        OrderAcked(f"c{n}", f"o{n}"),
    ]
    return bodies[n % len(bodies)]


def write_log(path: Path, rows: int = ROWS) -> None:
    """Write a log of `rows` events as a bot does."""
    log = EventLog(path)
    for n in range(rows):
        log.append("" if n == 0 else "MTS/USDT", body(n))
    log.close()


def tamper(path: Path, *statements: Statement) -> None:
    """Change the log behind its writer's back, in one transaction."""
    db = open_writer(path)
    with transaction(db):
        for sql, params in statements:
            db.execute(sql, params)
    db.close()


def row(path: Path, seq: int) -> dict[str, object]:
    """Return one stored row."""
    db = open_writer(path)
    found = dict(db.execute_returning_dicts("SELECT * FROM events WHERE seq = ?", [seq])[0])
    db.close()
    return found


def shift_up(after: int) -> list[Statement]:
    """Return the statements that move every row after seq `after` one place up."""
    return [("UPDATE events SET seq = seq + 1 WHERE seq = ?", [seq])
            for seq in range(ROWS, after, -1)]


def forged_row(seq: int, prev: str, digest: str | None = None) -> Statement:
    """Return the statement inserting a forged row at `seq`, hashed right after `prev` unless
    `digest` is given."""
    record = chain_record(seq, 1.0, "MTS/USDT", "state", FORGED)
    return ("INSERT INTO events (seq, ts, kind, symbol, data, prev, hash) VALUES "
            "(?, 1.0, 'state', 'MTS/USDT', ?, ?, ?)",
            [seq, FORGED, prev, digest or record_hash(prev, record)])


def rehashed_edit(path: Path) -> list[Statement]:
    """Return the statements editing row 5 and giving it the hash of its new contents."""
    old = row(path, 5)
    record = chain_record(5, float(str(old["ts"])), str(old["symbol"]), str(old["kind"]), FORGED)
    return [("UPDATE events SET data = ?, hash = ? WHERE seq = 5",
             [FORGED, record_hash(str(old["prev"]), record)])]


Tampering = Callable[[Path], list[Statement]]
TAMPERINGS: dict[str, tuple[Tampering, int, Breach]] = {
    "an edited body": (lambda p: [("UPDATE events SET data = ? WHERE seq = 5", [FORGED])],
                       5, Breach.EDITED),
    "an edited time": (lambda p: [("UPDATE events SET ts = ts - 60 WHERE seq = 5", [])],
                       5, Breach.EDITED),
    "an edited actor in a state change": (
        lambda p: [("UPDATE events SET data = replace(data, 'alice', 'mallory') "
                    "WHERE seq = 6", [])], 6, Breach.EDITED),
    "an edit rehashed": (rehashed_edit, 5, Breach.EDITED),
    "a deleted row": (lambda p: [("DELETE FROM events WHERE seq = 5", [])], 5, Breach.DELETED),
    "the first row deleted": (lambda p: [("DELETE FROM events WHERE seq = 1", [])],
                              1, Breach.DELETED),
    "two rows deleted": (lambda p: [("DELETE FROM events WHERE seq IN (4, 5)", [])],
                         4, Breach.DELETED),
    "a deleted row, the rest renumbered": (
        lambda p: [("DELETE FROM events WHERE seq = 5", []),
                   ("UPDATE events SET seq = seq - 1 WHERE seq > 5", [])], 5, Breach.DELETED),
    "an inserted row": (lambda p: [*shift_up(4), forged_row(5, "", "0" * 64)],
                        5, Breach.INSERTED),
    "an inserted row hashed after the one before": (
        lambda p: [*shift_up(4), forged_row(5, str(row(p, 4)["hash"]))], 5, Breach.INSERTED),
    "two rows swapped": (
        lambda p: [("UPDATE events SET seq = -5 WHERE seq = 5", []),
                   ("UPDATE events SET seq = 5 WHERE seq = 6", []),
                   ("UPDATE events SET seq = 6 WHERE seq = -5", [])], 5, Breach.REORDERED),
    "the first two rows swapped": (
        lambda p: [("UPDATE events SET seq = -1 WHERE seq = 1", []),
                   ("UPDATE events SET seq = 1 WHERE seq = 2", []),
                   ("UPDATE events SET seq = 2 WHERE seq = -1", [])], 1, Breach.REORDERED),
}


def test_a_log_written_by_its_bot_verifies(tmp_path: Path) -> None:
    write_log(tmp_path / "events.db")

    assert verify(tmp_path / "events.db") == Verdict(True, ROWS)


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_tampering_is_found_at_the_row_and_named(tmp_path: Path, tampering: str) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    change, seq, breach = TAMPERINGS[tampering]
    tamper(path, *change(path))

    verdict = verify(path)

    assert (verdict.ok, verdict.seq, verdict.breach, verdict.rows) == (False, seq, breach, seq - 1)
    assert str(verdict).startswith(f"broken at row {seq}: {breach} (")


def test_the_reason_says_which_rows_are_missing(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    tamper(path, ("DELETE FROM events WHERE seq IN (4, 5)", []))

    assert verify(path).reason == "rows 4 to 5 are missing before row 6"


def test_verify_only_reads(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    before = path.read_bytes()

    verify(path)

    assert path.read_bytes() == before
    with pytest.raises(StoreUnavailable, match="does not exist yet"):
        verify(tmp_path / "none.db")


def test_a_reopened_log_goes_on_from_its_last_row(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path, 3)
    log = EventLog(path)
    appended = log.append("MTS/USDT", body(1))
    log.close()

    assert appended.seq == 4
    assert row(path, 4)["prev"] == row(path, 3)["hash"]
    assert verify(path) == Verdict(True, 4)


def write_old_log(path: Path, bodies: list[EventBody]) -> None:
    """Write a log as bots did before rows were chained (a state change without its actor)."""
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
               " kind TEXT NOT NULL, symbol TEXT NOT NULL, data TEXT NOT NULL)")
    db.execute("CREATE INDEX events_kind ON events (kind, seq)")
    for n, old in enumerate(bodies):
        data = encode(old)
        if isinstance(old, SymbolStateChanged):
            data = json.dumps({"state": old.state.value, "reason": old.reason})
        db.execute("INSERT INTO events (ts, kind, symbol, data) VALUES (?, ?, ?, ?)",
                   [1_700_000_000.25 + n, "state" if n < 2 else "order", "MTS/USDT", data])
    db.close()


def test_an_older_log_is_chained_once_by_its_writer_and_then_verifies(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    old: list[EventBody] = [
        BotStateChanged(BotStatus.RUNNING), SymbolStateChanged(SymbolState.ACTIVE, "x"),
        *(OrderSent(f"c{n}", Side.SELL, Decimal("1.01"), Decimal(5)) for n in range(6))]
    write_old_log(path, old)
    assert verify(path) == Verdict(False, 0, reason=NOT_CHAINED)

    log = EventLog(path)
    log.append("MTS/USDT", body(1))
    log.close()

    assert verify(path) == Verdict(True, len(old) + 1)
    reader = open_events(path)
    read = read_events(reader)
    reader.close()
    assert [event.body for event in read[:len(old)]] == old
    assert read[1].body == SymbolStateChanged(SymbolState.ACTIVE, "x", "", "")
    log = EventLog(path)
    assert log.append("MTS/USDT", body(3)).seq == len(old) + 2, "chained only once"
    log.close()
    tamper(path, ("UPDATE events SET data = ? WHERE seq = 3", [FORGED]))
    assert (verify(path).seq, verify(path).breach) == (3, Breach.EDITED)


def test_a_watch_verifies_the_whole_log_then_only_new_rows(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    watch = ChainWatch(path)
    assert watch.check() == Verdict(True, ROWS)

    # An old row edited after it was verified is not hashed again by the same watch; the
    # next full verify (the panel's start, or the command) finds it.
    tamper(path, ("UPDATE events SET data = ? WHERE seq = 2", [FORGED]))
    log = EventLog(path)
    log.append("MTS/USDT", body(2))
    log.close()
    assert watch.check() == Verdict(True, ROWS + 1)
    assert ChainWatch(path).check().seq == 2
    assert verify(path).seq == 2


def test_a_watch_checks_a_long_log_over_several_looks(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    watch = ChainWatch(path, limit=3)

    looks = [watch.check() for _ in range(4)]

    assert [(v.rows, v.done) for v in looks] == [(3, False), (6, False), (8, True), (8, True)]
    assert all(v.ok for v in looks) and str(looks[0]) == "verified 3 rows so far"


@pytest.mark.parametrize(("change", "breach"), [
    ("DELETE FROM events WHERE seq = 8", Breach.DELETED),
    ("UPDATE events SET hash = '' WHERE seq = 8", Breach.EDITED),
])
def test_a_watch_finds_its_last_verified_row_gone_or_changed(
    tmp_path: Path, change: str, breach: Breach
) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    watch = ChainWatch(path)
    watch.check()
    tamper(path, (change, []))

    assert (watch.check().seq, watch.check().breach) == (8, breach)


def test_a_watch_finds_a_bad_new_row_and_keeps_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_log(path)
    watch = ChainWatch(path)
    watch.check()
    tamper(path, ("INSERT INTO events (ts, kind, symbol, data) VALUES (1.0, 'state', "
                  "'MTS/USDT', ?)", [FORGED]))
    log = EventLog(path)
    log.append("MTS/USDT", body(2))
    log.close()

    broken = watch.check()

    assert (broken.ok, broken.seq, broken.breach, broken.rows) == (False, 9, Breach.EDITED, 8)
    tamper(path, ("DELETE FROM events WHERE seq >= 9", []))
    assert watch.check() == broken


def run_verify(data: DataDir, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m appliance.store.verify --data DIR` with `args`."""
    return subprocess.run(
        [sys.executable, "-m", "appliance.store.verify", "--data", str(data.root), *args],
        cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_command_prints_a_line_per_bot_and_exits_1_on_a_break(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    for bot in ("bot-1", "bot-2"):
        write_log(data.events_db(bot))
    tamper(data.events_db("bot-2"), ("DELETE FROM events WHERE seq = 3", []))

    both = run_verify(data)
    one = run_verify(data, "--bot", "bot-1")
    missing = run_verify(data, "--bot", "bot-9")

    assert (both.returncode, both.stdout) == (
        1, f"bot-1: verified {ROWS} rows\n"
           "bot-2: broken at row 3: deleted (row 3 is missing before row 4)\n")
    assert (one.returncode, one.stdout) == (0, f"bot-1: verified {ROWS} rows\n")
    assert missing.returncode == 1 and "bot-9: cannot verify" in missing.stdout


def test_the_command_says_when_there_is_no_log_to_verify(tmp_path: Path) -> None:
    done = run_verify(DataDir(tmp_path / "empty"))

    assert done.returncode == 1
    assert "no bot has an events.db under" in done.stderr
