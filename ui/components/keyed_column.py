"""A column holding one element per key (a card per bot, a line per pair), kept in step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from nicegui import ui

E = TypeVar("E", bound=ui.element)


class KeyedColumn(ui.column, Generic[E]):
    """A column whose elements follow a list of keys: new keys get one, dropped keys lose theirs."""

    def __init__(self) -> None:
        super().__init__()
        self._items: dict[str, E] = {}

    def follow(self, keys: Sequence[str], make: Callable[[str], E]) -> list[E]:
        """Drop the elements of dropped keys, make those of new keys; return them in key order."""
        for key in set(self._items) - set(keys):
            self._items.pop(key).delete()
        for key in keys:
            if key not in self._items:
                with self:
                    self._items[key] = make(key)
        return [self._items[key] for key in keys]
