"""A dense table whose number columns share their decimals, so the decimal points line up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from ui.components.formats import decimal_column


@dataclass(frozen=True)
class Column:
    """One column: a record key, its header, and for a number column the most decimals shown."""

    key: str
    label: str
    places: int | None = None

    def spec(self) -> dict[str, str]:
        """Return the column as QTable wants it: numbers right-aligned."""
        align = "left" if self.places is None else "right"
        return {"name": self.key, "label": self.label, "field": self.key, "align": align}

    def cells(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Return this column's text in every record."""
        values = [record[self.key] for record in records]
        if self.places is None:
            return [str(value) for value in values]
        return decimal_column(values, self.places)


def table_rows(
    columns: Sequence[Column], records: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """Return the records as table rows of text, keyed by position."""
    rows = [{"row": str(index)} for index in range(len(records))]
    for column in columns:
        for row, cell in zip(rows, column.cells(records), strict=True):
            row[column.key] = cell
    return rows


class NumberTable(ui.table):
    """A dense, borderless table of text and aligned numbers; says `empty` when it has no rows."""

    def __init__(self, columns: Sequence[Column], empty: str) -> None:
        super().__init__(rows=[], columns=[column.spec() for column in columns], row_key="row")
        self._columns = tuple(columns)
        self.props(f'dense flat bordered no-data-label="{empty}"').classes("w-full tabular-nums")

    def show(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Show these records, sending nothing to the browser if they did not change."""
        rows = table_rows(self._columns, records)
        if rows != self.rows:
            self.rows = rows
            self.update()
