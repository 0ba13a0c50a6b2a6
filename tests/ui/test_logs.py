"""The panel's one reader of every log, and its REST routes: merged newest first, filtered,
paged by cursor without a duplicate or a gap, tailed, exported.

Every log is written by the box's own writers (EventLog, ApiLog, Python logging as the
processes log, AuditLog, append_activity), one entry at a time, each later than the last.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.exchanges.api_log import ApiLog
from appliance.risk.const import SymbolState, TripKind
from appliance.store import access
from appliance.store.appliance_db import create_schema
from appliance.store.database import open_writer
from appliance.store.events import (
    EventBody,
    EventLog,
    OrderAcked,
    OrderFilled,
    OrderRejected,
    OrderSent,
    QuotesChosen,
    RiskTripped,
    SymbolStateChanged,
)
from appliance.supervisor import layout
from appliance.supervisor.const import READERS_GID
from appliance.vocabulary import Side
from hsm.audit import AuditLog
from tests.ui.conftest import log_in
from tests.ui.panel_box import OPERATOR, READ_TOKEN, REPO, table_rows
from ui import logs
from ui.api_logs import CSV_COLUMNS, csv_lines, json_lines
from ui.auth.guard import SESSION_COOKIE
from ui.logs import (
    BadLogQuery,
    LogEntry,
    LogFilter,
    LogKey,
    LogKind,
    LogLevel,
    LogPage,
    LogReader,
    parse_cursor,
)

PROCESS_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
"""How the bots, the signer and the supervisor write their logs."""

SECRET = "5ecret-signature-0f-the-request"


@dataclass(frozen=True)
class Written:
    """One entry as its writer wrote it: where, about which bot and pair, of which kind."""

    source: str
    bot: str
    pair: str
    kind: LogKind


class Box:
    """A box on disk whose logs are written one entry at a time, each later than the last."""

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.written: list[Written] = []
        for folder in (data.logs, data.hsm, data.bot("bot-1"), data.bot("bot-2")):
            folder.mkdir(parents=True, exist_ok=True)
        self._events = {bot: EventLog(data.events_db(bot)) for bot in ("bot-1", "bot-2")}
        self._audit = AuditLog(data.hsm / "audit.log")
        self._db = open_writer(data.appliance_db)
        create_schema(self._db)
        self._loggers: dict[str, logging.Logger] = {}

    def _next(self, written: Written) -> None:
        time.sleep(0.003)  # logs keep milliseconds: each entry a little later than the last
        self.written.append(written)

    def event(self, bot: str, pair: str, body: EventBody, kind: LogKind) -> None:
        """Append an event to a bot's events.db, as the bot does."""
        self._next(Written(f"events/{bot}", bot, pair, kind))
        self._events[bot].append(pair, body)

    def request(self, bot: str, method: str, url: str, status: int | None,
                error: str | None = None) -> None:
        """Record an exchange request in a bot's API log, as its exchange adapter does."""
        self._next(Written(f"api/{bot}", bot, "", LogKind.API))
        ApiLog(self.data.api_log(bot)).record(method, url, status, 12, error)

    def process(self, name: str, bot: str, pair: str, level: int, message: str,
                failure: BaseException | None = None) -> None:
        """Log a line of a process, as Python's logging writes it to the process's log."""
        self._next(Written(f"process/{name}", bot, pair, LogKind.PROCESS))
        logger = self._loggers.get(name)
        if logger is None:
            logger = self._loggers[name] = logging.Logger(f"appliance.{name}")
            handler = logging.FileHandler(self.data.log(name))
            handler.setFormatter(logging.Formatter(PROCESS_FORMAT))
            logger.addHandler(handler)
        logger.log(level, message, exc_info=failure)

    def audit(self, event: str, **fields: object) -> None:
        """Append a record to the signer's audit log, as the signer does."""
        self._next(Written("audit", "", "", LogKind.AUDIT))
        self._audit.record(event, fields)

    def activity(self, actor: str, action: str, outcome: str, **detail: object) -> None:
        """Append a record to the user-activity log, as the supervisor does."""
        self._next(Written("activity", str(detail.get("bot", "")),
                           str(detail.get("symbol", "")), LogKind.ACTIVITY))
        access.append_activity(self._db, time.time(), actor, "sha256:ab", "192.0.2.7", action,
                               outcome, dict(detail))

    def close(self) -> None:
        """Close every writer."""
        for log in self._events.values():
            log.close()
        self._audit.close()
        self._db.close()
        for logger in self._loggers.values():
            for handler in logger.handlers:
                handler.close()


