"""The REST routes of the logs: a page of entries, and an export as CSV or JSON lines.

Both take the Logs page's filters as query parameters and read through one `LogReader`.
Anyone logged in, and any token, may read them; user activity is in them for an owner's
session only, as at /api/activity. An export streams at most EXPORT_MAX entries; each row
carries its cursor, so `before=` the last row's cursor exports the next ones.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, JsonValue

from appliance.datadir import DataDir
from ui.api import GUARDED, MAX_SYMBOL, RequestRefused, error_response, errors, whole_number
from ui.auth.guard import Identity
from ui.logs import (
    KIND_LABELS,
    MAX_LIMIT,
    MAX_TEXT,
    PAGE_LIMIT,
    BadLogQuery,
    LogEntry,
    LogFilter,
    LogKey,
    LogKind,
    LogLevel,
    LogPage,
    LogReader,
    LogsUnavailable,
    parse_cursor,
    stamp,
)

EXPORT_MAX = 100_000
"""The most entries one export holds."""

EXPORT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
"""The export's formats and their media types."""

CSV_COLUMNS = ("time_utc", "source", "bot", "pair", "kind", "level", "text", "detail", "cursor")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a cell starts that a spreadsheet would take for a formula."""


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


FILTERS = [
    _query("bot", "only this bot's entries", {"type": "string"}),
    _query("pair", "only this pair's entries, like MTS/USDT",
           {"type": "string", "maxLength": MAX_SYMBOL}),
    {**_query("kind", "only entries of these kinds: " + "; ".join(
        f"{kind.value}: {label}" for kind, label in KIND_LABELS.items()),
        {"type": "array", "items": {"type": "string", "enum": [k.value for k in LogKind]}}),
     "style": "form", "explode": True},
    _query("text", "only entries holding this text, case aside",
           {"type": "string", "maxLength": MAX_TEXT}),
    _query("since", "only entries from this time on: ISO 8601 (UTC unless it says) or Unix "
           "seconds", {"type": "string"}),
    _query("until", "only entries before this time: ISO 8601 (UTC unless it says) or Unix "
           "seconds", {"type": "string"}),
    _query("before", "only entries older than this cursor (an answer's `before`, or an "
           "entry's `cursor`)", {"type": "string"}),
]
"""The query parameters both routes take."""


class LogLine(BaseModel):
    """One log entry; its `cursor` names its place, for `before=` and `after=`."""

    time: float = Field(description="Unix time")
    source: str = Field(description="events/<bot>, api/<bot>, activity, process/<name> or audit")
    bot: str
    pair: str
    kind: LogKind
    level: LogLevel
    text: str
    detail: dict[str, JsonValue]
    cursor: str


class LogsAnswer(BaseModel):
    """A page of log entries, newest first, and where the next pages start."""

    entries: list[LogLine]
    before: str | None = Field(description="send as `before=` for older entries; null when "
                               "there are none")
    after: str | None = Field(description="send as `after=` for entries newer than these; "
                              "null: ask without it")
    left_out: list[str] = Field(description="logs not in this answer, and why")


@dataclass(frozen=True)
class LogAsk:
    """What a request asks of the logs."""

    wanted: LogFilter
    before: LogKey | None
    after: LogKey | None
    limit: int
    owner: bool


def cursor_of(text: str | None, name: str) -> LogKey | None:
    """Return the key a cursor parameter names, or raise RequestRefused."""
    if text is None:
        return None
    try:
        return parse_cursor(text)
    except BadLogQuery as exc:
        raise RequestRefused(422, "invalid_cursor", f"{name}: {exc}") from None


def ask_of(request: Request, reader: LogReader, high: int, default: int) -> LogAsk:
    """Return what a request asks, or raise RequestRefused saying what to send instead."""
    query = request.query_params
    try:
        wanted = LogFilter.of(query.get("bot"), query.get("pair"), query.getlist("kind"),
                              query.get("text"), query.get("since"), query.get("until"))
    except BadLogQuery as exc:
        raise RequestRefused(422, "invalid_filter", str(exc)) from None
    if wanted.pair is not None and len(wanted.pair) > MAX_SYMBOL:
        raise RequestRefused(422, "invalid_filter", f"pair is over {MAX_SYMBOL} characters; "
                             "name a pair like MTS/USDT")
    bots = reader.bots()
    if wanted.bot is not None and wanted.bot not in bots:
        raise RequestRefused(404, "unknown_bot", "the box has no bot of that name; its bots "
                             f"are {', '.join(bots) or 'none yet'}")
    limit = whole_number(query.get("limit"), 1, high, default)
    if limit is None:
        raise RequestRefused(422, "invalid_limit", f"limit must be a whole number from 1 to "
                             f"{high}, like ?limit={default}")
    before, after = cursor_of(query.get("before"), "before"), cursor_of(query.get("after"),
                                                                        "after")
    if before is not None and after is not None:
        raise RequestRefused(422, "invalid_cursor", "send before= or after=, not both")
    identity = request.state.identity
    owner = isinstance(identity, Identity) and identity.is_owner
    return LogAsk(wanted, before, after, limit, owner)


async def read_page(reader: LogReader, ask: LogAsk, before: LogKey | None, limit: int
                    ) -> LogPage:
    """Return a page of the logs, read off the event loop."""
    try:
        return await asyncio.to_thread(reader.page, ask.wanted, before=before, after=ask.after,
                                       limit=limit, owner=ask.owner)
    except LogsUnavailable as exc:
        raise RequestRefused(503, "store_unavailable", str(exc)) from None


def cell(text: str) -> str:
    """Return text as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def compact(value: object) -> str:
    """Return a value as one line of JSON. Not orjson: a detail may hold a whole number past
    64 bits (a user may type one), which only the standard library writes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def csv_lines(entries: Sequence[LogEntry], header: bool = False) -> bytes:
    """Return entries as CSV rows, after the header row if asked."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow([cell(text) for text in (
            stamp(entry.time), entry.source, entry.bot, entry.pair, entry.kind.value,
            entry.level.value, entry.text, compact(entry.detail),
            entry.key.cursor)])
    return out.getvalue().encode()


