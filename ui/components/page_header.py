"""The header every page but the dashboard shows: the box's name, the page, links back, who is
logged in and the way out."""

from __future__ import annotations

from collections.abc import Sequence

from nicegui import ui

from ui.auth.guard import Identity

LOGOUT_FORM = ('<form method="post" action="/logout"><button type="submit" '
               'class="q-btn q-btn--flat text-white">Log out</button></form>')
"""A plain form, so logging out is a POST the guard checks like any other."""

HEADER_CLASSES = "items-center bg-blue-grey-9 px-6 gap-4"

BACK: Sequence[tuple[str, str]] = (("Dashboard", "/"),)
"""The links a page header shows unless told others: back to the dashboard."""


def page_header(title: str, identity: Identity, links: Sequence[tuple[str, str]] = BACK
                ) -> None:
    """Show the header of the page `title` for `identity`, with `links` as (text, path)."""
    with ui.header().classes(HEADER_CLASSES):
        ui.label("MMBox").classes("text-h6")
        ui.label(title).classes("text-subtitle1 text-blue-grey-2")
        for text, path in links:
            ui.link(text, path).classes("text-white")
        ui.space()
        ui.label(f"{identity.name} ({identity.role})").classes("text-body2")
        ui.html(LOGOUT_FORM)