def quotes(mid: str) -> QuotesChosen:
    """Return quotes a tick either side of `mid`."""
    price = Decimal(mid)
    return QuotesChosen(price, ((price - Decimal("0.01"), Decimal(20)),),
                        ((price + Decimal("0.01"), Decimal(20)),), price, price)


def trade(box: Box) -> None:
    """Write a while of trading: both bots, their requests, processes, signer and users."""
    o1, o2 = LogKind.ORDER, LogKind.DECISION
    box.activity("alice", "symbol_action", "ok", bot="bot-1", symbol="MTS/USDT")
    box.event("bot-1", "MTS/USDT", SymbolStateChanged(SymbolState.ACTIVE, "operator", "alice",
                                                      "sha256:ab"), LogKind.RISK)
    box.process("supervisor", "bot-1", "", logging.INFO, "bot-1: RUNNING pid 4242")
    box.event("bot-1", "MTS/USDT", quotes("1.00"), o2)
    box.event("bot-1", "MTS/USDT", OrderSent("c1", Side.BUY, Decimal("0.99"), Decimal(20)), o1)
    box.request("bot-1", "POST", f"https://sim/api/v3/order?signature={SECRET}", 200)
    box.event("bot-1", "MTS/USDT", OrderAcked("c1", "o-c1"), o1)
    box.audit("tally", since="2026-01-01T00:00:00.000+00:00",
              counts=[{"uid": 6111, "pid": 7, "op": "sign_hmac", "label": "bot-1.sim.hmac",
                       "outcome": "ok", "n": 3}])
    box.event("bot-2", "MTS/BTC", quotes("0.000025"), o2)
    box.event("bot-2", "MTS/BTC", OrderSent("g1", Side.SELL, Decimal("0.000026"),
                                            Decimal(1000)), o1)
    box.request("bot-2", "POST", "https://sim/api/v3/order", 400)
    box.event("bot-2", "MTS/BTC", OrderRejected("g1", "PRICE_FILTER", "InvalidOrder"), o1)
    box.process("bot-2", "bot-2", "MTS/BTC", logging.WARNING, "MTS/BTC: order g1 rejected")
    box.event("bot-1", "MTS/USDT", OrderFilled("c1", "o-c1", "t1", Side.BUY, Decimal("0.99"),
                                               Decimal(20), Decimal("0.02"), "MTS", "MTS",
                                               "USDT"), o1)
    box.request("bot-1", "GET", "https://sim/api/v3/myTrades", None, "RequestTimeout")
    box.audit("refusal", uid=6112, pid=8, op="sign_hmac", label="bot-1.sim.hmac",
              outcome="forbidden")
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        box.process("bot-1", "bot-1", "MTS/USDT", logging.ERROR, "MTS/USDT: the cycle failed",
                    exc)
    box.event("bot-1", "MTS/USDT", RiskTripped(TripKind.STALE_DATA, "no book for 5 s",
                                               SymbolState.PAUSED), LogKind.RISK)
    box.activity("bob", "login", "wrong_pin")
    box.process("signer", "", "", logging.INFO, "signer serving run/signer.sock")


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    """Yield a box that has traded a while; its writers stay open for more."""
    written = Box(DataDir(tmp_path / "data"))
    trade(written)
    yield written
    written.close()


EVERY = LogFilter()


