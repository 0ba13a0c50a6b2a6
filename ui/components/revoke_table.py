"""A table of users or tokens whose rows not revoked yet each have a Revoke button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from ui.components.number_table import Column

REVOKE_CELL = (
    '<q-td :props="props"><q-btn v-if="props.row.live" flat dense no-caps color="negative" '
    'label="Revoke" @click="() => $parent.$emit(\'revoke\', props.row.key)" /></q-td>')
"""A row's Revoke button: it sends the row's key to the server, which asks to confirm."""


class RevokeTable(ui.table):
    """A table of users or tokens with a Revoke button on each row not revoked yet."""

    def __init__(self, columns: Sequence[Column], empty: str,
                 revoke: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        specs = [column.spec() for column in columns]
        super().__init__(rows=[], columns=[*specs, {"name": "revoke", "label": "",
                                                    "field": "key"}], row_key="key")
        self.props(f'dense flat bordered no-data-label="{empty}"').classes("w-full")
        self.add_slot("body-cell-revoke", REVOKE_CELL)
        self.on("revoke", lambda event: self._revoke(event.args, revoke))

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Show these rows, sending nothing to the browser if they did not change."""
        if rows != self.rows:
            self.rows = rows
            self.update()

    async def _revoke(self, key: Any,
                      revoke: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Revoke the row the browser names, if it is one shown and not revoked yet."""
        row = next((r for r in self.rows if r["key"] == key and r["live"]), None)
        if row is not None:
            await revoke(row)
