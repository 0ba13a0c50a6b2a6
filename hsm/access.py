"""Which caller uid may sign with which key label, and which uids may manage keys."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TypeGuard

from hsm.labels import LABEL_RULE, is_label

UID_MAX = 2**32 - 2
"""The largest uid (2**32 - 1 stands for "no uid" in the kernel's calls)."""


class AccessSpecError(ValueError):
    """An --allow entry is not of the form UID=label1,label2."""


def default_admins() -> frozenset[int]:
    """Return the uids that manage keys unless told otherwise: root and the signer's own uid."""
    return frozenset({0, os.getuid()})


def is_uid(value: object) -> TypeGuard[int]:
    """Tell whether value is a uid: a whole number from 0 to UID_MAX (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= UID_MAX


@dataclass(frozen=True)
class AccessPolicy:
    """Labels each uid may use (a uid not listed may use none) and the uids that manage keys.

    A policy is never changed in place: `granted` and `without_label` return a new one, which
    the agent swaps in whole, so a request is checked against one policy or the other.
    """

    grants: dict[int, frozenset[str]] = field(default_factory=dict)
    admins: frozenset[int] = field(default_factory=default_admins)

    @classmethod
    def parse(cls, entries: Iterable[str], admins: Iterable[int] | None = None) -> AccessPolicy:
        """Build the policy from `UID=label1,label2` entries (a uid may appear more than once)."""
        grants: dict[int, set[str]] = {}
        for entry in entries:
            uid, labels = _parse_entry(entry)
            grants.setdefault(uid, set()).update(labels)
        chosen = default_admins() if admins is None else frozenset(admins)
        return cls({uid: frozenset(labels) for uid, labels in grants.items()}, chosen)

    def allows(self, uid: int, label: str) -> bool:
        """Tell whether uid may use the key `label`."""
        return label in self.grants.get(uid, frozenset())

    def is_admin(self, uid: int) -> bool:
        """Tell whether uid may import, generate, list, rename and delete keys."""
        return uid in self.admins

    def granted(self, uid: int, label: str) -> AccessPolicy:
        """Return this policy with uid also allowed to use `label`."""
        return replace(self, grants={**self.grants,
                                     uid: self.grants.get(uid, frozenset()) | {label}})

    def without_label(self, label: str) -> AccessPolicy:
        """Return this policy with `label` granted to no uid (its key is gone or renamed)."""
        return replace(self, grants={uid: labels - {label} for uid, labels in self.grants.items()
                                     if labels - {label}})


def _parse_entry(entry: str) -> tuple[int, list[str]]:
    """Split one `UID=label1,label2` entry."""
    uid_text, separator, labels_text = entry.partition("=")
    labels = [label for label in labels_text.split(",") if label]
    if not separator or not uid_text.isdigit() or not labels or not all(map(is_label, labels)):
        raise AccessSpecError(
            f"--allow {entry!r}: write UID=label1,label2, e.g. 6111=bot-1.sim.hmac ({LABEL_RULE})"
        )
    return int(uid_text), labels