def everything(reader: LogReader, wanted: LogFilter = EVERY) -> list[LogEntry]:
    """Return every entry a filter passes, newest first, in one page."""
    page = reader.page(wanted, limit=logs.MAX_LIMIT, owner=True)
    assert page.before is None
    return list(page.entries)


def walk(reader: LogReader, wanted: LogFilter, limit: int) -> Iterator[LogEntry]:
    """Yield every entry a filter passes, newest first, page after page."""
    before: LogKey | None = None
    while True:
        page = reader.page(wanted, before=before, limit=limit, owner=True)
        yield from page.entries
        if page.before is None:
            return
        before = page.before


def described(entries: list[LogEntry]) -> list[Written]:
    """Return entries as their writers' descriptions."""
    return [Written(e.source, e.bot, e.pair, e.kind) for e in entries]


def test_every_log_is_read_into_one_stream_newest_first(box: Box) -> None:
    reader = LogReader(box.data)

    page = reader.page(LogFilter(), limit=logs.MAX_LIMIT, owner=True)

    assert described(list(page.entries)) == box.written[::-1]
    keys = [entry.key for entry in page.entries]
    assert keys == sorted(set(keys), reverse=True)
    assert (page.before, page.left_out) == (None, ())
    assert page.after == keys[0]


def test_each_kind_of_entry_reads_as_the_operator_wants_it(box: Box) -> None:
    texts = {entry.text: entry for entry in everything(LogReader(box.data))}

    assert "ACTIVE by alice: operator" in texts
    assert "sending buy 20 @ 0.99 (c1)" in texts
    assert texts["rejected g1: PRICE_FILTER"].level is LogLevel.WARNING
    assert "filled buy 20 @ 0.99, fee 0.02 MTS (c1)" in texts
    assert "quotes bid 20 @ 0.99, ask 20 @ 1.01 at mid 1.00 (market 1.00 / 1.00)" in texts
    tripped = texts["risk trip stale_data: no book for 5 s; now PAUSED"]
    assert (tripped.kind, tripped.level) == (LogKind.RISK, LogLevel.WARNING)
    requests = {text.split(" in ")[0]: entry for text, entry in texts.items()
                if entry.kind is LogKind.API}
    assert requests["GET /api/v3/myTrades: no answer RequestTimeout"].level is LogLevel.ERROR
    assert requests["POST /api/v3/order: 400"].level is LogLevel.WARNING
    assert requests["POST /api/v3/order: 200"].level is LogLevel.INFO
    assert "alice symbol_action: ok (from 192.0.2.7)" in texts
    assert texts["bob login: wrong_pin (from 192.0.2.7)"].level is LogLevel.WARNING
    assert texts["refusal: op sign_hmac, label bot-1.sim.hmac, outcome forbidden "
                 "(uid 6112, pid 8)"].level is LogLevel.WARNING
    assert ("3 signer calls since 2026-01-01T00:00:00.000+00:00: uid 6111 sign_hmac "
            "bot-1.sim.hmac ok x3") in texts
    failed = texts["MTS/USDT: the cycle failed"]
    assert (failed.bot, failed.pair, failed.level) == ("bot-1", "MTS/USDT", LogLevel.ERROR)
    assert failed.detail["lines"][0] == "Traceback (most recent call last):"
    assert failed.detail["lines"][-1] == "ZeroDivisionError: division by zero"
    assert texts["bot-1: RUNNING pid 4242"].bot == "bot-1"


def test_no_entry_holds_the_query_string_of_a_request(box: Box) -> None:
    entries = everything(LogReader(box.data))

    assert all(SECRET not in json.dumps(entry.record()) for entry in entries)
    assert any(entry.text.startswith("POST /api/v3/order: 200") for entry in entries)


