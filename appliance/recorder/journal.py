"""A bot's input journal: the inputs of its decisions, one JSON line each, in bounded segments.

An entry is one compact line `[ts, kind, payload]`: floats go through orjson and back exactly
(JSON has no NaN or infinity: orjson writes them as null), and a payload JSON cannot carry
exactly (a Decimal, a key that is not a string) is refused with a TypeError. Lines are
buffered and reach the file at `flush`; nothing is synced per entry.

Segments are named `<seq>-<UTC start>.jsonl`, so name order is time order. A segment ends when
it would grow beyond `segment_bytes` or when an entry falls on a later UTC day. When one
starts, the first after opening included, the oldest segments are deleted while the others
hold more than `limits.mib` or their newest entry is older than `limits.days` before the
entry being recorded. A crash can tear a segment's last line: readers skip it, and a
reopened journal writes only to new segments.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import dropwhile, pairwise
from pathlib import Path
from typing import Any

import orjson

from appliance.recorder.limits import RecorderLimits
from appliance.risk.window import DAY_S

SEGMENT_BYTES = 16 * 1024 * 1024
"""A segment this large ends; the next entry starts a new one."""

BUFFER_BYTES = 64 * 1024
"""Lines held in memory between writes to the segment file."""

FILE_MODE = 0o640
"""The bot's group may read its journal: the panel does, as with `api.log`."""

DIR_MODE = 0o750
"""The journal's folder, readable by the bot's group as its files are."""

MIB = 1024 * 1024

_NAME = re.compile(r"(\d{12})-(\d{8}T\d{6}Z)\.jsonl")
_STAMP = "%Y%m%dT%H%M%SZ"


class JournalError(Exception):
    """A segment of the journal holds a line that is not an entry, before its last line."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One recorded input: when, what kind, and the payload as it was received."""

    ts: float
    kind: str
    payload: Any


@dataclass(frozen=True)
class SegmentFile:
    """A segment file: its sequence number and the second its first entry fell in."""

    path: Path
    seq: int
    start: int

    @staticmethod
    def name(seq: int, ts: float) -> str:
        """Return the file name of segment `seq` whose first entry is at `ts`."""
        return f"{seq:012d}-{datetime.fromtimestamp(math.floor(ts), UTC):{_STAMP}}.jsonl"

    @classmethod
    def parse(cls, path: Path) -> SegmentFile | None:
        """Return the segment a path names, or None for another file."""
        match = _NAME.fullmatch(path.name)
        if match is None:
            return None
        start = datetime.strptime(match[2], _STAMP).replace(tzinfo=UTC).timestamp()
        return cls(path, int(match[1]), int(start))


@dataclass
class _Kept:
    """An ended segment the journal may delete: its size and the time of its newest entry."""

    path: Path
    size: int
    newest: float


@dataclass
class _Open:
    """The segment being written: its file, its size so far, when its UTC day ends."""

    path: Path
    file: io.BufferedWriter[io.FileIO]
    day_end: float
    size: int = 0


def segment_files(directory: Path) -> list[SegmentFile]:
    """Return the journal's segments, oldest first."""
    if not directory.is_dir():
        return []
    found = (SegmentFile.parse(path) for path in directory.iterdir())
    return sorted((segment for segment in found if segment is not None), key=lambda s: s.seq)


