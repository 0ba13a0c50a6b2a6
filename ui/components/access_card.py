"""A card of the Access page: full width, titled, and acting through the owner's admin."""

from __future__ import annotations

from nicegui import ui

from ui.acting import ActingAdmin


class AccessCard(ui.card):
    """A full-width card titled `title`, marked `marker` for tests, that acts through `admin`."""

    def __init__(self, admin: ActingAdmin, title: str, marker: str) -> None:
        super().__init__()
        self._admin = admin
        self.classes("w-full").mark(marker)
        with self:
            ui.label(title).classes("text-h6")
