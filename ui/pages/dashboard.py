"""The dashboard at '/': one card per bot, refreshed every second."""

from __future__ import annotations

import time

from nicegui import ui

from appliance.ipc import IpcError
from appliance.store.database import StoreUnavailable
from ui.components.banner import Banner
from ui.components.bot_card import BotCard
from ui.components.formats import clock
from ui.components.keyed_column import KeyedColumn
from ui.const import REFRESH_SECONDS
from ui.panel import Panel
from ui.snapshot import BoxSnapshot


class Dashboard:
    """One visitor's dashboard: header, warning banners and the bot cards."""

    def __init__(self, panel: Panel) -> None:
        self._panel = panel
        with ui.header().classes("items-center bg-blue-grey-9 px-6"):
            ui.label("MMBox").classes("text-h6")
            self._asset = ui.label().classes("text-subtitle1 text-blue-grey-2")
            ui.space()
            self._updated = ui.label().classes("text-caption text-blue-grey-2")
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._store_banner = Banner("storage")
            self._supervisor_banner = Banner("power_off")
            self._board = KeyedColumn[BotCard]().classes("w-full gap-4")

    async def refresh(self) -> None:
        """Show the box as it stands now and whether the supervisor answers."""
        self.show_box()
        await self.check_supervisor()

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
    """Serve the dashboard at '/'."""

    @ui.page("/")
    def dashboard() -> None:
        ui.query("body").classes("bg-grey-2")
        view = Dashboard(panel)
        view.show_box()
        ui.timer(REFRESH_SECONDS, view.refresh)
