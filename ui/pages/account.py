"""The Account page at '/account': each bot's exchange accounts as the exchange reports them,
beside the bot's own view, with every difference highlighted.

Reading an account costs exchange requests (balances, open orders and recent trades per pair),
so the page reads it when opened and when asked, not every second. Anyone logged in sees it.
"""

from __future__ import annotations

import time

from fastapi import Request
from nicegui import ui
from pydantic import ValidationError

from appliance.ipc import IpcError
from appliance.store.database import StoreUnavailable
from ui.account import BotAccounts, SymbolAccount, read_accounts
from ui.auth.guard import Identity, page_visitor
from ui.components.banner import Banner
from ui.components.formats import clock
from ui.components.page_header import page_header
from ui.panel import Panel

DIFFERS = "bg-red-1"
"""How a row the exchange and the bot disagree on is marked."""


def _table(title: str, columns: list[str], rows: list[dict[str, object]],
           flagged: set[str], key: str) -> None:
    """Show one table; rows whose `key` is in `flagged` are marked as differing."""
    ui.label(title).classes("text-caption text-grey-8")
    if not rows:
        ui.label("none").classes("text-caption")
        return
    with ui.element("table").classes("w-full text-body2"):
        with ui.element("tr"):
            for column in columns:
                with ui.element("th").classes("text-left"):
                    ui.label(column.replace("_", " "))
        for row in rows:
            marked = str(row.get(key, "")) in flagged
            with ui.element("tr").classes(DIFFERS if marked else "").mark(
                    "differs" if marked else "row"):
                for column in columns:
                    with ui.element("td"):
                        ui.label(str(row.get(column, "")))


def _symbol(view: SymbolAccount) -> None:
    with ui.row().classes("items-center gap-2"):
        ui.label(view.symbol).classes("text-subtitle1")
        if view.differs:
            ui.badge("differs", color="negative").mark("differs-badge")
        else:
            ui.badge("matches", color="positive")
        if view.settling:
            ui.label(f"being settled: {', '.join(view.settling)} (filled on the exchange since "
                     "the bot's last poll)").classes("text-caption")
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.column():
            _table("Open orders on the exchange",
                   ["client_id", "side", "price", "amount", "filled"],
                   [o.model_dump() for o in view.exchange_orders], set(view.unknown_orders),
                   "client_id")
        with ui.column():
            _table("Orders the bot believes rest", ["client_id", "side", "price", "amount"],
                   [o.model_dump() for o in view.box_orders], set(view.missing_orders),
                   "client_id")
        with ui.column():
            _table("Recent trades on the exchange", ["id", "side", "price", "amount", "when"],
                   [{**t.model_dump(), "when": clock(t.time)} for t in view.exchange_trades],
                   set(view.unrecorded_trades), "id")
        with ui.column():
            _table("Fills the bot recorded", ["trade_id", "side", "price", "amount"],
                   [f.model_dump() for f in view.box_fills], set(), "trade_id")


class AccountView:
    """One visitor's Account page: a card per bot, read from the exchange on demand."""

    def __init__(self, panel: Panel, identity: Identity, bots: list[str]) -> None:
        self._panel = panel
        page_header("Exchange accounts", identity)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._banner = Banner("warning")
            self._cards: dict[str, ui.column] = {}
            for bot in bots:
                with ui.card().classes("w-full"):
                    with ui.row().classes("items-center w-full"):
                        ui.label(bot).classes("text-h6")
                        ui.space()
                        ui.button("Read from the exchange",
                                  on_click=lambda bot=bot: self.show(bot)).props("outline")
                    self._cards[bot] = ui.column().classes("w-full gap-2")

    async def show_all(self) -> None:
        """Read every bot's accounts."""
        for bot in self._cards:
            await self.show(bot)

    async def show(self, bot: str) -> None:
        """Read one bot's accounts from the exchange and show them beside the bot's view."""
        card = self._cards[bot]
        card.clear()
        with card:
            ui.spinner()
        try:
            found = await read_accounts(self._panel.supervisor, bot)
        except (IpcError, ValidationError) as exc:
            card.clear()
            with card:
                message = exc.message if isinstance(exc, IpcError) else "the bot's answer is " \
                    "not what the panel reads; update the box so both are of one version"
                ui.label(f"Cannot read {bot}'s accounts: {message}").classes("text-negative")
            return
        card.clear()
        with card:
            self._accounts(found)

    @staticmethod
    def _accounts(found: BotAccounts) -> None:
        ui.label(f"read at {clock(found.read_at)} UTC ({time.time() - found.read_at:.0f} s ago)"
                 ).classes("text-caption")
        if not found.accounts:
            ui.label("no exchange account in use: add a pair first")
        for account in found.accounts:
            ui.label(f"Account '{account.exchange}'").classes("text-subtitle1")
            _table("Balances", ["asset", "total", "free", "used"],
                   [{"asset": asset, **b.model_dump()} for asset, b in account.balances.items()],
                   set(), "asset")
            for view in account.symbols:
                _symbol(view)


def add_account(panel: Panel) -> None:
    """Serve the Account page at '/account': to any session, as the guard made sure."""

    @ui.page("/account")
    async def account_page(request: Request) -> None:
        identity, session = page_visitor(request, "the account page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        try:
            bots = [bot.name for bot in panel.reader.snapshot().bots]
        except StoreUnavailable as exc:
            ui.label(f"The box's settings cannot be read: {exc}")
            return
        view = AccountView(panel, identity, bots)
        ui.timer(0.1, view.show_all, once=True)
