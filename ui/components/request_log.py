"""A bot's exchange requests: the last minute's count, failures and used weight, and the newest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nicegui import ui

from ui.api_log import ApiLogView, ApiRequest, ApiSummary
from ui.components.formats import clock, counted
from ui.components.number_table import Column, NumberTable
from ui.const import LogState

REQUEST_COLUMNS = (
    Column("time", "Time (UTC)"), Column("method", "Method"), Column("path", "Path"),
    Column("status", "Status", 0), Column("weight", "Weight", 0), Column("ms", "ms", 1),
    Column("error", "Error"),
)


def summary_text(summary: ApiSummary) -> str:
    """Return the last minute of requests, the used weight and when the newest was made."""
    parts = [f"{counted(summary.requests, 'request')} in the last minute",
             f"{summary.errors} failed"]
    if summary.weight is not None:
        parts.append(f"used weight {summary.weight:,}")
    if summary.last is not None:
        parts.append(f"last at {clock(summary.last)} UTC")
    return " · ".join(parts)


def request_record(request: ApiRequest) -> dict[str, Any]:
    """Return a request with its time of day and its latency as an exact number."""
    return {
        "time": clock(request.ts), "method": request.method, "path": request.path,
        "status": request.status, "weight": request.weight,
        "ms": None if request.ms is None else Decimal(str(request.ms)),
        "error": request.error or "",
    }


class RequestLog(ui.column):
    """A bot's newest exchange requests under their summary; `show` updates it in place."""

    def __init__(self, bot: str) -> None:
        super().__init__()
        self.classes("w-full min-w-0 gap-1")
        with self:
            ui.label("Exchange requests").classes("text-overline text-grey-8")
            self._summary = ui.label().classes("text-caption text-grey-7")
            self._summary.mark(f"{bot}-request-summary")
            self._table = NumberTable(REQUEST_COLUMNS, "no requests")
            self._table.mark(f"{bot}-exchange-requests")

    def show(self, view: ApiLogView) -> None:
        """Show a fresh read of the bot's API log, or why it has none."""
        read = view.log is LogState.READ
        self._summary.set_text(summary_text(view.summary) if read else view.detail)
        self._table.set_visibility(read)
        self._table.show([request_record(request) for request in view.entries])
