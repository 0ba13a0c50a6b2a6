"""The hash chain of an append-only table: each record names the SHA-256 of the one before.

A record's `hash` is the hex SHA-256 over its `prev` (the hash of the record before it; 64
zeros for the first) followed by the record's canonical JSON (sorted keys, no spaces, ASCII).
Editing a record breaks its own hash; rehashing it, inserting or removing one breaks the
`prev` of the record after it. The chain cannot show records cut off the end, and anyone who
may write the table can rebuild the whole chain: it shows edits, it does not prevent them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

GENESIS = "0" * 64
"""The `prev` of the first record."""


class ChainBroken(Exception):
    """A chained record was edited, inserted or removed; `seq` names the first record found."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"record {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class Link(NamedTuple):
    """One chained record as stored: its sequence number, its fields, `prev` and `hash`."""

    seq: int
    record: Mapping[str, Any]
    prev: str
    hash: str


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Return the record's canonical JSON: sorted keys, no spaces, ASCII."""
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def record_hash(prev: str, record: Mapping[str, Any]) -> str:
    """Return the hash of a record that follows the record hashed `prev`."""
    return hashlib.sha256(prev.encode() + canonical_json(record)).hexdigest()


def verify_chain(links: Iterable[Link]) -> int:
    """Check links in sequence order and return how many there are.

    Raise ChainBroken naming the first record whose `prev` is not the hash of the record
    before it, or whose `hash` is not the hash of its own fields.
    """
    prev, count, before = GENESIS, 0, None
    for link in links:
        if link.prev != prev:
            where = "the start of the chain" if before is None else f"record {before}"
            raise ChainBroken(link.seq, f"does not follow {where}: a record was edited, "
                              "inserted or removed before it")
        if record_hash(link.prev, link.record) != link.hash:
            raise ChainBroken(link.seq, "its contents do not match its hash: it was edited")
        prev, count, before = link.hash, count + 1, link.seq
    return count
