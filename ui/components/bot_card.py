"""One bot's card: its state, pairs, positions, orders, fills and exchange requests; controls;
and whether its event log's chain verifies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from nicegui import ui

from appliance.ipc import IpcError
from appliance.store.verify import Verdict
from ui.components.formats import clock, counted
from ui.components.keyed_column import KeyedColumn
from ui.components.number_table import Column, NumberTable
from ui.components.pair_line import PairLine
from ui.components.request_log import RequestLog
from ui.const import LogState
from ui.snapshot import BotSnapshot, FillView
from ui.supervisor import Supervisor

RUNNING = "RUNNING"
"""The process state of a bot that can act on its pairs."""

STATE_COLORS = {
    RUNNING: "positive", "STARTING": "warning", "BACKOFF": "warning", "HALTED": "negative",
}
"""The badge colour of a process state; any other state is grey."""

ACTIVE_STATES = frozenset({RUNNING, "STARTING", "BACKOFF"})
"""The states in which the supervisor keeps a process going."""

POSITION_COLUMNS = (
    Column("symbol", "Symbol"), Column("base", "Inventory", 8),
    Column("average_cost", "Avg cost", 8), Column("mark", "Mark", 8),
    Column("realized", "Realized", 8), Column("unrealized", "Unrealized", 8),
    Column("fees", "Fees", 8), Column("volume", "Volume", 8), Column("fills", "Fills", 0),
)
ORDER_COLUMNS = (
    Column("symbol", "Symbol"), Column("side", "Side"), Column("price", "Price", 8),
    Column("amount", "Amount", 8), Column("filled", "Filled", 8),
)
FILL_COLUMNS = (
    Column("time", "Time (UTC)"), Column("symbol", "Symbol"), Column("side", "Side"),
    Column("price", "Price", 8), Column("amount", "Amount", 8), Column("fee", "Fee", 8),
    Column("fee_asset", "Fee in"),
)


def process_text(bot: BotSnapshot) -> str:
    """Return what the supervisor last recorded of the bot's process."""
    if bot.pid is None and bot.since is None:
        return "the supervisor has not reported this bot yet"
    parts = [f"pid {bot.pid}" if bot.pid else "no process", counted(bot.restarts, "restart")]
    if bot.since is not None:
        parts.append(f"since {clock(bot.since)} UTC")
    return " · ".join(parts + ([bot.detail] if bot.detail else []))


def chain_look(chain: Verdict) -> tuple[str, str]:
    """Return the text and colour of the badge saying whether the event log's chain holds."""
    if chain.ok:
        return ("chain verified", "positive") if chain.done else ("verifying chain", "grey-7")
    if chain.seq is not None:
        return f"chain broken at row {chain.seq}", "negative"
    return "chain not verified", "warning"


def fill_record(fill: FillView) -> dict[str, Any]:
    """Return a fill with its time of day."""
    return {**asdict(fill), "time": clock(fill.ts)}


