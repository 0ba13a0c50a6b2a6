"""The Logs page at '/logs': every log the box keeps, filtered, paged, tailed and exported.

Anyone logged in reads it; user activity is in it for an owner only. Pages go back by cursor
("Older"); the live tail asks every second for the entries newer than the newest shown. The
export links take the filters shown to /api/logs/export.
"""

from __future__ import annotations

import json

from fastapi import Request
from nicegui import run, ui

from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from
from ui.auth.guard import Identity, page_visitor
from ui.components.banner import Banner
from ui.components.page_header import page_header
from ui.const import REFRESH_SECONDS
from ui.logs import (
    KIND_LABELS,
    MAX_LIMIT,
    PAGE_LIMIT,
    BadLogQuery,
    LogEntry,
    LogFilter,
    LogKey,
    LogPage,
    LogReader,
    LogsUnavailable,
    parse_cursor,
    stamp,
)
from ui.panel import Panel

COLUMNS = [{"name": name, "label": label, "field": name, "align": "left", "style": style}
           for name, label, style in (
               ("time", "Time (UTC)", "white-space: nowrap"), ("bot", "Bot", "white-space: "
               "nowrap"), ("pair", "Pair", "white-space: nowrap"), ("kind", "Kind", ""),
               ("level", "Level", ""), ("text", "Entry", "min-width: 20rem"),
               ("detail", "Detail", "max-width: 28rem; overflow-wrap: anywhere"))]
LEVEL_CELL = ('<q-td :props="props"><q-badge :label="props.value" :color="{info: \'grey-6\', '
              'warning: \'orange-9\', error: \'red-9\'}[props.value]"/></q-td>')
DETAIL_SHOWN = 160
"""How much of an entry's details its row shows; the export holds them all."""

TAIL_ROWS = MAX_LIMIT
"""The most rows the live tail keeps; older ones are a page away."""


def row(entry: LogEntry) -> dict[str, str]:
    """Return an entry as a row of the table."""
    detail = json.dumps(entry.detail, ensure_ascii=False)
    return {"cursor": entry.key.cursor, "time": stamp(entry.time), "bot": entry.bot,
            "pair": entry.pair, "kind": KIND_LABELS[entry.kind], "level": entry.level.value,
            "text": entry.text, "detail": detail if len(detail) <= DETAIL_SHOWN
            else detail[:DETAIL_SHOWN] + "…"}


