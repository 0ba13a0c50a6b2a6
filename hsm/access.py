"""Which caller uid may sign with which key label."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class AccessSpecError(ValueError):
    """An --allow entry is not of the form UID=label1,label2."""


@dataclass(frozen=True)
class AccessPolicy:
    """Labels each uid may use; a uid not listed may use none."""

    grants: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AccessPolicy:
        """Build the policy from `UID=label1,label2` entries (a uid may appear more than once)."""
        grants: dict[int, set[str]] = {}
        for entry in entries:
            uid, labels = _parse_entry(entry)
            grants.setdefault(uid, set()).update(labels)
        return cls({uid: frozenset(labels) for uid, labels in grants.items()})

    def allows(self, uid: int, label: str) -> bool:
        """Tell whether uid may use the key `label`."""
        return label in self.grants.get(uid, frozenset())


def _parse_entry(entry: str) -> tuple[int, list[str]]:
    """Split one `UID=label1,label2` entry."""
    uid_text, separator, labels_text = entry.partition("=")
    labels = [label for label in labels_text.split(",") if label]
    if not separator or not uid_text.isdigit() or not labels:
        raise AccessSpecError(
            f"--allow {entry!r}: write UID=label1,label2 (e.g. 6111=bot-1.sim.hmac)"
        )
    return int(uid_text), labels
