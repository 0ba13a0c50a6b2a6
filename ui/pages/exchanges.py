"""The Exchanges page at '/exchanges': the bots' exchange accounts and the pairs they quote.

Anyone logged in sees the accounts (each key's public id, never a secret) and each bot's pairs.
An owner also adds accounts with the exchange form, removes them (refused while a pair uses
one, saying which), and adds and removes pairs; removing a pair has its bot cancel the pair's
orders first. The buttons act over the page's socket, which the auth guard does not see:
`ActingExchangeAdmin` checks the owner and records each change in the activity log.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from ui.auth.guard import client_address, page_visitor
from ui.components.banner import Banner
from ui.components.change_prompts import confirmed
from ui.components.exchange_form import ExchangeForm, SavedAccount
from ui.components.number_table import Column
from ui.components.page_header import page_header
from ui.components.revoke_table import RevokeTable
from ui.const import REFRESH_SECONDS
from ui.exchange_admin import (
    Account,
    AccountPath,
    ActingExchangeAdmin,
    Choice,
    ExchangeRefused,
    ExchangesView,
    NewPair,
    PairPath,
    form_of,
)
from ui.panel import Panel

ACCOUNT_COLUMNS = (
    Column("name", "Account"), Column("exchange", "Exchange"), Column("where", "Where"),
    Column("bot", "Bot"), Column("kind", "Key"), Column("api_key", "API key"),
    Column("pairs", "Pairs"),
)
PAIR_COLUMNS = (Column("exchange", "Account"), Column("symbol", "Pair"),
                Column("strategy", "Strategy"), Column("mode", "Mode"))


def account_row(account: Account, owner: bool) -> dict[str, Any]:
    """Return an account as a row of the accounts table."""
    where = account.api_url or ("sandbox" if account.sandbox else "live")
    return {"key": f"{account.name}/{account.bot}", "name": account.name,
            "exchange": account.exchange, "where": where, "bot": account.bot or "—",
            "kind": account.kind or "—", "api_key": account.api_key or "—",
            "pairs": ", ".join(account.pairs) or "—", "account": account.name,
            "account_bot": account.bot, "removable": owner and account.bot is not None}


class BotPairsCard(ui.card):
    """One bot's pairs, each removable, and (for an owner) a pair to add on its accounts."""

    def __init__(self, admin: ActingExchangeAdmin, bot: str, markets: dict[str, list[str]]
                 ) -> None:
        super().__init__()
        self._admin = admin
        self._bot = bot
        self._markets = markets
        self._asset = ""
        self._offered: list[str] | None = None
        self.classes("w-full").mark(f"pairs-card-{bot}")
        with self:
            ui.label(f"{bot}: pairs").classes("text-h6")
            self._table = RevokeTable(PAIR_COLUMNS, "no pairs", self._remove, label="Remove",
                                      flag="removable").mark(f"pairs-{bot}")
            with ui.row().classes("items-end gap-4") as adding:
                self._account = ui.select([], label="Account", on_change=self._offer).classes(
                    "min-w-48")
                self._symbol = ui.input("Pair (BASE/QUOTE)").props("maxlength=41")
                ui.button("Add pair", on_click=self._add)
            adding.set_visibility(admin.identity.is_owner)

    def show(self, view: ExchangesView) -> None:
        """Show the bot's pairs, and offer its accounts and their markets of the asset."""
        owner = self._admin.identity.is_owner
        self._table.show([
            {"key": f"{p.exchange}/{p.symbol}", "exchange": p.exchange, "symbol": p.symbol,
             "strategy": p.strategy, "mode": "shadow" if p.shadow else "live",
             "removable": owner} for p in view.pairs if p.bot == self._bot])
        accounts = [a.name for a in view.accounts if a.bot == self._bot]
        if accounts != self._account.options:
            self._account.set_options(accounts, value=self._account.value
                                      if self._account.value in accounts else
                                      next(iter(accounts), None))
        self._asset = view.asset
        self._offer()

    def _offer(self) -> None:
        """Offer the markets of the asset the chosen account's test found, if it had one."""
        known = self._markets.get(self._account.value or "", [])
        if known != self._offered:
            self._offered = known
            self._symbol.set_autocomplete(known)
            example = known[0] if known else f"{self._asset}/USDT" if self._asset else ""
            self._symbol.props(f'placeholder="{example}"')

    async def _add(self) -> None:
        try:
            form = form_of(NewPair, {"exchange": self._account.value or "",
                                     "symbol": (self._symbol.value or "").strip().upper()})
            added = await self._admin.act(form.asked(self._bot))
        except ExchangeRefused as exc:
            ui.notify(exc.message, type="negative", multi_line=True)
            return
        self._symbol.set_value("")
        start = "started it" if added["started"] else "starts it at its next start"
        ui.notify(f"{added['symbol']} is added to {self._bot} on {added['exchange']}, in shadow "
                  f"mode with safe settings until you change them; {self._bot} {start}",
                  type="positive", multi_line=True)

    async def _remove(self, row: dict[str, Any]) -> None:
        if not await confirmed(
                f"Remove {row['symbol']} from {self._bot} on {row['exchange']}? {self._bot} "
                "cancels the pair's open orders first, then stops quoting it.", "Remove pair"):
            return
        try:
            path = form_of(PairPath, {"bot": self._bot, "exchange": row["exchange"],
                                      "symbol": row["symbol"]})
            removed = await self._admin.act(path.asked())
        except ExchangeRefused as exc:
            ui.notify(exc.message, type="negative", multi_line=True)
            return
        ui.notify(f"{removed['symbol']} is removed from {self._bot}; {removed['cancelled']} "
                  "open order(s) were cancelled", type="positive")