def json_lines(entries: Sequence[LogEntry], header: bool = False) -> bytes:
    """Return entries as JSON lines, one object per entry."""
    return "".join(compact(entry.record()) + "\n" for entry in entries).encode()


async def exported(reader: LogReader, ask: LogAsk, first: LogPage,
                   encode: Literal["csv", "jsonl"]) -> AsyncIterator[bytes]:
    """Yield the export, page after page, from the page already read."""
    lines = csv_lines if encode == "csv" else json_lines
    page, sent = first, 0
    yield lines(page.entries, header=True)
    while True:
        sent += len(page.entries)
        if page.before is None or sent >= ask.limit:
            return
        page = await read_page(reader, ask, page.before, min(MAX_LIMIT, ask.limit - sent))
        yield lines(page.entries)


def logs_router(datadir: DataDir) -> APIRouter:
    """Return the /api/logs routes of a data directory's logs."""
    router = APIRouter(prefix="/api")
    reader = LogReader(datadir)

    @router.get("/logs", response_model=LogsAnswer,
                responses=errors(*GUARDED, 404, 422, 503), openapi_extra={"parameters": [
                    *FILTERS,
                    _query("after", "only entries newer than this cursor (an answer's "
                           "`after`), the oldest of them first in line", {"type": "string"}),
                    _query("limit", "how many entries to return",
                           {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                            "default": PAGE_LIMIT})]})
    async def logs(request: Request) -> JSONResponse:
        """Return a page of every log the box keeps, newest first, filtered."""
        try:
            ask = ask_of(request, reader, MAX_LIMIT, PAGE_LIMIT)
            page = await read_page(reader, ask, ask.before, ask.limit)
        except RequestRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        return JSONResponse({
            "entries": [entry.record() for entry in page.entries],
            "before": None if page.before is None else page.before.cursor,
            "after": None if page.after is None else page.after.cursor,
            "left_out": list(page.left_out)})

    @router.get("/logs/export", response_class=Response, responses={
        200: {"description": f"the entries, newest first, at most {EXPORT_MAX:,}; each row's "
              "cursor, sent as `before=`, exports the entries older than it",
              "content": {kind: {"schema": {"type": "string"}}
                          for kind in EXPORT_TYPES.values()}},
        **errors(*GUARDED, 404, 422, 503)}, openapi_extra={"parameters": [
            *FILTERS,
            _query("format", "the file's format", {"type": "string",
                                                   "enum": list(EXPORT_TYPES),
                                                   "default": "csv"}),
            _query("limit", "how many entries to export at most",
                   {"type": "integer", "minimum": 1, "maximum": EXPORT_MAX,
                    "default": EXPORT_MAX})]})
    async def export(request: Request) -> Response:
        """Return the logs as a CSV or JSON-lines file, streamed, newest first, filtered."""
        encode = request.query_params.get("format", "csv")
        try:
            if encode not in ("csv", "jsonl"):
                raise RequestRefused(422, "invalid_format", "format must be csv or jsonl")
            ask = ask_of(request, reader, EXPORT_MAX, EXPORT_MAX)
            if ask.after is not None:
                raise RequestRefused(422, "invalid_cursor", "an export goes back from the "
                                     "newest entry or from before=; it takes no after=")
            first = await read_page(reader, ask, ask.before, min(MAX_LIMIT, ask.limit))
        except RequestRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        name = time.strftime("mmbox-logs-%Y%m%dT%H%M%SZ", time.gmtime())
        return StreamingResponse(
            exported(reader, ask, first, "csv" if encode == "csv" else "jsonl"),
            media_type=EXPORT_TYPES[encode],
            headers={"content-disposition": f'attachment; filename="{name}.{encode}"'})

    return router
