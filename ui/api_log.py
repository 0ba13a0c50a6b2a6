"""Follow one bot's exchange API log (api.log, rotated to api.log.1) without re-reading it.

The bot appends one JSON line per REST request. The panel keeps the newest requests in memory
and, on each call, reads only the bytes appended since: a whole file is read backwards, and only
as far as needed, when the panel starts following it or the bot has rotated it.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice, takewhile
from pathlib import Path
from typing import BinaryIO, ClassVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from ui.const import API_LOG_MAX_LIMIT, API_LOG_WINDOW, LogState

BLOCK_BYTES = 64 * 1024
"""How much of a file one read takes when reading it backwards."""

FOLLOW_BYTES = 1024 * 1024
"""Appended bytes beyond this are skipped: the newest requests are read backwards instead."""

NO_REQUESTS = "no exchange requests yet"
"""Why a bot's request table is empty before its first request."""


@dataclass(frozen=True)
class ApiRequest:
    """One REST request of the bot: when, what, the answer's status, used weight and latency."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(strict=True)

    ts: float
    method: str
    path: str
    status: int | None
    weight: int | None = None
    ms: float | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        """Return whether the request got no answer or an answer other than 2xx."""
        return self.error is not None or self.status is None or not 200 <= self.status < 300


@dataclass(frozen=True)
class ApiSummary:
    """The last minute of a bot's requests, the latest used weight, when the newest was made."""

    requests: int = 0
    errors: int = 0
    weight: int | None = None
    last: float | None = None


@dataclass(frozen=True)
class ApiLogView:
    """A bot's newest requests, newest first, with their summary, or why there are none."""

    log: LogState
    detail: str
    summary: ApiSummary
    entries: tuple[ApiRequest, ...]


REQUEST = TypeAdapter(ApiRequest)


def parse_request(line: bytes) -> ApiRequest | None:
    """Return the request a log line records, or None for a line that is not one."""
    try:
        return REQUEST.validate_json(line)
    except ValidationError:
        return None


def parse_requests(lines: Iterable[bytes]) -> Iterator[ApiRequest]:
    """Yield the requests of these lines, skipping the malformed ones."""
    for line in lines:
        request = parse_request(line)
        if request is not None:
            yield request


def lines_backward(log: BinaryIO, end: int) -> Iterator[bytes]:
    """Yield the lines of a file before offset `end`, newest first, the last one even unended."""
    position, head = end, b""
    while position > 0:
        start = max(0, position - BLOCK_BYTES)
        log.seek(start)
        lines = (log.read(position - start) + head).split(b"\n")
        position, head = start, lines[0]
        yield from reversed(lines[1:])
    yield head


def summarize(oldest_first: Sequence[ApiRequest], now: float) -> ApiSummary:
    """Count the requests and failures of the minute before `now`; take the latest weight."""
    cutoff = now - API_LOG_WINDOW
    recent = list(takewhile(lambda request: request.ts >= cutoff, reversed(oldest_first)))
    weights = (r.weight for r in reversed(oldest_first) if r.weight is not None)
    return ApiSummary(
        requests=len(recent), errors=sum(r.failed for r in recent), weight=next(weights, None),
        last=oldest_first[-1].ts if oldest_first else None,
    )


def rotated(path: Path) -> Path:
    """Return where the bot moves its log when the log reaches its size limit."""
    return path.with_name(path.name + ".1")


def rotated_lines(path: Path) -> Generator[bytes]:
    """Yield the lines of a log's rotated file, newest first; nothing if there is none."""
    try:
        with open(rotated(path), "rb") as older:
            yield from lines_backward(older, os.fstat(older.fileno()).st_size)
    except FileNotFoundError:
        return


def enough(newest_first: Iterable[ApiRequest], now: float) -> Iterator[ApiRequest]:
    """Yield requests until there are as many as the panel keeps and all of the last minute."""
    cutoff = now - API_LOG_WINDOW
    for count, request in enumerate(newest_first):
        if count >= API_LOG_MAX_LIMIT and request.ts < cutoff:
            return
        yield request


class ApiLogTail:
    """One bot's newest exchange requests, read as the bot appends them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._requests: deque[ApiRequest] = deque()  # oldest first
        self._file: tuple[int, int] | None = None  # (device, inode) of the api.log followed
        self._offset = 0  # the end of its last complete line read

    def read(self, limit: int, now: float) -> ApiLogView:
        """Catch up and return the newest `limit` requests and the last minute's summary."""
        try:
            self.catch_up(now)
        except OSError as exc:
            self._file, self._requests = None, deque()
            return ApiLogView(LogState.UNREADABLE, f"cannot read {self.path}: "
                              f"{exc.strerror or exc}", ApiSummary(), ())
        if self._file is None and not self._requests:
            return ApiLogView(LogState.MISSING, NO_REQUESTS, ApiSummary(), ())
        return ApiLogView(LogState.READ, "", summarize(self._requests, now),
                          tuple(islice(reversed(self._requests), limit)))

    def catch_up(self, now: float) -> None:
        """Read what the bot appended since the last call, or the newest requests afresh."""
        try:
            with open(self.path, "rb") as log:
                self._follow(log, now)
        except FileNotFoundError:
            # The bot has not made a request yet, or is between moving and reopening its log.
            self._restart(None, now)
        self._forget(now)

    def _follow(self, log: BinaryIO, now: float) -> None:
        """Read the lines appended since the last call, if this is the file read then."""
        stat = os.fstat(log.fileno())
        appended = stat.st_size - self._offset
        if self._file != (stat.st_dev, stat.st_ino) or not 0 <= appended <= FOLLOW_BYTES:
            self._restart(log, now)
            return
        log.seek(self._offset)
        chunk = log.read(appended)
        complete = chunk.rfind(b"\n") + 1
        self._offset += complete
        self._requests.extend(parse_requests(chunk[:complete].split(b"\n")))

    def _restart(self, log: BinaryIO | None, now: float) -> None:
        """Read the newest requests backwards from the end of api.log, then of api.log.1."""
        newer: Iterator[bytes] = iter(())
        self._file, self._offset = None, 0
        if log is not None:
            stat = os.fstat(log.fileno())
            newer = lines_backward(log, stat.st_size)
            unended = next(newer)  # the bot may be writing this line right now
            self._file, self._offset = (stat.st_dev, stat.st_ino), stat.st_size - len(unended)
        older = rotated_lines(self.path)
        try:
            newest_first = list(enough(parse_requests(chain(newer, older)), now))
        finally:
            older.close()
        self._requests = deque(reversed(newest_first))

    def _forget(self, now: float) -> None:
        """Drop the oldest requests beyond what the panel keeps and older than a minute."""
        cutoff = now - API_LOG_WINDOW
        while len(self._requests) > API_LOG_MAX_LIMIT and self._requests[0].ts < cutoff:
            self._requests.popleft()
