"""A table whose rows may each have one button, Revoke or Remove, that asks to confirm."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from ui.components.number_table import Column


def action_cell(label: str, event: str, flag: str) -> str:
    """Return the cell of a row's button: shown where the row's `flag` is true, it sends the
    row's key to the server as `event`, and the server asks to confirm."""
    return (f'<q-td :props="props"><q-btn v-if="props.row.{flag}" flat dense no-caps '
            f'color="negative" label="{label}" '
            f'@click="() => $parent.$emit(\'{event}\', props.row.key)" /></q-td>')


class RevokeTable(ui.table):
    """A table with a button on each row whose `flag` field is true: by default Revoke, on the
    users and tokens not revoked yet (`live`); Remove, on accounts and pairs, for instance."""

    def __init__(self, columns: Sequence[Column], empty: str,
                 act: Callable[[dict[str, Any]], Awaitable[None]], label: str = "Revoke",
                 flag: str = "live") -> None:
        event = label.lower()
        specs = [column.spec() for column in columns]
        super().__init__(rows=[], columns=[*specs, {"name": event, "label": "",
                                                    "field": "key"}], row_key="key")
        self._flag = flag
        self.props(f'dense flat bordered no-data-label="{empty}"').classes("w-full")
        self.add_slot(f"body-cell-{event}", action_cell(label, event, flag))
        self.on(event, lambda e: self._act(e.args, act))

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Show these rows, sending nothing to the browser if they did not change."""
        if rows != self.rows:
            self.rows = rows
            self.update()

    async def _act(self, key: Any, act: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Act on the row the browser names, if it is one shown with its button."""
        row = next((r for r in self.rows if r["key"] == key and r[self._flag]), None)
        if row is not None:
            await act(row)