class ExchangesPage:
    """One visitor's Exchanges page: header, a banner when appliance.db fails, the accounts,
    the form that adds one (owners), and each bot's pairs."""

    def __init__(self, admin: ActingExchangeAdmin, choices: list[Choice], bots: list[str]
                 ) -> None:
        self._admin = admin
        self._markets: dict[str, list[str]] = {}
        """The markets of the asset each account's test found, offered when adding a pair."""
        identity = admin.identity
        page_header("Exchanges", identity)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._banner = Banner("storage")
            with ui.card().classes("w-full").mark("accounts-card"):
                ui.label("Exchange accounts").classes("text-h6")
                self._accounts = RevokeTable(ACCOUNT_COLUMNS, "no accounts", self._remove,
                                             label="Remove", flag="removable")
                self._accounts.mark("accounts")
            if identity.is_owner:
                with ui.card().classes("w-full"):
                    ui.label("Add an account").classes("text-h6")
                    ExchangeForm(admin, choices, bots, self._saved)
            self._bots = [BotPairsCard(admin, bot, self._markets) for bot in bots]

    def refresh(self) -> None:
        """Show the accounts and pairs as appliance.db holds them now."""
        try:
            view = self._admin.view()
        except ExchangeRefused as exc:
            self._banner.show(f"The exchange accounts cannot be read: {exc.message}")
            return
        self._banner.hide()
        owner = self._admin.identity.is_owner
        self._accounts.show([account_row(a, owner) for a in view.accounts])
        for card in self._bots:
            card.show(view)

    async def _saved(self, saved: SavedAccount) -> None:
        self._markets[saved.answer["name"]] = saved.asset_markets
        self.refresh()

    async def _remove(self, row: dict[str, Any]) -> None:
        name, bot = row["account"], row["account_bot"]
        if not await confirmed(
                f"Remove the account {name} of {bot}? Its keys are destroyed on the box's "
                "token; to trade there again, add it with a new key.", "Remove account"):
            return
        try:
            path = form_of(AccountPath, {"name": name, "bot": bot})
            await self._admin.act(path.asked())
        except ExchangeRefused as exc:
            ui.notify(f"{name} is kept: {exc.message}", type="negative", multi_line=True)
            return
        ui.notify(f"The account {name} of {bot} is removed", type="positive")
        self.refresh()


def add_exchanges(panel: Panel) -> None:
    """Serve the Exchanges page at '/exchanges': to any session, its changes to owners."""

    @ui.page("/exchanges")
    async def exchanges_page(request: Request) -> None:
        identity, session = page_visitor(request, "the exchanges page")
        panel.watch.attach(session, ui.context.client)
        admin = ActingExchangeAdmin(panel, identity, client_address(request.scope))
        try:
            bots = admin.view().bots
        except ExchangeRefused:
            bots = []  # the banner says why on the first refresh
        choices = await admin.catalog() if identity.is_owner else []
        ui.query("body").classes("bg-grey-2")
        page = ExchangesPage(admin, choices, bots)
        page.refresh()
        ui.timer(REFRESH_SECONDS, page.refresh)
