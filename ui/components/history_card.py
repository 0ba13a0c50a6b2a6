"""The history of a pair's settings or a bot's risk limits: every version, newest first, with
what it changed, and (for an owner) a way to set an earlier version again."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from appliance.config.history import Change, Version, diff
from appliance.ipc import IpcError
from ui.components.change_prompts import confirmed
from ui.components.formats import NOTHING


@dataclass(frozen=True)
class ConfigChange:
    """What a change of settings did: the version it made (None when nothing changed), whether
    a running bot took it already, and each setting it changed."""

    version: int | None
    applied: bool
    changes: tuple[Change, ...]

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> ConfigChange:
        """Return the supervisor's answer to a config op as a change."""
        version = answer.get("version")
        return cls(version if isinstance(version, int) else None, answer.get("applied") is True,
                   tuple(Change(str(c.get("path")), c.get("before"), c.get("after"))
                         for c in answer.get("changes", ()) if isinstance(c, dict)))

    def summary(self) -> str:
        """Return what the change did, in a sentence."""
        if self.version is None:
            return "Nothing changed: these are already the settings in force."
        taken = ("the running bot took it" if self.applied else
                 "the bot takes it when it next starts")
        return (f"Saved as version {self.version} ({taken}): "
                + "; ".join(change_line(change) for change in self.changes))


@dataclass(frozen=True)
class VersionView:
    """One version as the history shows it."""

    id: int
    when: str
    actor: str
    changes: tuple[str, ...]
    current: bool


def shown(value: Any) -> str:
    """Return a setting's value as the history writes it; a dash where it did not exist."""
    if value is None:
        return NOTHING
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def change_line(change: Change) -> str:
    """Return one change as 'path: before → after'."""
    return f"{change.path}: {shown(change.before)} → {shown(change.after)}"


def version_views(versions: Sequence[Version]) -> list[VersionView]:
    """Return a history's versions (oldest first, as stored) newest first, each with what it
    changed from the one before; the newest is the one in force."""
    views = []
    before: dict[str, Any] = {}
    for number, version in enumerate(versions, start=1):
        views.append(VersionView(
            version.id, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(version.ts)),
            version.actor or NOTHING,
            tuple(change_line(change) for change in diff(before, version.settings)),
            number == len(versions)))
        before = version.settings
    return views[::-1]


class HistoryCard(ui.card):
    """Every version of one target's settings, newest first.

    With `restore` (an owner's page), each earlier version has "Restore this version": once
    confirmed, it asks `restore` for that version, says how it went, and calls `restored`.
    """

    def __init__(self, restore: Callable[[int], Awaitable[ConfigChange]] | None,
                 restored: Callable[[], None]) -> None:
        super().__init__()
        self._restore = restore
        self._restored = restored
        self.classes("gap-2")
        with self:
            ui.label("History").classes("text-subtitle1")
            self._versions = ui.column().classes("w-full gap-3")

    def show(self, versions: Sequence[Version]) -> None:
        """Show these versions, as stored (oldest first)."""
        self._versions.clear()
        views = version_views(versions)
        with self._versions:
            if not views:
                ui.label("No change recorded yet: the settings are as provisioned.").classes(
                    "text-caption text-grey-8")
            for view in views:
                self._version(view)

    def _version(self, view: VersionView) -> None:
        with ui.column().classes("w-full gap-0").mark(f"version-{view.id}"):
            in_force = " · in force" if view.current else ""
            ui.label(f"Version {view.id} · {view.when} UTC · {view.actor}{in_force}").classes(
                "text-body2 text-weight-medium")
            for line in view.changes:
                ui.label(line).classes("text-caption font-mono break-all")
            if self._restore is not None and not view.current:
                ui.button("Restore this version",
                          on_click=lambda: self._ask_restore(view.id)).props("flat dense")

    async def _ask_restore(self, version: int) -> None:
        if self._restore is None or not await confirmed(
                f"Set version {version} again? It becomes a new version, and a running bot "
                "takes it at its next cycle.", f"Restore version {version}"):
            return
        try:
            change = await self._restore(version)
        except IpcError as exc:
            ui.notify(f"Version {version} was not restored: {exc.message}", type="negative",
                      multi_line=True)
            return
        ui.notify(f"Version {version} is set again. {change.summary()}", type="positive",
                  multi_line=True)
        self._restored()
