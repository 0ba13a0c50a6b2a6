"""The Settings page at '/settings': each bot's pairs and risk limits, with their history.

Anyone logged in sees them; only an owner changes them. The page asks the supervisor's config
ops, as the REST routes do, through a `SettingsDesk` that checks the user's role and records
each change in the user-activity log: its buttons act over NiceGUI's socket, which the auth
guard does not see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request
from nicegui import ui
from pydantic import BaseModel, ValidationError

from appliance.config import history
from appliance.config.pair import PairSettings, SettingsError, problems, settings_of
from appliance.ipc import IpcError
from appliance.risk.limits import RiskLimits
from appliance.store import appliance_db
from appliance.store.appliance_db import Pair
from appliance.store.database import StoreUnavailable, read_from
from ui.acting import record
from ui.auth.guard import Identity, client_address, page_visitor
from ui.components.banner import Banner
from ui.components.history_card import ConfigChange, HistoryCard
from ui.components.model_form import ModelForm
from ui.components.page_header import page_header
from ui.panel import Panel

M = TypeVar("M", bound=BaseModel)

CHANGED_LOGGED = 20
"""How many changed settings an activity record names."""


@dataclass(frozen=True)
class Stored:
    """What appliance.db holds for a pair's settings or a bot's risk limits: the settings (with
    defaults filled in when valid, as stored when not), why they are not valid, and every
    version of them."""

    settings: dict[str, Any]
    problem: str | None
    versions: list[history.Version]


class SettingsDesk:
    """The settings as one user of the page reads them from appliance.db and, if an owner,
    changes them through the supervisor, each change recorded as theirs."""

    def __init__(self, panel: Panel, identity: Identity, address: str) -> None:
        self.panel = panel
        self.identity = identity
        self.address = address

    def bots(self) -> list[tuple[str, list[Pair]]]:
        """Return each bot with its pairs, or raise StoreUnavailable."""
        return read_from(self.panel.accounts.path, lambda db: [
            (bot.name, appliance_db.pairs(db, bot.name)) for bot in appliance_db.bots(db)])

    def pair(self, bot: str, exchange: str, symbol: str) -> Stored:
        """Return a pair's settings as stored, or raise StoreUnavailable."""
        target = history.pair_target(bot, exchange, symbol)
        found, versions = read_from(self.panel.accounts.path, lambda db: (
            next((p for p in appliance_db.pairs(db, bot)
                  if (p.exchange, p.symbol) == (exchange, symbol)), None),
            history.versions(db, target)))
        if found is None:
            return Stored({}, f"{bot} no longer has the pair {symbol} on {exchange}; reload "
                          "the page", versions)
        try:
            return Stored(settings_of(found).model_dump(mode="json"), None, versions)
        except SettingsError as exc:
            raw = {"strategy": {"kind": found.strategy, "params": found.params},
                   "tolerance": found.tolerance, "integrity": found.integrity,
                   "shadow": found.shadow}
            return Stored(raw, f"The stored settings are not valid, so the bot cannot quote "
                          f"this pair until they are saved again: {exc}", versions)

    def risk(self, bot: str) -> Stored:
        """Return a bot's risk limits as stored, or raise StoreUnavailable."""
        raw, versions = read_from(self.panel.accounts.path, lambda db: (
            appliance_db.bot_risk(db, bot), history.versions(db, history.risk_target(bot))))
        try:
            return Stored(RiskLimits.model_validate(raw).model_dump(mode="json"), None,
                          versions)
        except ValidationError as exc:
            return Stored(raw, "The stored risk limits are not valid, so the bot cannot trade "
                          f"until they are saved again: {problems(exc, 'risk limits')}",
                          versions)

    async def configure_pair(self, pair: Pair, settings: PairSettings) -> ConfigChange:
        """Set a pair's settings, as this user."""
        return await self._as_owner("pair_configure", {
            "bot": pair.bot, "exchange": pair.exchange, "symbol": pair.symbol,
            "settings": settings.model_dump(mode="json")},
            history.pair_target(pair.bot, pair.exchange, pair.symbol))

    async def configure_risk(self, bot: str, limits: RiskLimits) -> ConfigChange:
        """Set a bot's risk limits, as this user."""
        return await self._as_owner("risk_configure", {
            "bot": bot, "risk": limits.model_dump(mode="json")}, history.risk_target(bot))

    async def restore(self, version: int) -> ConfigChange:
        """Set an earlier version again, as this user."""
        return await self._as_owner("config_restore", {"id": version}, f"version {version}")

    async def _as_owner(self, op: str, args: dict[str, Any], target: str) -> ConfigChange:
        if not self.identity.is_owner:
            await self._note(op, "refused", {"target": target})
            raise IpcError("forbidden", "only an owner may change settings; log in with an "
                           "owner's key")
        try:
            answer = await self.panel.supervisor.ask(
                op, **args, actor=self.identity.name, fingerprint=self.identity.fingerprint)
        except IpcError as exc:
            await self._note(op, exc.code, {"target": target})
            raise
        change = ConfigChange.of(answer)
        await self._note(op, "ok", {"target": target, "changed": [
            c.path for c in change.changes][:CHANGED_LOGGED]})
        return change

    async def _note(self, op: str, outcome: str, detail: dict[str, Any]) -> None:
        await record(self.panel.supervisor, self.identity, self.address, op, outcome, detail)