@pytest.mark.parametrize("wanted", [
    LogFilter(bot="bot-1"), LogFilter(bot="bot-2"), LogFilter(pair="MTS/USDT"),
    LogFilter(pair="MTS/BTC", bot="bot-2"), LogFilter(bot="bot-1", kinds=frozenset({
        LogKind.ORDER})), *(LogFilter(kinds=frozenset({kind})) for kind in LogKind),
    LogFilter(kinds=frozenset({LogKind.DECISION, LogKind.RISK, LogKind.AUDIT})),
], ids=lambda wanted: wanted.query())
def test_a_filter_passes_exactly_the_entries_of_its_bot_pair_and_kinds(
    box: Box, wanted: LogFilter
) -> None:
    expected = [w for w in box.written[::-1] if wanted.bot in (None, w.bot)
                and wanted.pair in (None, w.pair) and wanted.wants(w.kind)]

    assert described(everything(LogReader(box.data), wanted)) == expected
    assert expected


@pytest.mark.parametrize("text", ["c1", "MTS/btc", "RequestTimeout", "alice", "6112"])
def test_the_text_filter_passes_the_entries_holding_it_case_aside(box: Box, text: str) -> None:
    reader = LogReader(box.data)
    holding = [e for e in everything(reader) if text.casefold() in
               f"{e.text} {json.dumps(e.detail)}".casefold()]

    assert everything(reader, LogFilter(text=text)) == holding
    assert holding


def test_a_time_range_passes_entries_from_since_until_before_until(box: Box) -> None:
    reader = LogReader(box.data)
    oldest_first = everything(reader)[::-1]
    since, until = oldest_first[4].time, oldest_first[15].time

    chosen = everything(reader, LogFilter(since=since, until=until))

    assert chosen == oldest_first[4:15][::-1]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
@pytest.mark.parametrize("wanted", [LogFilter(), LogFilter(bot="bot-1"),
                                    LogFilter(kinds=frozenset({LogKind.ORDER, LogKind.API}))],
                         ids=["all", "bot-1", "orders and requests"])
def test_pages_by_cursor_hold_every_entry_once_across_sources(
    box: Box, wanted: LogFilter, limit: int
) -> None:
    reader = LogReader(box.data)

    assert list(walk(reader, wanted, limit)) == everything(reader, wanted)


