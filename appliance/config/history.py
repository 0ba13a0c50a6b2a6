"""Every version of what the owner configured: who set it, when, and what changed.

Each change stores the whole new version of its target (a pair's settings, a bot's risk
limits); the change itself is the difference from the version before. The first change of a
target stores the version it replaced first, as set before the box kept history, so that
version can be restored too. Any version can be set again, which is itself a new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

BEFORE_HISTORY = "as provisioned"
"""The actor of a target's first version, which was set before any change was recorded."""


@dataclass(frozen=True)
class Version:
    """One version of a target's settings."""

    id: int
    ts: float
    actor: str
    fingerprint: str
    target: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One setting that differs between two versions; None where it did not exist."""

    path: str
    before: Any
    after: Any


def pair_target(bot: str, exchange: str, symbol: str) -> str:
    """Return the history's name for a pair's settings."""
    return f"pair {bot} {exchange} {symbol}"


def risk_target(bot: str) -> str:
    """Return the history's name for a bot's risk limits."""
    return f"risk {bot}"


def record(db: sqlite_utils.Database, ts: float, actor: str, fingerprint: str, target: str,
           settings: dict[str, Any], replaced: dict[str, Any]) -> int:
    """Store a new version of `target`; the first time, store the version it replaced first.

    Call inside the transaction that writes the settings themselves. Return the new id.
    """
    if not versions(db, target):
        _insert(db, ts, BEFORE_HISTORY, "", target, replaced)
    return _insert(db, ts, actor, fingerprint, target, settings)


def versions(db: sqlite_utils.Database, target: str) -> list[Version]:
    """Return every version of a target, oldest first."""
    rows = db.execute("SELECT id, ts, actor, fingerprint, target, settings FROM config_history "
                      "WHERE target = ? ORDER BY id", [target]).fetchall()
    return [_version(row) for row in rows]


def version(db: sqlite_utils.Database, version_id: int) -> Version | None:
    """Return one version by its id."""
    row = db.execute("SELECT id, ts, actor, fingerprint, target, settings FROM config_history "
                     "WHERE id = ?", [version_id]).fetchone()
    return None if row is None else _version(row)


def diff(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[Change]:
    """Return what differs between two versions, setting by setting (nested keys dotted)."""
    changes: list[Change] = []
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(diff(old, new, f"{path}."))
        elif old != new:
            changes.append(Change(path, old, new))
    return changes


def _insert(db: sqlite_utils.Database, ts: float, actor: str, fingerprint: str, target: str,
            settings: dict[str, Any]) -> int:
    cursor = db.execute(
        "INSERT INTO config_history (ts, actor, fingerprint, target, settings) "
        "VALUES (?, ?, ?, ?, ?)", [ts, actor, fingerprint, target,
                                   json.dumps(settings, sort_keys=True)])
    return int(cursor.lastrowid or 0)


def _version(row: Any) -> Version:
    version_id, ts, actor, fingerprint, target, settings = row
    return Version(int(version_id), float(ts), actor, fingerprint, target, json.loads(settings))
