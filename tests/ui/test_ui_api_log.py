"""The panel's reader of a bot's API log: newest first, read as appended, never crashing."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from appliance.exchanges.api_log import ApiLog
from tests.ui.panel_box import request_line
from ui.api_log import (
    BLOCK_BYTES,
    FOLLOW_BYTES,
    NO_REQUESTS,
    ApiLogTail,
    ApiLogView,
    ApiSummary,
    lines_backward,
)
from ui.const import API_LOG_MAX_LIMIT, LogState

NOW = 1_800_000_000.0
HOUR_AGO = NOW - 3600


def path_at(ts: float) -> str:
    """Return the path of the test request made at this time."""
    return f"/t/{ts:.3f}"


def at(*stamps: float) -> list[str]:
    """Return the paths of the test requests made at these times."""
    return [path_at(ts) for ts in stamps]


def lines(*stamps: float) -> bytes:
    """Return API log lines at these times, each with its time as its path."""
    return b"".join(request_line(ts, path=path_at(ts)) for ts in stamps)


def paths(view: ApiLogView) -> list[str]:
    """Return the paths of a view's requests, newest first."""
    return [request.path for request in view.entries]


def append(path: Path, data: bytes) -> None:
    """Append bytes to a log as the bot does."""
    with path.open("ab") as log:
        log.write(data)