class LogsView:
    """One visitor's Logs page: the filters, a page of entries, paging, tail and export."""

    def __init__(self, reader: LogReader, identity: Identity, pairs: list[str]) -> None:
        self._reader, self._owner = reader, identity.is_owner
        self._wanted = LogFilter()
        self._pages: list[LogKey | None] = [None]  # the `before` of each page gone through
        self._older: LogKey | None = None
        self._newest: LogKey | None = None
        page_header("Logs", identity, (("Dashboard", "/"), ("Settings", "/settings")))
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-2"):
            self._banner = Banner("report")
            with ui.row().classes("w-full items-end gap-3"):
                self._bot = ui.select({"": "every bot"} | {b: b for b in reader.bots()},
                                      value="", label="Bot", on_change=self.apply).mark("bot")
                self._pair = ui.input("Pair", autocomplete=pairs).mark("pair")
                self._kinds = ui.select({k.value: label for k, label in KIND_LABELS.items()},
                                        multiple=True, value=[], label="Kinds",
                                        on_change=self.apply).classes("min-w-64").mark("kinds")
                self._text = ui.input("Text").mark("text")
                self._since = ui.input("Since (UTC)", placeholder="2026-01-31 14:05").mark("since")
                self._until = ui.input("Until (UTC)").mark("until")
                for field in (self._pair, self._text, self._since, self._until):
                    field.on("keydown.enter", self.apply).on("blur", self.apply)
                self._tail = ui.switch("Live tail", on_change=self.follow).mark("tail")
            self._table = ui.table(columns=COLUMNS, rows=[], row_key="cursor").props(
                'dense flat bordered wrap-cells no-data-label="no entries"').classes(
                "w-full").mark("entries")
            self._table.add_slot("body-cell-level", LEVEL_CELL)
            with ui.row().classes("w-full items-center gap-3"):
                ui.button("Newest", on_click=self.newest).props("flat")
                self._newer = ui.button("Newer", on_click=self.newer).props("flat")
                self._older_button = ui.button("Older", on_click=self.older).props("flat")
                self._where = ui.label().classes("text-caption text-grey-8")
                ui.space()
                self._csv = ui.link("Export CSV").mark("export-csv")
                self._jsonl = ui.link("Export JSON lines").mark("export-jsonl")
        self._timer = ui.timer(REFRESH_SECONDS, self.tail, active=False)

    async def apply(self) -> None:
        """Read the filters and show the newest page they pass."""
        try:
            wanted = LogFilter.of(self._bot.value, self._pair.value.strip(),
                                  self._kinds.value, self._text.value, self._since.value,
                                  self._until.value)
        except BadLogQuery as exc:
            ui.notify(f"Not filtered: {exc}", type="negative")
            return
        if wanted != self._wanted:
            self._wanted = wanted
            await self.newest()

    async def newest(self) -> None:
        """Show the newest page."""
        self._pages = [None]
        await self._show(None)

    async def older(self) -> None:
        """Show the page of entries older than those shown; the tail stops."""
        if self._older is not None:
            self._tail.value = False
            self._pages.append(self._older)
            await self._show(self._older)

    async def newer(self) -> None:
        """Show the page before this one again."""
        if len(self._pages) > 1:
            self._pages.pop()
            await self._show(self._pages[-1])

    async def follow(self) -> None:
        """Start or stop the live tail; it starts from the newest page."""
        self._timer.active = bool(self._tail.value)
        if self._tail.value and len(self._pages) > 1:
            await self.newest()

    async def tail(self) -> None:
        """Add the entries newer than the newest shown above it."""
        if self._newest is None:
            await self.newest()
            return
        wanted, newest = self._wanted, self._newest
        page = await self._read(after=newest, limit=MAX_LIMIT)
        if page is None or page.after == newest or (wanted, newest) != (
                self._wanted, self._newest):
            return  # nothing new, or the filters or the page changed while it was read
        self._newest = page.after
        if page.entries:
            rows = [row(e) for e in page.entries] + self._table.rows
            if len(rows) > TAIL_ROWS:
                rows = rows[:TAIL_ROWS]
                self._older = parse_cursor(rows[-1]["cursor"])
            self._table.rows = rows
            self._table.update()

    async def _show(self, before: LogKey | None) -> None:
        page = await self._read(before=before, limit=PAGE_LIMIT)
        if page is None:
            return
        self._older, self._newest = page.before, page.after if before is None else None
        self._table.rows = [row(e) for e in page.entries]
        self._table.update()
        self._newer.set_enabled(len(self._pages) > 1)
        self._older_button.set_enabled(page.before is not None)
        self._where.set_text(self._place(page))
        query = self._wanted.query()
        for link, kind in ((self._csv, "csv"), (self._jsonl, "jsonl")):
            link.props["href"] = f"/api/logs/export?format={kind}" + (f"&{query}" if query else "")
            link.update()

    async def _read(self, limit: int, before: LogKey | None = None,
                    after: LogKey | None = None) -> LogPage | None:
        try:
            page = await run.io_bound(self._reader.page, self._wanted, before=before,
                                      after=after, limit=limit, owner=self._owner)
        except LogsUnavailable as exc:
            self._banner.show(f"The logs cannot all be read: {exc}")
            return None
        if page is None:  # the panel is stopping
            return None
        if page.left_out:
            self._banner.show("Not shown: " + "; ".join(page.left_out))
        else:
            self._banner.hide()
        return page

    def _place(self, page: LogPage) -> str:
        """Return which page this is, and how far back it looked when it found none."""
        at = f"page {len(self._pages)}"
        if not page.entries and page.before is not None:
            return f"{at}: none found back to {stamp(page.before.time)} UTC; Older looks further"
        return at


def known_pairs(datadir: DataDir) -> list[str]:
    """Return the pairs the box's bots quote, for the pair filter to offer."""
    try:
        return read_from(datadir.appliance_db, lambda db: sorted(
            {p.symbol for bot in appliance_db.bots(db) for p in appliance_db.pairs(db, bot.name)}))
    except StoreUnavailable:
        return []


def add_logs(panel: Panel, datadir: DataDir) -> None:
    """Serve the Logs page at '/logs': to any session, which the auth guard made sure of."""
    reader = LogReader(datadir)

    @ui.page("/logs")
    async def logs_page(request: Request) -> None:
        identity, session = page_visitor(request, "the logs page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        view = LogsView(reader, identity, known_pairs(datadir))
        await view.newest()
