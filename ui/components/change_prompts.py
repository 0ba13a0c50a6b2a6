"""How an Access card asks the owner to confirm a change, and tells them how it went."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ui.access_admin import AccessChange, AccessRefused


def refused(exc: AccessRefused) -> None:
    """Show a refusal as a red notification, in the words of whoever refused."""
    ui.notify(exc.message, type="negative", multi_line=True)


async def confirmed(question: str, yes: str) -> bool:
    """Ask the owner to confirm a change in a dialog; return whether they did."""
    with ui.dialog() as dialog, ui.card():
        ui.label(question)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(yes, color="negative", on_click=lambda: dialog.submit(True))
    answer = await dialog
    dialog.delete()
    return answer is True


async def change_confirmed(
    question: str, yes: str, change: Callable[[], Awaitable[AccessChange]], done: str
) -> None:
    """Make a change once the owner confirms it, then say `done`, or why it was refused."""
    if not await confirmed(question, yes):
        return
    try:
        await change()
    except AccessRefused as exc:
        refused(exc)
        return
    ui.notify(done, type="positive")
