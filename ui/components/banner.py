"""A full-width warning strip, shown only while something is wrong."""

from __future__ import annotations

from nicegui import ui


class Banner(ui.row):
    """A red strip with an icon and a message saying what is wrong and what still works."""

    def __init__(self, icon: str) -> None:
        super().__init__(wrap=False, align_items="center")
        self.classes("w-full gap-3 px-4 py-3 rounded-borders bg-red-1 text-red-10")
        with self:
            ui.icon(icon, size="sm")
            self._message = ui.label()
        self.set_visibility(False)

    def show(self, message: str) -> None:
        """Show the banner with this message."""
        self._message.set_text(message)
        self.set_visibility(True)

    def hide(self) -> None:
        """Hide the banner."""
        self.set_visibility(False)