class BotCard(ui.card):
    """A bot as the operator sees it; `show` updates it in place from a snapshot."""

    def __init__(self, name: str, supervisor: Supervisor) -> None:
        super().__init__()
        self.name = name
        self._supervisor = supervisor
        self.classes("w-full gap-2").mark(name)
        with self:
            self._header()
            self._process = ui.label().classes("text-caption text-grey-7")
            with ui.column().classes("w-full gap-0"):
                ui.label("Pairs").classes("text-overline text-grey-8")
                self._no_pairs = ui.label("none configured").classes("text-body2 text-grey-7")
                self._pairs = KeyedColumn[PairLine]().classes("w-full gap-1")
            self._log_note = ui.label().classes("text-body2 text-grey-7 italic")
            self._ledger = ui.column().classes("w-full gap-3")
            with self._ledger:
                self._positions = self._section("Positions", POSITION_COLUMNS, "no positions")
                with ui.element("div").classes("w-full grid grid-cols-1 lg:grid-cols-2 gap-4"):
                    self._orders = self._section("Open orders", ORDER_COLUMNS, "no open orders")
                    self._fills = self._section("Recent fills", FILL_COLUMNS, "no fills yet")
            self._requests = RequestLog(name)

    def _header(self) -> None:
        """Lay out the name, state, enabled flag and the start and stop buttons."""
        with ui.row(wrap=False, align_items="center").classes("w-full gap-2"):
            ui.label(self.name).classes("text-h6")
            self._state = ui.badge()
            self._enabled = ui.badge(outline=True, color="grey-7")
            self._chain = ui.badge(outline=True).mark(f"{self.name}-chain")
            with self._chain:
                self._chain_tooltip = ui.tooltip()
            ui.space()
            supervisor = self._supervisor
            self._start = self._button("Start", "play_arrow", "positive", supervisor.start_bot)
            self._stop = self._button("Stop", "stop", "negative", supervisor.stop_bot)

    def _button(
        self, text: str, icon: str, color: str, call: Callable[[str], Awaitable[dict[str, Any]]]
    ) -> ui.button:
        """Return a button that sends one command about this bot to the supervisor."""

        async def send() -> None:
            try:
                answer = await call(self.name)
            except IpcError as exc:
                ui.notify(f"{self.name}: {exc.message}", type="negative", multi_line=True)
                return
            wanted = "start" if answer.get("enabled") else "stop"
            ui.notify(f"{self.name}: the supervisor will {wanted} it", type="positive")

        return ui.button(text, icon=icon, color=color, on_click=send).props("outline dense")

    def _section(self, title: str, columns: tuple[Column, ...], empty: str) -> NumberTable:
        """Return a titled table."""
        with ui.column().classes("w-full min-w-0 gap-1"):
            ui.label(title).classes("text-overline text-grey-8")
            marker = f"{self.name}-{title.lower().replace(' ', '-')}"
            return NumberTable(columns, empty).mark(marker)

    def show(self, bot: BotSnapshot) -> None:
        """Show a fresh snapshot of the bot."""
        self._state.set_text(bot.state)
        self._state.set_background_color(STATE_COLORS.get(bot.state, "grey-7"))
        self._enabled.set_text("enabled" if bot.enabled else "disabled")
        active = bot.state in ACTIVE_STATES
        self._start.set_enabled(not (bot.enabled and active))
        self._stop.set_enabled(bot.enabled or active)
        self._process.set_text(process_text(bot))
        self._show_chain(bot.chain)
        self._show_pairs(bot)
        self._show_ledger(bot)
        self._requests.show(bot.requests)

    def _show_chain(self, chain: Verdict | None) -> None:
        """Show whether the event log's chain verifies, with the verdict in full on hover."""
        self._chain.set_visibility(chain is not None)
        if chain is not None:
            text, color = chain_look(chain)
            self._chain.set_text(text)
            self._chain.set_background_color(color)
            self._chain_tooltip.set_text(str(chain))

    def _show_pairs(self, bot: BotSnapshot) -> None:
        """Show each pair's line; its buttons work only while the bot runs."""
        lines = self._pairs.follow(
            [pair.symbol for pair in bot.pairs],
            lambda symbol: PairLine(self.name, symbol, self._supervisor),
        )
        for line, pair in zip(lines, bot.pairs, strict=True):
            line.show(pair, running=bot.state == RUNNING)
        self._no_pairs.set_visibility(not bot.pairs)

    def _show_ledger(self, bot: BotSnapshot) -> None:
        """Show the positions, orders and fills, or why there are none."""
        read = bot.events is LogState.READ
        self._log_note.set_text(bot.events_detail)
        self._log_note.set_visibility(not read)
        self._ledger.set_visibility(read)
        self._positions.show([asdict(position) for position in bot.positions])
        self._orders.show([asdict(order) for order in bot.open_orders])
        self._fills.show([fill_record(fill) for fill in bot.recent_fills])