def test_newest_requests_come_first_with_the_last_minutes_summary(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(
        request_line(HOUR_AGO, "GET", "/api/v3/exchangeInfo", 200, 20)
        + request_line(NOW - 30, "POST", "/api/v3/order", 201, 40)
        + request_line(NOW - 20, "POST", "/api/v3/order", 400, 41)
        + request_line(NOW - 10, "DELETE", "/api/v3/order", None, None, 500.0, "RequestTimeout")
    )

    view = ApiLogTail(log).read(3, NOW)

    assert (view.log, view.detail) == (LogState.READ, "")
    assert [(r.method, r.status, r.weight, r.error) for r in view.entries] == [
        ("DELETE", None, None, "RequestTimeout"), ("POST", 400, 41, None), ("POST", 201, 40, None),
    ]
    assert view.summary == ApiSummary(requests=3, errors=2, weight=41, last=NOW - 10)


def test_the_latest_weight_may_come_from_before_the_last_minute(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(request_line(HOUR_AGO, weight=7) + request_line(HOUR_AGO + 1, weight=None))

    summary = ApiLogTail(log).read(10, NOW).summary

    assert summary == ApiSummary(requests=0, errors=0, weight=7, last=HOUR_AGO + 1)


def test_only_the_appended_lines_are_read(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(lines(NOW - 3, NOW - 2))
    tail = ApiLogTail(log)
    tail.read(10, NOW)
    with log.open("r+b") as rewrite:  # an already-read line changes in place: a re-read shows it
        rewrite.write(lines(NOW - 4))

    append(log, lines(NOW - 1))

    assert paths(tail.read(10, NOW)) == at(NOW - 1, NOW - 2, NOW - 3)


def test_a_partly_written_last_line_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    newest = lines(NOW - 1)
    log.write_bytes(lines(NOW - 3) + newest[:25])
    tail = ApiLogTail(log)
    assert paths(tail.read(10, NOW)) == at(NOW - 3)

    append(log, newest[25:] + lines(NOW)[:10])
    assert paths(tail.read(10, NOW)) == at(NOW - 1, NOW - 3)

    append(log, lines(NOW)[10:])
    assert paths(tail.read(10, NOW)) == at(NOW, NOW - 1, NOW - 3)


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(
        lines(NOW - 5) + b"not json\n" + b"[1, 2]\n" + b"\n" + b'{"ts": "soon"}\n'
        + b'{"ts":1.0,"method":"GET","path":"/x","status":"200"}\n' + b"\xff\xfe\n"
        + lines(NOW - 1)
    )
    tail = ApiLogTail(log)
    assert paths(tail.read(10, NOW)) == at(NOW - 1, NOW - 5)

    append(log, b"{broken\n" + lines(NOW))

    assert paths(tail.read(10, NOW)) == at(NOW, NOW - 1, NOW - 5)


def test_a_missing_log_says_there_are_no_requests_yet(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    tail = ApiLogTail(log)

    assert tail.read(10, NOW) == ApiLogView(LogState.MISSING, NO_REQUESTS, ApiSummary(), ())

    log.write_bytes(lines(NOW - 1))
    assert paths(tail.read(10, NOW)) == at(NOW - 1)


def test_an_unreadable_log_says_why_and_is_read_once_it_can_be(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.mkdir()
    tail = ApiLogTail(log)

    view = tail.read(10, NOW)

    assert (view.log, view.entries) == (LogState.UNREADABLE, ())
    assert view.detail.startswith(f"cannot read {log}: ")
    log.rmdir()
    log.write_bytes(lines(NOW - 1))
    assert tail.read(10, NOW).log is LogState.READ


def test_a_rotation_loses_no_request_the_panel_had_not_read(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    writer = ApiLog(log, max_bytes=600)
    tail = ApiLogTail(log)
    for number in range(40):
        writer.record("GET", f"http://sim/api/v3/depth/{number}", 200, number)
        if number % 7 == 0:
            tail.read(API_LOG_MAX_LIMIT, time.time())

    view = tail.read(API_LOG_MAX_LIMIT, time.time())

    on_disk = (tmp_path / "api.log.1").read_bytes().count(b"\n") + log.read_bytes().count(b"\n")
    newest = [f"/api/v3/depth/{number}" for number in reversed(range(40))]
    assert paths(view) == newest[:on_disk]


def test_between_the_move_and_the_new_log_the_rotated_one_is_shown(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(lines(NOW - 2, NOW - 1))
    tail = ApiLogTail(log)
    tail.read(10, NOW)

    os.replace(log, tmp_path / "api.log.1")
    moved = tail.read(10, NOW)
    log.write_bytes(lines(NOW))

    assert (moved.log, paths(moved)) == (LogState.READ, at(NOW - 1, NOW - 2))
    assert paths(tail.read(10, NOW)) == at(NOW, NOW - 1, NOW - 2)


def test_a_fresh_reader_takes_the_newest_requests_from_both_files(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    (tmp_path / "api.log.1").write_bytes(lines(*(HOUR_AGO + n for n in range(600))))
    log.write_bytes(lines(NOW - 2, NOW - 1))

    view = ApiLogTail(log).read(API_LOG_MAX_LIMIT, NOW)

    assert paths(view) == at(NOW - 1, NOW - 2, *(HOUR_AGO + n for n in reversed(range(102, 600))))
    assert view.summary.requests == 2


def test_every_request_of_the_last_minute_is_counted_beyond_those_kept(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(lines(*(HOUR_AGO + n for n in range(100))))
    tail = ApiLogTail(log)
    tail.read(10, NOW)

    stamps = [NOW - 50 + n / 100 for n in range(700)]

    append(log, lines(*stamps))
    view = tail.read(API_LOG_MAX_LIMIT, NOW)

    assert view.summary.requests == 700
    assert paths(view) == at(*stamps[::-1][:API_LOG_MAX_LIMIT])


def test_a_long_unread_stretch_is_read_backwards_from_its_end(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(lines(HOUR_AGO))
    tail = ApiLogTail(log)
    tail.read(10, NOW)
    stamps = [HOUR_AGO + 1 + n / 1000 for n in range(FOLLOW_BYTES // 80)]

    append(log, lines(*stamps))
    view = tail.read(API_LOG_MAX_LIMIT, NOW)

    assert paths(view) == at(*stamps[::-1][:API_LOG_MAX_LIMIT])


def test_a_log_rewritten_shorter_is_read_afresh(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_bytes(lines(NOW - 4, NOW - 3, NOW - 2))
    tail = ApiLogTail(log)
    tail.read(10, NOW)

    with log.open("r+b") as rewrite:
        rewrite.truncate(0)
        rewrite.write(lines(NOW - 1))

    assert paths(tail.read(10, NOW)) == at(NOW - 1)


def test_lines_read_backwards_span_blocks_whole() -> None:
    text = b"".join(b"%d:%s\n" % (n, b"x" * (n % 300)) for n in range(3 * BLOCK_BYTES // 150))

    backward = list(lines_backward(io.BytesIO(text + b"unended"), len(text) + 7))

    assert backward[0] == b"unended"
    assert backward[1:] == text.split(b"\n")[:-1][::-1]
