"""The signer's audit log: append-only JSON lines, each chained to the SHA-256 of the line before.

Every line carries `prev`, the hex SHA-256 of the previous line's bytes (without its newline;
64 zeros for the first line), so editing, inserting or removing a line breaks the chain at the
line after it: `verify_audit` finds it. The chain cannot show a change to the newest line or
lines cut off the end until another line is written, and anyone who may write the file can
rebuild the whole chain: it shows edits, it does not prevent them.

Lines hold who (uid, pid), what (op, label), when and the outcome; never a message, a
signature, a secret or a PIN. Signatures are counted rather than written one by one (see
`Tally`), so a busy signer writes a few lines a minute.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

GENESIS = "0" * 64
"""The `prev` of the first line."""

_TAIL_CHUNK = 4096


class AuditBroken(Exception):
    """The audit log's chain is broken: a line was edited, inserted or removed."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"audit log line {line}: {reason}")
        self.line = line


def timestamp(seconds: float) -> str:
    """Return seconds since the epoch as an ISO 8601 UTC time with milliseconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def line_hash(line: bytes) -> str:
    """Return the hex SHA-256 the next line names as its `prev`."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


class AuditLog:
    """Append chained records to one file; the file is opened once and kept open."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._prev = self._chain_head()

    def record(self, event: str, fields: dict[str, Any], *, sync: bool = False) -> None:
        """Append one record; with sync, wait until it is on disk."""
        line = orjson.dumps({"ts": timestamp(self._clock()), "event": event, **fields,
                             "prev": self._prev})
        os.write(self._fd, line + b"\n")
        if sync:
            os.fsync(self._fd)
        self._prev = line_hash(line)

    def close(self) -> None:
        """Sync and close the file."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _chain_head(self) -> str:
        """Return the hash of the file's last line, ending a torn last line first."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return GENESIS
        tail = b""
        start = size
        while start > 0 and tail.count(b"\n") < 2:
            start = max(0, start - _TAIL_CHUNK)
            tail = os.pread(self._fd, size - start, start)
        if not tail.endswith(b"\n"):
            os.write(self._fd, b"\n")
            tail += b"\n"
        return line_hash(tail[:-1].rsplit(b"\n", 1)[-1])


def verify_audit(path: Path) -> int:
    """Check the whole chain of an audit log and return its number of records.

    Raise AuditBroken naming the first line whose `prev` does not match the line before it,
    or that is not a JSON object.
    """
    prev = GENESIS
    count = 0
    with path.open("rb") as log:
        for count, line in enumerate(log, start=1):
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise AuditBroken(count, "not a JSON record") from None
            if not isinstance(record, dict) or record.get("prev") != prev:
                raise AuditBroken(count, f"does not follow line {count - 1}: a line was "
                                  "edited, inserted or removed there")
            prev = line_hash(line)
    return count


class TallyKey(NamedTuple):
    """Whose requests a count is of, and how they ended."""

    uid: int
    pid: int
    op: str
    label: str | None
    outcome: str


@dataclass
class Tally:
    """Count requests per caller, op, label and outcome between two writes to the audit log."""

    since: float
    counts: Counter[TallyKey]

    @classmethod
    def start(cls, now: float) -> Tally:
        """Return an empty tally starting at now."""
        return cls(now, Counter())

    def add(self, key: TallyKey) -> int:
        """Count one request and return how many of its kind this tally holds."""
        self.counts[key] += 1
        return self.counts[key]

    def as_fields(self) -> dict[str, Any]:
        """Return the tally as the fields of one audit record."""
        return {"since": timestamp(self.since), "counts": [
            {**key._asdict(), "n": n} for key, n in sorted(
                self.counts.items(), key=lambda item: (item[0].uid, item[0].op,
                                                       item[0].label or "", item[0].outcome))
        ]}