def test_a_page_that_examines_its_budget_ends_early_and_the_next_goes_on(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = LogReader(box.data)
    wanted = LogFilter(text="c1")
    expected = everything(reader, wanted)
    monkeypatch.setattr(logs, "EXAMINED_MAX", 3)

    pages: list[LogPage] = []
    before: LogKey | None = None
    while True:
        page = reader.page(wanted, before=before, limit=100, owner=True)
        pages.append(page)
        if page.before is None:
            break
        before = page.before

    assert [entry for page in pages for entry in page.entries] == expected
    assert any(not page.entries and page.before is not None for page in pages)


def test_a_pair_is_looked_for_a_span_at_a_time_and_pages_go_on_where_they_stopped(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = LogReader(box.data)
    wanted = LogFilter(pair="MTS/BTC")
    expected = everything(reader, wanted)
    monkeypatch.setattr(logs, "SPAN", 2)
    monkeypatch.setattr(logs, "SCANNED_MAX", 4)

    older: list[LogPage] = [reader.page(wanted, limit=100, owner=True)]
    while (before := older[-1].before) is not None:
        older.append(reader.page(wanted, before=before, limit=100, owner=True))
    newer: list[LogPage] = []
    after = LogKey(0.0, "audit", 0)
    while (page := reader.page(wanted, after=after, limit=100, owner=True)).after != after:
        newer.append(page)
        after = page.after or after

    assert [entry for page in older for entry in page.entries] == expected
    assert [entry for page in reversed(newer) for entry in page.entries] == expected
    assert len(older) > 1 and len(newer) > 1


def test_a_tail_returns_what_was_written_after_the_newest_shown_oldest_first(box: Box) -> None:
    reader = LogReader(box.data)
    newest = reader.page(LogFilter(), limit=5, owner=True).after
    assert newest is not None
    shown = len(box.written)
    box.event("bot-2", "MTS/BTC", quotes("0.000027"), LogKind.DECISION)
    box.request("bot-1", "GET", "https://sim/api/v3/depth", 200)
    box.process("bot-1", "bot-1", "MTS/USDT", logging.INFO, "MTS/USDT: book back")
    box.activity("alice", "logout", "ok")
    box.audit("request", uid=0, pid=9, op="list_keys", outcome="ok")

    tailed: list[LogEntry] = []
    after = newest
    while (page := reader.page(LogFilter(), after=after, limit=2, owner=True)).entries:
        assert page.before is None and page.after is not None
        tailed += reversed(page.entries)
        after = page.after

    assert described(tailed) == box.written[shown:]
    assert reader.page(LogFilter(), after=after, owner=True).after == after


def test_user_activity_is_left_out_unless_an_owner_reads(box: Box) -> None:
    page = LogReader(box.data).page(LogFilter(), limit=logs.MAX_LIMIT)

    assert [e for e in page.entries if e.kind is LogKind.ACTIVITY] == []
    assert page.left_out == ("user activity: shown to an owner only",)


def test_the_rotated_api_log_is_read_before_the_current_one(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    data.bot("bot-1").mkdir(parents=True)
    api = ApiLog(data.api_log("bot-1"), max_bytes=400)
    for n in range(6):
        time.sleep(0.003)
        api.record("GET", f"https://sim/api/v3/order/{n}", 200, n)

    entries = everything(LogReader(data))

    assert data.api_log("bot-1").with_name("api.log.1").exists()
    assert [e.detail["path"] for e in entries] == [f"/api/v3/order/{n}" for n in range(5, -1, -1)]
    assert list(walk(LogReader(data), LogFilter(), 1)) == entries


def test_a_line_being_written_is_left_for_the_next_read(box: Box) -> None:
    with box.data.log("signer").open("ab") as log:
        log.write(b"2026-01-01 00:00:00,000 hsm.server INFO half a li")

    texts = [entry.text for entry in everything(LogReader(box.data))]

    assert "half a li" not in " ".join(texts)
    assert texts[0] == "signer serving run/signer.sock"


@pytest.mark.parametrize("cursor", ["", "1.5", "1.5,events/bot-1", "x,events/bot-1,3",
                                    "1.5,events/bot-1,-3", "1.5,../etc,3", "nan,audit,1",
                                    "1.5,audit,1e3"])
def test_a_cursor_that_is_not_one_is_refused(cursor: str) -> None:
    with pytest.raises(BadLogQuery, match="cursor"):
        parse_cursor(cursor)


def test_a_cursor_names_its_entry_exactly(box: Box) -> None:
    entries = everything(LogReader(box.data))

    assert [parse_cursor(entry.record()["cursor"]) for entry in entries] == [
        entry.key for entry in entries]


@pytest.mark.parametrize(("fields", "problem"), [
    ({"kinds": ["orders"]}, "kind must be one of"),
    ({"since": "yesterday"}, "since must be a time"),
    ({"until": "-5"}, "until must be a time after 1970"),
    ({"since": "2026-01-02", "until": "2026-01-01"}, "since must be before until"),
    ({"text": "x" * 201}, "over 200 characters"),
])
def test_a_filter_that_is_not_one_says_what_is_wrong(
    fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(BadLogQuery, match=problem):
        LogFilter.of(**fields)  # type: ignore[arg-type]


def test_a_filter_reads_back_from_its_query() -> None:
    wanted = LogFilter.of("bot-1", "MTS/USDT", ["order", "api"], "c1", "2026-01-01 10:00",
                          "1767261600.5")
    query = dict(item.split("=") for item in wanted.query().split("&") if "kind" not in item)

    assert wanted.since == 1767261600.0
    assert LogFilter.of(query["bot"], "MTS/USDT", ["order", "api"], query["text"],
                        query["since"], query["until"]) == wanted


def test_a_csv_cell_never_starts_a_formula(box: Box) -> None:
    box.process("bot-1", "bot-1", "", logging.INFO, "=HYPERLINK(\"http://x\")")
    newest = everything(LogReader(box.data))[:1]

    (row,) = list(csv.DictReader(io.StringIO(csv_lines(newest, header=True).decode())))

    assert row["text"] == "'=HYPERLINK(\"http://x\")"


def test_a_whole_number_past_64_bits_in_a_detail_is_exported(box: Box) -> None:
    """A user may type one (a chat id, say) and the activity log keep it."""
    box.process("bot-1", "bot-1", "", logging.INFO, "a line")
    (entry,) = everything(LogReader(box.data))[:1]
    huge = dataclasses.replace(entry, detail={"chats": [2**70]})

    (row,) = list(csv.DictReader(io.StringIO(csv_lines([huge], header=True).decode())))
    (line,) = json_lines([huge]).decode().splitlines()

    assert json.loads(row["detail"]) == {"chats": [2**70]}
    assert json.loads(line)["detail"] == {"chats": [2**70]}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to lay out the box's accounts")
def test_the_panels_account_reads_every_log_as_the_supervisor_lays_them_out() -> None:
    """The box laid out as the supervisor lays it out, its writers running, read by the
    panel's uid with the panel's groups."""
    root = Path(tempfile.mkdtemp(prefix="mmbox-logs-"))
    root.chmod(0o755)
    running = Box(DataDir(root / "data"))
    try:
        trade(running)
        bots = {"bot-1": 6111, "bot-2": 6112}
        layout.prepare(running.data, 6120, 6130, bots)
        script = ("import json, sys\nfrom pathlib import Path\n"
                  "from appliance.datadir import DataDir\n"
                  "from ui.logs import LogFilter, LogReader\n"
                  "page = LogReader(DataDir(Path(sys.argv[1]))).page(LogFilter(), "
                  "limit=500, owner=True)\n"
                  "print(json.dumps({'sources': sorted({e.source for e in page.entries}), "
                  "'left_out': page.left_out}))\n")
        done = subprocess.run([sys.executable, "-c", script, str(running.data.root)], cwd=REPO,
                              user=6130, group=6130, extra_groups=[READERS_GID, *bots.values()],
                              capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(REPO)})
    finally:
        running.close()
        shutil.rmtree(root)

    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["sources"] == ["activity", "api/bot-1", "api/bot-2", "audit", "events/bot-1",
                               "events/bot-2", "process/bot-1", "process/bot-2",
                               "process/signer", "process/supervisor"]
    assert read["left_out"] == [], "the panel reads every log, the audit and processes too"


async def test_the_rest_api_pages_the_logs_with_the_filters(user: User) -> None:
    newest = await user.http_client.get("/api/logs?limit=3")
    older = await user.http_client.get(f"/api/logs?limit=3&before={newest.json()['before']}")
    orders = await user.http_client.get("/api/logs?bot=bot-1&kind=order&limit=500")

    assert newest.status_code == 200
    page = newest.json()
    assert [e["text"] for e in page["entries"]] == [
        "quotes bid 20 @ 0.985, ask 60 @ 1.01 at mid 1.02 (market — / —)",
        "sending buy 20 @ 0.985 (c4)", "cancelled c3: cancelled"]
    assert page["after"] == page["entries"][0]["cursor"] and page["left_out"] == []
    assert [e["text"] for e in older.json()["entries"]] == [
        "acked c3 as o-c3", "sending buy 50 @ 0.98 (c3)",
        "filled sell 40 @ 1.01, fee 0.0404 USDT (c2)"]
    assert {(e["bot"], e["kind"]) for e in orders.json()["entries"]} == {("bot-1", "order")}
    assert len(orders.json()["entries"]) == 10


@pytest.mark.parametrize(("query", "status", "code"), [
    ("limit=0", 422, "invalid_limit"), ("limit=501", 422, "invalid_limit"),
    ("kind=orders", 422, "invalid_filter"), ("since=soon", 422, "invalid_filter"),
    ("before=1,2", 422, "invalid_cursor"), ("before=1.0,audit,1&after=1.0,audit,1", 422,
                                           "invalid_cursor"),
    ("bot=bot-9", 404, "unknown_bot"), (f"pair={'X' * 41}", 422, "invalid_filter"),
])
async def test_the_rest_api_refuses_a_bad_query_saying_what_to_send(
    user: User, query: str, status: int, code: str
) -> None:
    answer = await user.http_client.get(f"/api/logs?{query}")
    exported = await user.http_client.get(f"/api/logs/export?{query}")

    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    if "after" not in query and "limit=501" not in query:
        assert (exported.status_code, exported.json()["error"]["code"]) == (status, code)


async def test_user_activity_is_in_the_logs_for_an_owner_alone(user: User) -> None:
    owner = await user.http_client.get("/api/logs")
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    operator = await user.http_client.get("/api/logs")
    user.http_client.cookies.delete(SESSION_COOKIE)
    script = await user.http_client.get(
        "/api/logs", headers={"authorization": f"Bearer {READ_TOKEN.text}"})

    assert owner.json()["left_out"] == []
    for answer in (operator, script):
        assert answer.status_code == 200
        assert answer.json()["left_out"] == ["user activity: shown to an owner only"]
        assert answer.json()["entries"] == owner.json()["entries"]


async def test_the_export_streams_csv_or_json_lines_and_goes_on_from_a_rows_cursor(
    user: User
) -> None:
    whole = await user.http_client.get("/api/logs/export?format=csv&bot=bot-1")
    head = await user.http_client.get("/api/logs/export?format=jsonl&limit=5")
    rows = list(csv.DictReader(io.StringIO(whole.text)))
    lines = [json.loads(line) for line in head.text.splitlines()]
    rest = await user.http_client.get(
        f"/api/logs/export?format=jsonl&before={lines[-1]['cursor']}")
    others = [json.loads(line) for line in rest.text.splitlines()]

    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("text/csv")
    assert whole.headers["content-disposition"].startswith('attachment; filename="mmbox-logs-')
    assert whole.headers["content-disposition"].endswith('.csv"')
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 17 and {row["bot"] for row in rows} == {"bot-1"}
    assert head.headers["content-type"] == "application/x-ndjson"
    assert [line["cursor"] for line in lines + others] == [row["cursor"] for row in rows]
    assert set(lines[0]) == {*CSV_COLUMNS} - {"time_utc"} | {"time"}


async def test_the_logs_page_shows_the_newest_entries_and_says_what_it_leaves_out(
    user: User
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    await user.open("/logs")

    await user.should_see("Not shown: user activity: shown to an owner only")
    await user.should_see("page 1")
    rows = table_rows(user, "entries")
    assert len(rows) == 17
    assert [(r["bot"], r["kind"], r["text"]) for r in rows[:2]] == [
        ("bot-1", "strategy decisions",
         "quotes bid 20 @ 0.985, ask 60 @ 1.01 at mid 1.02 (market — / —)"),
        ("bot-1", "orders", "sending buy 20 @ 0.985 (c4)")]
    (export,) = user.find(marker="export-csv").elements
    assert export.props["href"] == "/api/logs/export?format=csv"

    (kinds,) = user.find(kind=ui.select, marker="kinds").elements
    (bot,) = user.find(kind=ui.select, marker="bot").elements
    kinds.value, bot.value = ["order"], "bot-1"

    for _ in range(100):  # the page reads the logs again off the event loop
        if len(table_rows(user, "entries")) != len(rows):
            break
        await asyncio.sleep(0.02)
    orders = table_rows(user, "entries")
    assert {(r["bot"], r["kind"]) for r in orders} == {("bot-1", "orders")}
    assert [r["text"] for r in orders][-2:] == ["acked c1 as o-c1", "sending buy 100 @ 0.99 (c1)"]
    assert len(orders) == 10
    assert export.props["href"] == "/api/logs/export?format=csv&bot=bot-1&kind=order"
