"""The first-run wizard at '/setup': from a box with no exchange account to live quotes.

An owner's first visit to the dashboard of a box with no exchange account lands here. Six
steps, with their progress shown: check the allowlist, add an exchange account, add a pair of
the licensed asset, choose the strategy and risk limits (starting from the safe defaults a new
pair gets), watch the quotes the pair would send next to the market's book while it runs in
shadow mode, and go live with one confirmation.

The wizard keeps no state of its own: it can be left at any step, and a later visit resumes
where the box stands (no account: the start; no pair: the pair step; a pair in shadow mode:
its strategy; a live pair: done). Each step acts through the same owner-checked, recorded
paths as the Exchanges and Settings pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from nicegui import ui

from appliance.config.pair import PairSettings, pair_settings
from appliance.datadir import DataDir
from appliance.ipc import IpcError
from appliance.risk.limits import RiskLimits
from appliance.store.appliance_db import Pair
from appliance.store.database import StoreUnavailable
from ui.acting import ActingSupervisor
from ui.auth.guard import Identity, client_address, page_visitor
from ui.components.banner import Banner
from ui.components.exchange_form import ExchangeForm, SavedAccount
from ui.components.history_card import ConfigChange
from ui.components.model_form import ModelForm
from ui.components.page_header import page_header
from ui.const import SymbolAction
from ui.exchange_admin import ActingExchangeAdmin, Choice, ExchangeRefused, NewPair, form_of
from ui.pages.settings import SettingsDesk
from ui.panel import Panel
from ui.setup_state import Step, covering, read_setup
from ui.shadow import latest_quotes

SHADOW_REFRESH_S = 1.0


TITLES = {Step.ALLOWLIST: "Allowlist", Step.ACCOUNT: "Exchange account", Step.PAIR: "Pair",
          Step.STRATEGY: "Strategy and risk", Step.SHADOW: "Shadow quotes",
          Step.LIVE: "Go live"}


class SetupWizard:
    """One owner's wizard: a stepper whose steps act on the box through the owner's paths."""

    def __init__(self, panel: Panel, datadir: DataDir, identity: Identity, address: str,
                 choices: list[Choice]) -> None:
        self._panel = panel
        self._datadir = datadir
        self._address = address
        self._choices = choices
        self._admin = ActingExchangeAdmin(panel, identity, address)
        self._desk = SettingsDesk(panel, identity, address)
        self._acting = ActingSupervisor(panel.supervisor, identity, address)
        self._markets: list[str] = []
        self._setup = read_setup(panel.accounts.path)
        page_header("Set up", identity)
        with ui.column().classes("w-full max-w-screen-lg mx-auto gap-4"):
            self._banner = Banner("warning")
            with ui.stepper(value=TITLES[self._setup.resume]).props(
                    "vertical animated header-nav").classes("w-full") as self._stepper:
                for step, build in ((Step.ALLOWLIST, self._allowlist_step),
                                    (Step.ACCOUNT, self._account_step),
                                    (Step.PAIR, self._pair_step),
                                    (Step.STRATEGY, self._strategy_step),
                                    (Step.SHADOW, self._shadow_step),
                                    (Step.LIVE, self._live_step)):
                    with ui.step(TITLES[step]).mark(f"step-{step.value}"):
                        build()
        self._show_strategy()  # a visit resuming past the pair step finds its settings shown

    # The steps.

    def _allowlist_step(self) -> None:
        setup = self._setup
        ui.label("Only these addresses and networks reach this panel:")
        ui.label(", ".join(setup.allowlist) or "none").classes("font-mono")
        entry = covering(setup.allowlist, self._address)
        if entry is None:
            ui.label(f"This browser connects from {self._address}, which the allowlist does not "
                     "name; it reaches the panel from the box itself.").classes("text-warning")
        else:
            ui.label(f"This browser connects from {self._address}, let in by {entry}.")
        ui.label("Narrow or widen it on the Access page: a change that would lock you out is "
                 "refused, and one you do not confirm is undone after 90 seconds.")
        with ui.stepper_navigation():
            ui.button("Next", on_click=self._stepper.next)
            ui.link("Edit the allowlist", "/access")

    def _account_step(self) -> None:
        self._accounts = ui.label().mark("accounts")
        self._show_accounts()
        ExchangeForm(self._admin, self._choices, self._setup.bots, self._saved)
        with ui.stepper_navigation():
            self._account_next = ui.button("Next", on_click=self._stepper.next)
            ui.button("Back", on_click=self._stepper.previous).props("flat")
        self._account_next.set_enabled(bool(self._setup.accounts))

    def _pair_step(self) -> None:
        asset = self._setup.asset
        ui.label(f"This box is licensed for {asset}: its pairs trade {asset} against a quote "
                 "asset. A new pair starts in shadow mode with safe defaults sized from the "
                 "market's minimum order; nothing is sent until you go live.")
        bots = self._setup.bots
        with ui.row().classes("items-end gap-4"):
            self._pair_bot = ui.select(bots, label="Bot", value=bots[0] if bots else None,
                                       on_change=self._show_pair_accounts)
            self._pair_account = ui.select([], label="Exchange account").classes("min-w-40")
            self._pair_symbol = ui.select(
                [], label=f"Pair ({asset}/QUOTE)", with_input=True,
                new_value_mode="add-unique").classes("min-w-48")
            ui.button("Add pair", on_click=self._add_pair)
        self._pairs = ui.label().mark("pairs")
        with ui.stepper_navigation():
            self._pair_next = ui.button("Next", on_click=self._to_strategy)
            ui.button("Back", on_click=self._stepper.previous).props("flat")
        self._show_pair_accounts()

    def _strategy_step(self) -> None:
        ui.label("The pair's strategy, order keeping and integrity settings, then its bot's "
                 "risk limits. The defaults are safe; change what you need and save each.")
        self._strategy_of = ui.label().classes("text-subtitle2")
        self._settings_form = ModelForm(PairSettings, self._save_settings,
                                        submit="Save the pair's settings")
        ui.separator()
        self._risk_of = ui.label().classes("text-subtitle2")
        self._risk_form = ModelForm(RiskLimits, self._save_risk, submit="Save the risk limits")
        with ui.stepper_navigation():
            ui.button("Next", on_click=self._to_shadow)
            ui.button("Back", on_click=self._stepper.previous).props("flat")

    def _shadow_step(self) -> None:
        ui.label("The bot runs the strategy on the live market and logs the quotes it would "
                 "send; in shadow mode it sends none. Here they are, next to the exchange's "
                 "best bid and ask.")
        self._shadow_note = ui.label().mark("shadow-note")
        self._shadow = ui.table(
            columns=[{"name": n, "label": n.capitalize(), "field": n, "align": "left"}
                     for n in ("side", "price", "size", "what")],
            rows=[], row_key="what").classes("w-full").mark("shadow-quotes")
        ui.timer(SHADOW_REFRESH_S, self._show_shadow)
        with ui.stepper_navigation():
            ui.button("Next", on_click=self._to_live)
            ui.button("Back", on_click=self._stepper.previous).props("flat")

    def _live_step(self) -> None:
        self._live_note = ui.label().mark("live-note")
        with ui.dialog() as self._confirm, ui.card():
            self._confirm_text = ui.label()
            with ui.row():
                ui.button("Go live", on_click=self._go_live).props("color=negative")
                ui.button("Cancel", on_click=self._confirm.close).props("flat")
        with ui.stepper_navigation():
            self._live_button = ui.button("Go live…", on_click=self._ask_live)
            ui.link("Open the dashboard", "/")
            ui.button("Back", on_click=self._stepper.previous).props("flat")
        self._show_live()

    # What the steps do.

    async def _saved(self, saved: SavedAccount) -> None:
        self._markets = saved.asset_markets
        self._reread()
        self._show_accounts()
        self._account_next.set_enabled(True)
        self._show_pair_accounts()
        self._stepper.next()

    def _show_accounts(self) -> None:
        accounts = self._setup.accounts
        self._accounts.set_text(
            "Accounts: " + ", ".join(f"{name} ({bot})" for name, bot in accounts) if accounts
            else "No exchange account yet: add one below, for the bot that will trade on it.")

    def _show_pair_accounts(self) -> None:
        bot = self._pair_bot.value or ""
        names = self._setup.accounts_of(bot)
        self._pair_account.set_options(names, value=names[0] if names else None)
        asset = self._setup.asset
        usual = f"{asset}/USDT"
        suggested = sorted(self._markets or [usual], key=lambda symbol: symbol != usual)
        self._pair_symbol.set_options(suggested, value=suggested[0])
        pairs = self._setup.pairs
        self._pairs.set_text(
            "Pairs: " + ", ".join(f"{p.symbol} on {p.exchange} ({p.bot}"
                                  f"{', shadow' if p.shadow else ''})" for p in pairs)
            if pairs else "No pair yet.")
        self._pair_next.set_enabled(bool(pairs))

    async def _add_pair(self) -> None:
        bot, account, symbol = (self._pair_bot.value, self._pair_account.value,
                                self._pair_symbol.value)
        if not (bot and account and symbol):
            ui.notify("Pick a bot, one of its exchange accounts and a pair", type="warning")
            return
        try:
            form = form_of(NewPair, {"exchange": account, "symbol": str(symbol).upper()})
            await self._admin.act(form.asked(str(bot)))
        except ExchangeRefused as exc:
            ui.notify(exc.message, type="negative", multi_line=True, timeout=10_000)
            return
        ui.notify(f"{symbol} added to {bot}, in shadow mode", type="positive")
        self._reread()
        self._show_pair_accounts()

    def _pair(self) -> Pair | None:
        return self._setup.pairs[0] if self._setup.pairs else None

    def _to_strategy(self) -> None:
        self._show_strategy()
        self._stepper.next()

    def _show_strategy(self) -> None:
        pair = self._pair()
        if pair is None:
            return
        self._strategy_of.set_text(f"{pair.symbol} on {pair.exchange} ({pair.bot})")
        self._settings_form.load(self._desk.pair(pair.bot, pair.exchange, pair.symbol).settings)
        self._risk_of.set_text(f"Risk limits of {pair.bot}")
        self._risk_form.load(self._desk.risk(pair.bot).settings)

    async def _save_settings(self, settings: PairSettings) -> None:
        pair = self._pair()
        if pair is not None:
            await self._report(lambda: self._desk.configure_pair(pair, settings))

    async def _save_risk(self, limits: RiskLimits) -> None:
        pair = self._pair()
        if pair is not None:
            await self._report(lambda: self._desk.configure_risk(pair.bot, limits))

    async def _report(self, change: Callable[[], Awaitable[ConfigChange]]) -> None:
        try:
            done = await change()
        except IpcError as exc:
            ui.notify(exc.message, type="negative", multi_line=True, timeout=10_000)
            return
        ui.notify(f"Saved. {done.summary()}", type="positive")
        self._reread()

    def _to_shadow(self) -> None:
        self._stepper.next()
        self._show_shadow()

    def _show_shadow(self) -> None:
        pair = self._pair()
        if pair is None:
            self._shadow_note.set_text("Add a pair first.")
            return
        quotes = latest_quotes(self._datadir, pair.bot, pair.symbol)
        if quotes is None:
            self._shadow_note.set_text(f"Waiting for {pair.bot} to look at {pair.symbol}'s "
                                       "market: its first quotes show here within seconds.")
            self._shadow.rows = []
        else:
            mid = "" if quotes.mid is None else f" at mid {quotes.mid:f}"
            self._shadow_note.set_text(f"{pair.symbol}: the quotes {pair.bot} would send"
                                       f"{mid}{' (shadow mode)' if pair.shadow else ''}.")
            self._shadow.rows = quotes.rows()
        self._shadow.update()

    def _to_live(self) -> None:
        self._show_live()
        self._stepper.next()

    def _show_live(self) -> None:
        pair = self._pair()
        if pair is None:
            self._live_note.set_text("Add a pair first.")
            self._live_button.set_enabled(False)
        elif pair.shadow:
            self._live_note.set_text(f"Going live has {pair.bot} send real orders for "
                                     f"{pair.symbol} on {pair.exchange}, within the risk limits "
                                     "you set. You can pause it from the dashboard at any time.")
            self._live_button.set_enabled(True)
        else:
            self._live_note.set_text(f"{pair.symbol} is live. The dashboard shows its orders "
                                     "and fills.")
            self._live_button.set_enabled(False)

    def _ask_live(self) -> None:
        pair = self._pair()
        if pair is not None:
            self._confirm_text.set_text(f"Send real orders for {pair.symbol} on "
                                        f"{pair.exchange}?")
            self._confirm.open()

    async def _go_live(self) -> None:
        self._confirm.close()
        pair = self._pair()
        if pair is None:
            return
        stored = self._desk.pair(pair.bot, pair.exchange, pair.symbol)
        try:
            settings = pair_settings({**stored.settings, "shadow": False})
            await self._desk.configure_pair(pair, settings)
            await self._acting.symbol_action(pair.bot, pair.symbol, SymbolAction.ACTIVATE)
        except IpcError as exc:
            ui.notify(f"Not live: {exc.message}", type="negative", multi_line=True,
                      timeout=10_000)
            return
        ui.notify(f"{pair.symbol} is live", type="positive")
        self._reread()
        self._show_live()

    def _reread(self) -> None:
        try:
            self._setup = read_setup(self._panel.accounts.path)
            self._banner.hide()
        except StoreUnavailable as exc:
            self._banner.show(f"The box's settings cannot be read: {exc}")


def add_setup(panel: Panel, datadir: DataDir) -> None:
    """Serve the wizard at '/setup', to owners."""

    @ui.page("/setup")
    async def setup_page(request: Request) -> None:
        identity, session = page_visitor(request, "the setup wizard")
        if not identity.is_owner:
            ui.label("Only an owner sets the box up; log in with an owner's key.")
            return
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        address = client_address(request.scope)
        choices = await ActingExchangeAdmin(panel, identity, address).catalog()
        try:
            SetupWizard(panel, datadir, identity, address, choices)
        except StoreUnavailable as exc:
            ui.label(f"The box's settings cannot be read: {exc}")
