"""The Performance page at '/performance': a bot's charts per pair over 1 h, 24 h, 7 d or all.

Anyone logged in sees it. The series come from `ui.performance`, shared with the REST API;
the charts are ECharts (NiceGUI's, served by the panel) and follow the log every few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from nicegui import run, ui

from appliance.datadir import DataDir
from appliance.store.database import StoreUnavailable
from appliance.vocabulary import Side
from ui.auth.guard import Identity, page_visitor
from ui.components.banner import Banner
from ui.components.page_header import page_header
from ui.panel import Panel
from ui.performance import BotPerformance, PairSeries, PerformanceReader, Span, shared_reader
from ui.snapshot import UnknownBot

REFRESH_SECONDS = 5.0
"""How often the charts take in what the bots logged since."""

SPAN_LABELS = {Span.HOUR: "1 h", Span.DAY: "24 h", Span.WEEK: "7 d", Span.ALL: "All"}
SIDE_COLORS = {Side.BUY: "#2e7d32", Side.SELL: "#c62828"}


def points(times: Sequence[float], values: Sequence[float | int | None]) -> list[list[Any]]:
    """Return a series as ECharts' [milliseconds, value] pairs."""
    return [[t * 1000, v] for t, v in zip(times, values, strict=True)]


def line(name: str, times: Sequence[float], values: Sequence[float | None]) -> dict[str, Any]:
    """Return a line series; a gap where a value is missing."""
    return {"name": name, "type": "line", "showSymbol": False, "data": points(times, values)}


def bars(name: str, times: Sequence[float], values: Sequence[float | int]) -> dict[str, Any]:
    """Return a bar series."""
    return {"name": name, "type": "bar", "data": points(times, values)}


def fills_on_price(pair: PairSeries) -> list[dict[str, Any]]:
    """Return the mid as a line and each side's fills as points on it."""
    return [line("mid", pair.times, pair.mid)] + [
        {"name": f"{side.value}s", "type": "scatter", "symbolSize": 7,
         "itemStyle": {"color": SIDE_COLORS[side]},
         "data": [[f.time * 1000, f.price, f.amount] for f in pair.fill_points if f.side is side]}
        for side in Side]


FIGURES: dict[str, tuple[str, Callable[[PairSeries], list[dict[str, Any]]]]] = {
    "price": ("Price and fills", fills_on_price),
    "equity": ("Equity (quote)", lambda p: [line("equity", p.times, p.equity)]),
    "pnl": ("PnL (quote)", lambda p: [line("realized", p.times, p.realized),
                                      line("unrealized", p.times, p.unrealized)]),
    "inventory": ("Inventory (base)", lambda p: [line("inventory", p.times, p.inventory)]),
    "spread": ("Spread captured (quote)",
               lambda p: [bars("spread captured", p.times, p.spread_captured)]),
    "volume": ("Volume (quote)", lambda p: [bars("volume", p.times, p.volume)]),
    "fills": ("Fills and orders", lambda p: [bars("fills", p.times, p.fills),
                                             bars("orders", p.times, p.orders)]),
    "fees": ("Fees (quote)", lambda p: [bars("fees", p.times, p.fees)]),
    "order_to_trade": ("Order-to-trade ratio",
                       lambda p: [line("orders per fill", p.times, p.order_to_trade)]),
    "two_sided": ("Two-sided presence (share of ACTIVE time)",
                  lambda p: [line("two-sided", p.times, p.two_sided)]),
}
"""Each chart of a pair: its title and its series."""