class SettingsCard(ui.card, Generic[M]):
    """One pair's settings or one bot's risk limits: the form, what the last save did, and the
    history. Without `save` (an operator's page) the form is read-only and nothing restores."""

    def __init__(self, title: str, model: type[M], read: Callable[[], Stored],
                 save: Callable[[M], Awaitable[ConfigChange]] | None,
                 restore: Callable[[int], Awaitable[ConfigChange]] | None) -> None:
        super().__init__()
        self._read = read
        self._save_to = save
        self.classes("w-full")
        with self:
            ui.label(title).classes("text-h6")
            self._problem = ui.label().classes("text-negative text-body2")
            with ui.row(wrap=False).classes("w-full items-start gap-4"):
                with ui.column().classes("grow gap-2"):
                    self._form = ModelForm(model, None if save is None else self._save)
                    self._saved = ui.label().classes("text-positive text-body2")
                self._history = HistoryCard(restore, self.refresh).classes("w-96 shrink-0")
        self.refresh()

    def refresh(self) -> None:
        """Show the settings and their history as appliance.db holds them now."""
        try:
            stored = self._read()
        except StoreUnavailable as exc:
            self._show_problem(f"The settings cannot be read: {exc}")
            return
        self._show_problem(stored.problem)
        self._form.load(stored.settings)
        self._history.show(stored.versions)

    def _show_problem(self, problem: str | None) -> None:
        self._problem.set_text(problem or "")
        self._problem.set_visibility(problem is not None)

    async def _save(self, value: M) -> None:
        if self._save_to is None:
            return
        try:
            change = await self._save_to(value)
        except IpcError as exc:
            ui.notify(f"Not saved: {exc.message}", type="negative", multi_line=True)
            return
        self._saved.set_text(change.summary())
        ui.notify(change.summary(), type="positive", multi_line=True)
        self.refresh()


class SettingsView:
    """One user's Settings page: header, a banner when appliance.db cannot be read, and a
    section per bot with a card per pair and one for its risk limits."""

    def __init__(self, desk: SettingsDesk) -> None:
        self._desk = desk
        identity = desk.identity
        page_header("Settings", identity)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            banner = Banner("storage")
            if not identity.is_owner:
                ui.label("You may view the settings; only an owner may change them.").classes(
                    "text-body2 text-grey-8")
            try:
                bots = desk.bots()
            except StoreUnavailable as exc:
                banner.show(f"The settings cannot be read: {exc}")
                return
            for bot, pairs in bots:
                ui.label(bot).classes("text-h5")
                for pair in pairs:
                    self._pair_card(pair)
                self._risk_card(bot)

    def _pair_card(self, pair: Pair) -> None:
        desk = self._desk
        owner = desk.identity.is_owner

        async def save(settings: PairSettings) -> ConfigChange:
            return await desk.configure_pair(pair, settings)

        SettingsCard(f"{pair.symbol} on {pair.exchange}", PairSettings,
                     lambda: desk.pair(pair.bot, pair.exchange, pair.symbol),
                     save if owner else None, desk.restore if owner else None).mark(
            f"pair-{pair.bot}-{pair.exchange}-{pair.symbol}")

    def _risk_card(self, bot: str) -> None:
        desk = self._desk
        owner = desk.identity.is_owner

        async def save(limits: RiskLimits) -> ConfigChange:
            return await desk.configure_risk(bot, limits)

        SettingsCard(f"{bot}'s risk limits", RiskLimits, lambda: desk.risk(bot),
                     save if owner else None, desk.restore if owner else None).mark(
            f"risk-{bot}")


def add_settings(panel: Panel) -> None:
    """Serve the Settings page at '/settings': to any session, which the auth guard made sure
    of; only an owner's may change anything."""

    @ui.page("/settings")
    def settings_page(request: Request) -> None:
        identity, session = page_visitor(request, "the settings page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        SettingsView(SettingsDesk(panel, identity, client_address(request.scope)))
