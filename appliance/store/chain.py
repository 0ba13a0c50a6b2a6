"""The hash chain of an append-only table: each record names the SHA-256 of the one before.

A record's `hash` is the hex SHA-256 over its `prev` (the hash of the record before it; 64
zeros for the first) followed by the record's canonical JSON (sorted keys, no spaces, ASCII).
Editing a record breaks its own hash; rehashing it, inserting or removing one breaks the
`prev` of the record after it. The chain cannot show records cut off the end, and anyone who
may write the table can rebuild the whole chain: it shows edits, it does not prevent them.

Both chained tables number their records 1, 2, 3... in a `seq` field that the hash covers, so
where a chain breaks also tells how (`explain`): a record edited, deleted, inserted or moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

GENESIS = "0" * 64
"""The `prev` of the first record."""

RENUMBER_SEARCH = 256
"""How far a record's `seq` is searched for the number it was hashed under (rows renumbered
after a deletion)."""


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


class Head(NamedTuple):
    """The last record of a chain checked or written so far: its seq and hash."""

    seq: int
    hash: str


START = Head(0, GENESIS)
"""The head of a chain with no record yet."""


class Breach(StrEnum):
    """How a chain was broken."""

    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"


class Break(NamedTuple):
    """Where a chain breaks (the record edited, inserted, moved or missing), how, and why."""

    seq: int
    breach: Breach
    detail: str


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Return the record's canonical JSON: sorted keys, no spaces, ASCII."""
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def record_hash(prev: str, record: Mapping[str, Any]) -> str:
    """Return the hash of a record that follows the record hashed `prev`."""
    return hashlib.sha256(prev.encode() + canonical_json(record)).hexdigest()


def follow_chain(links: Iterable[Link], head: Head = START) -> tuple[Head, int]:
    """Check links in sequence order after `head`; return the new head and how many there were.

    Raise ChainBroken naming the first record whose `prev` is not the hash of the record
    before it, or whose `hash` is not the hash of its own fields.
    """
    count = 0
    for link in links:
        if link.prev != head.hash:
            where = "the start of the chain" if head.seq == 0 else f"record {head.seq}"
            raise ChainBroken(link.seq, f"does not follow {where}: a record was edited, "
                              "inserted or removed before it")
        if record_hash(link.prev, link.record) != link.hash:
            raise ChainBroken(link.seq, "its contents do not match its hash: it was edited")
        head, count = Head(link.seq, link.hash), count + 1
    return head, count


def verify_chain(links: Iterable[Link]) -> int:
    """Check a whole chain in sequence order and return how many records it holds.

    Raise ChainBroken as `follow_chain` does.
    """
    return follow_chain(links)[1]


def explain(head: Head, link: Link, after: Link | None,
            source_of: Callable[[str], int | None]) -> Break:
    """Return where and how the chain breaks at `link`, the first record that fails after `head`.

    `after` is the record stored after `link`, if any; `source_of(hash)` returns the seq of the
    stored record with that hash, if any.
    """
    source = source_of(link.prev) if link.prev else None
    if source is not None and source > link.seq:
        return Break(link.seq, Breach.REORDERED, f"it was chained after row {source}")
    if after is not None and after.prev == head.hash:
        return Break(link.seq, Breach.INSERTED,
                     f"row {after.seq} is chained to {_row(head.seq)}, not to it")
    if link.prev == head.hash:
        return Break(link.seq, Breach.EDITED, "its contents do not match its hash")
    if source is not None and source < head.seq:
        return Break(source + 1, Breach.INSERTED,
                     f"row {link.seq} is chained to row {source}, not to the rows before it")
    if link.seq > head.seq + 1:
        gone = (f"row {head.seq + 1} is" if link.seq == head.seq + 2
                else f"rows {head.seq + 1} to {link.seq - 1} are")
        return Break(head.seq + 1, Breach.DELETED, f"{gone} missing before row {link.seq}")
    intact = record_hash(link.prev, link.record) == link.hash
    if intact and head.seq > 0:
        return Break(head.seq, Breach.EDITED,
                     f"it was rehashed: row {link.seq} is chained to its old contents")
    moved = 0 if intact else _renumbered_by(link)
    if moved:
        return Break(link.seq, Breach.DELETED, f"it was row {link.seq + moved}: rows before it "
                     "were deleted and the rest renumbered")
    return Break(link.seq, Breach.EDITED, "it is chained to no row that is stored")


def _renumbered_by(link: Link) -> int:
    """Return how many places the record moved down from the seq it was hashed under, or 0."""
    for shift in range(1, RENUMBER_SEARCH + 1):
        if record_hash(link.prev, {**link.record, "seq": link.seq + shift}) == link.hash:
            return shift
    return 0


def _row(seq: int) -> str:
    """Return how a message names the record `seq`, or the start of the chain for 0."""
    return "the start of the chain" if seq == 0 else f"row {seq}"