def chart_options(title: str, series: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a chart's ECharts options."""
    return {"animation": False, "title": {"text": title, "textStyle": {"fontSize": 13}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 0, "right": 0},
            "grid": {"left": 60, "right": 16, "top": 40, "bottom": 28},
            "xAxis": {"type": "time"}, "yAxis": {"type": "value", "scale": True},
            "series": series}


def summary(pair: PairSeries) -> str:
    """Return a pair's ledger figures and its presence over the range, in one line."""
    t = pair.totals
    presence = "—" if pair.presence is None else f"{pair.presence:.0%}"
    unrealized = "—" if t.unrealized is None else f"{t.unrealized:f}"
    return (f"realized {t.realized:f} · unrealized {unrealized}"
            f" · fees {t.fees:f} · volume {t.volume:f} · {t.fills} fills · {pair.fills_in_range}"
            f" in range · two-sided {presence} of ACTIVE time")


class PerformanceView:
    """One visitor's Performance page: the bot and range chosen, and each pair's charts."""

    def __init__(self, reader: PerformanceReader, identity: Identity) -> None:
        self._reader = reader
        self._charts: dict[tuple[str, str], ui.echart] = {}
        self._summaries: dict[str, ui.label] = {}
        page_header("Performance", identity)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._banner = Banner("storage")
            try:
                bots = reader.bots()
            except StoreUnavailable as exc:
                bots = []
                self._banner.show(f"The bots cannot be read: {exc}")
            with ui.row().classes("items-center gap-4"):
                self._bot = ui.select(bots, value=bots[0] if bots else None, label="Bot",
                                      on_change=self.rebuild).classes("min-w-40").mark("bot")
                self._span = ui.toggle({s.value: label for s, label in SPAN_LABELS.items()},
                                       value=Span.DAY.value, on_change=self.rebuild).mark("range")
            self._board = ui.column().classes("w-full gap-4")
        ui.timer(REFRESH_SECONDS, self.refresh)

    async def rebuild(self) -> None:
        """Draw the chosen bot's charts anew for the chosen range."""
        self._charts, self._summaries = {}, {}
        self._board.clear()
        await self.refresh()

    async def refresh(self) -> None:
        """Bring the charts up to what the bot has logged."""
        found = await self._read()
        if found is None:
            return
        if {p.symbol for p in found.pairs} != set(self._summaries):
            self._draw(found)
            return
        for pair in found.pairs:
            self._summaries[pair.symbol].set_text(summary(pair))
            for key, (title, series) in FIGURES.items():
                chart = self._charts[pair.symbol, key]
                chart.options.clear()
                chart.options.update(chart_options(title, series(pair)))
                chart.update()

    def _draw(self, found: BotPerformance) -> None:
        self._board.clear()
        self._charts, self._summaries = {}, {}
        with self._board:
            if not found.pairs:
                ui.label(f"{found.bot} has logged no quotes, orders or fills yet.").classes(
                    "text-body1 text-grey-8")
            for pair in found.pairs:
                ui.label(pair.symbol).classes("text-h5")
                self._summaries[pair.symbol] = ui.label(summary(pair)).classes(
                    "text-body2 text-grey-8").mark(f"summary-{pair.symbol}")
                with ui.grid(columns=2).classes("w-full gap-4"):
                    for key, (title, series) in FIGURES.items():
                        with ui.card().classes("w-full p-2"):
                            self._charts[pair.symbol, key] = ui.echart(
                                chart_options(title, series(pair))).classes("w-full h-64").mark(
                                f"chart-{pair.symbol}-{key}")

    async def _read(self) -> BotPerformance | None:
        bot = self._bot.value
        if not isinstance(bot, str):
            return None
        try:
            found = await run.io_bound(self._reader.performance, bot, Span(self._span.value))
        except (UnknownBot, StoreUnavailable) as exc:
            self._banner.show(f"The performance of {bot} cannot be read: {exc}")
            return None
        self._banner.hide()
        return found if isinstance(found, BotPerformance) else None  # None: the panel stops


def add_performance(panel: Panel, datadir: DataDir) -> None:
    """Serve the Performance page at '/performance': to any session, which the auth guard made
    sure of."""
    reader = shared_reader(datadir.root)

    @ui.page("/performance")
    async def performance_page(request: Request) -> None:
        identity, session = page_visitor(request, "the performance page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        view = PerformanceView(reader, identity)
        await view.refresh()
