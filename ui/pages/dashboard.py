"""The dashboard at '/': one card per bot, refreshed every second."""

from __future__ import annotations

import time
from dataclasses import replace

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from appliance.ipc import IpcError
from appliance.store.database import StoreUnavailable
from ui.acting import ActingSupervisor
from ui.auth.guard import Identity, page_visitor
from ui.components.banner import Banner
from ui.components.bot_card import BotCard
from ui.components.formats import clock
from ui.components.keyed_column import KeyedColumn
from ui.components.page_header import HEADER_CLASSES, LOGOUT_FORM
from ui.const import REFRESH_SECONDS
from ui.panel import Panel
from ui.setup_state import needs_setup
from ui.snapshot import BoxSnapshot


class Dashboard:
    """One visitor's dashboard: header, warning banners and the bot cards."""

    def __init__(self, panel: Panel, identity: Identity) -> None:
        self._panel = panel
        self._identity = identity
        with ui.header().classes(HEADER_CLASSES):
            ui.label("MMBox").classes("text-h6")
            self._asset = ui.label().classes("text-subtitle1 text-blue-grey-2")
            ui.space()
            self._updated = ui.label().classes("text-caption text-blue-grey-2")
            ui.link("System", "/system").classes("text-white")
            ui.link("Exchanges", "/exchanges").classes("text-white")
            ui.link("Alerts", "/alerts").classes("text-white")
            ui.link("Account", "/account").classes("text-white")
            ui.link("Settings", "/settings").classes("text-white")
            ui.link("Logs", "/logs").classes("text-white")
            ui.link("Performance", "/performance").classes("text-white")
            if identity.is_owner:
                ui.link("Set up", "/setup").classes("text-white")
                ui.link("Access", "/access").classes("text-white")
            ui.label(f"{identity.name} ({identity.role})").classes("text-body2")
            if panel.development:
                ui.button("Pull key", on_click=self.pull_key).props(
                    "flat dense size=sm color=white")
            ui.html(LOGOUT_FORM)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._locked_banner = Banner("lock")
            self._store_banner = Banner("storage")
            self._supervisor_banner = Banner("power_off")
            self._board = KeyedColumn[BotCard]().classes("w-full gap-4")

    async def refresh(self) -> None:
        """Show the box as it stands now, whether the supervisor answers and the box is locked."""
        self.show_box()
        await self.check_supervisor()
        await self.check_locked()

    async def check_locked(self) -> None:
        """Show a banner while the box token is locked, with the way to unlock it for owners."""
        try:
            locked = bool((await self._panel.signer.status()).get("locked"))
        except IpcError:
            locked = False  # the supervisor's banner already says what does not answer
        if not locked:
            self._locked_banner.hide()
        elif self._identity.is_owner:
            self._locked_banner.show("The box is locked: no bot trades until an owner unlocks "
                                     "its token.")
            if not any(isinstance(e, ui.link) for e in self._locked_banner.descendants()):
                with self._locked_banner:
                    ui.link("Unlock the box", "/unlock").classes("text-red-10 text-weight-bold")
        else:
            self._locked_banner.show("The box is locked: no bot trades until an owner unlocks "
                                     "it.")

    async def pull_key(self) -> None:
        """Pull out the development key of this session: the session ends, the page goes."""
        session = self._identity.session
        if session is None:
            return
        try:
            await self._panel.signer.switch_dev_key(session.device, False)
        except IpcError as exc:
            ui.notify(f"The key stays in: {exc.message}", type="negative", multi_line=True)

    def show_box(self) -> None:
        """Fold in new events and update every card."""
        try:
            box = self._panel.reader.snapshot()
        except StoreUnavailable as exc:
            self._store_banner.show(f"The box's configuration cannot be read: {exc}")
            return
        self._store_banner.hide()
        self._asset.set_text(f"asset {box.asset}" if box.asset else "no asset configured")
        self._updated.set_text(f"updated {clock(time.time())} UTC")
        self._show_cards(box)

    def _show_cards(self, box: BoxSnapshot) -> None:
        """Update each bot's card, adding cards for new bots and dropping those of removed ones."""
        cards = self._board.follow(
            [bot.name for bot in box.bots], lambda name: BotCard(name, self._panel.supervisor)
        )
        for card, bot in zip(cards, box.bots, strict=True):
            card.show(bot)

    async def check_supervisor(self) -> None:
        """Show a banner while the supervisor does not answer."""
        try:
            await self._panel.supervisor.status()
        except IpcError as exc:
            self._supervisor_banner.show(
                "The supervisor is not answering, so bots cannot be started or stopped"
                " nor pairs activated or paused:"
                f" {exc.message}"
            )
            return
        self._supervisor_banner.hide()


def add_dashboard(panel: Panel) -> None:
    """Serve the dashboard at '/': only to a session, which the auth guard made sure of."""

    @ui.page("/")
    def dashboard(request: Request) -> RedirectResponse | None:
        identity, session = page_visitor(request, "the dashboard")
        if identity.is_owner and needs_setup(panel):
            return RedirectResponse("/setup", status_code=303)  # a new box: the wizard first
        panel.watch.attach(session, ui.context.client)
        acting = ActingSupervisor(panel.supervisor, identity,
                                  request.client.host if request.client else "")
        ui.query("body").classes("bg-grey-2")
        view = Dashboard(replace(panel, supervisor=acting), identity)
        view.show_box()
        ui.timer(REFRESH_SECONDS, view.refresh)
        return None