class InputJournal:
    """The one writer of a bot's input journal: appends entries, ends and deletes segments."""

    def __init__(self, directory: Path, limits: RecorderLimits, *,
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        found = segment_files(directory)
        self.directory = directory
        self.limits = limits
        self.segment_bytes = segment_bytes
        self._kept = _scan(found)
        self._next_seq = found[-1].seq + 1 if found else 1
        self._open: _Open | None = None
        self._last_ts = -math.inf

    def __enter__(self) -> InputJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, ts: float, kind: str, payload: Any) -> None:
        """Append one entry; it reaches the file at the next flush."""
        line = orjson.dumps((ts, kind, payload), option=orjson.OPT_APPEND_NEWLINE)
        segment = self._open
        if (segment is None or ts >= segment.day_end
                or (segment.size and segment.size + len(line) > self.segment_bytes)):
            segment = self._start_segment(ts)
        segment.file.write(line)
        segment.size += len(line)
        self._last_ts = ts

    def flush(self) -> None:
        """Hand the buffered entries to the operating system, without syncing them."""
        if self._open is not None:
            self._open.file.flush()

    def close(self) -> None:
        """Write and sync the buffered entries and end the segment; a later entry starts one."""
        segment, self._open = self._open, None
        if segment is None:
            return
        with segment.file:
            segment.file.flush()
            os.fsync(segment.file.fileno())
        self._kept.append(_Kept(segment.path, segment.size, self._last_ts))

    def _start_segment(self, ts: float) -> _Open:
        """End the current segment, delete what the limits no longer keep, and start anew."""
        self.close()
        self._prune(ts)
        path = self.directory / SegmentFile.name(self._next_seq, ts)
        self._next_seq += 1
        # O_EXCL: a journal never appends to a file it did not start, nor after a torn line.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(path, flags, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # whatever the umask of a development shell
        file = io.BufferedWriter(io.FileIO(fd, "w"), BUFFER_BYTES)
        self._open = _Open(path, file, (ts // DAY_S + 1) * DAY_S)
        return self._open

    def _prune(self, now: float) -> None:
        """Delete the oldest ended segments while they hold too much or are too old."""
        cutoff = now - self.limits.days * DAY_S
        total = sum(kept.size for kept in self._kept)
        while self._kept and (total > self.limits.mib * MIB or self._kept[0].newest < cutoff):
            oldest = self._kept.pop(0)
            oldest.path.unlink(missing_ok=True)
            total -= oldest.size


def _scan(found: list[SegmentFile]) -> list[_Kept]:
    """Return the segments a journal finds when it opens, with the time of their newest entry.

    A segment's entries all come before the next segment starts, so its successor's start
    (plus the second the name rounds away) bounds them; the last one's is read from its end.
    """
    kept = [_Kept(older.path, older.path.stat().st_size, newer.start + 1)
            for older, newer in pairwise(found)]
    if found:
        last = found[-1]
        kept.append(_Kept(last.path, last.path.stat().st_size, _last_ts(last)))
    return kept


def _last_ts(segment: SegmentFile) -> float:
    """Return the time of a segment's last whole entry, or its start when none can be read."""
    last = b""
    with segment.path.open("rb") as file:
        for line in file:
            if line.endswith(b"\n"):
                last = line
    try:
        return float(orjson.loads(last)[0])
    except (orjson.JSONDecodeError, LookupError, TypeError, ValueError):
        return segment.start


def read_journal(directory: Path, since: float | None = None) -> Iterator[JournalEntry]:
    """Yield the journal's entries oldest first, from the first at or after `since`.

    A torn last line of a segment is skipped; any other line that is not an entry raises
    JournalError.
    """
    found = segment_files(directory)
    entries = (entry for segment in (found if since is None else _holding(found, since))
               for entry in _read_segment(segment.path))
    yield from entries if since is None else dropwhile(lambda entry: entry.ts < since, entries)


def _holding(found: list[SegmentFile], since: float) -> list[SegmentFile]:
    """Return the segments from the first that may hold an entry at or after `since`.

    Entries are recorded in time order: a segment whose successor started (within the second
    its name rounds away) before `since` holds none.
    """
    for index, newer in enumerate(found[1:]):
        if newer.start + 1 > since:
            return found[index:]
    return found[-1:]


def _read_segment(path: Path) -> Iterator[JournalEntry]:
    """Yield one segment's entries, skipping a torn last line."""
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.endswith(b"\n"):
                return
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            if not (isinstance(entry, list) and len(entry) == 3
                    and isinstance(entry[0], int | float) and isinstance(entry[1], str)):
                raise JournalError(
                    f"{path} line {number} is not a journal entry, and entries follow it: the "
                    f"segment is damaged there. Move {path.name} out of {path.parent} to replay "
                    f"the other segments, or cut it before line {number} to keep the entries "
                    "above it")
            yield JournalEntry(*entry)
