"""The Access page's allowlist: the networks allowed now, an editor, and a change to keep."""

from __future__ import annotations

import time

from nicegui import ui

from ui.access_admin import AccessRefused, AllowlistRequest, form_of
from ui.acting import ActingAdmin
from ui.components.access_card import AccessCard
from ui.components.change_prompts import refused


class AllowlistCard(AccessCard):
    """The networks allowed to reach the panel, an editor, and the change waiting to be kept."""

    def __init__(self, admin: ActingAdmin, cidrs: list[str]) -> None:
        super().__init__(admin, "Allowlist", "allowlist-card")
        self._deadline: float | None = None
        with self:
            self._current = ui.label().classes("text-body2").mark("allowlist")
            with ui.row(wrap=False, align_items="center").classes(
                    "w-full gap-3 px-4 py-3 rounded-borders bg-amber-2") as self._pending:
                ui.icon("timer", size="sm")
                self._countdown = ui.label().classes("grow")
                ui.button("Keep this allowlist", on_click=self._confirm)
            self._pending.set_visibility(False)
            self._editor = ui.textarea(
                "One address or CIDR per line", value="\n".join(cidrs)).classes("w-full")
            ui.button("Apply", on_click=self._propose)

    async def refresh(self) -> None:
        """Show the allowlist in force and the time left to keep a change."""
        self._current.set_text("Allowed now: " + ", ".join(self._admin.allowlist()))
        pending = await self._admin.pending()
        self._deadline = None if pending is None else float(pending["deadline"])
        self._show_countdown()

    def _show_countdown(self) -> None:
        if self._deadline is None:
            self._pending.set_visibility(False)
            return
        left = max(0, round(self._deadline - time.time()))
        self._countdown.set_text(
            f"The new allowlist reverts in {left} s unless you keep it. Check that you can "
            "still reach the panel from everywhere you need, then keep it.")
        self._pending.set_visibility(True)

    async def _propose(self) -> None:
        cidrs = [line.strip() for line in (self._editor.value or "").splitlines()
                 if line.strip()]
        try:
            form = form_of(AllowlistRequest, {"cidrs": cidrs})
            change = await self._admin.propose_allowlist(form, self._admin.address,
                                                         self._admin.identity.name)
        except AccessRefused as exc:
            refused(exc)
            return
        self._editor.set_value("\n".join(change.answer["cidrs"]))
        self._deadline = float(change.answer["deadline"])
        self._show_countdown()

    async def _confirm(self) -> None:
        try:
            change = await self._admin.confirm_allowlist(self._admin.address)
        except AccessRefused as exc:
            refused(exc)
            return
        self._deadline = None
        self._show_countdown()
        ui.notify("The new allowlist is kept: " + ", ".join(change.answer["cidrs"]),
                  type="positive")
