"""Deliver one channel's messages in order: retried with backoff, paced by a token bucket.

Each channel has one queue. The message at its head is tried until the channel takes it or
refuses it for good, so messages arrive in the order they were queued, once the channel is
back. A queue that outgrows its limit drops its oldest messages, and says so in the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from appliance.alerts.const import QUEUE_LIMIT
from appliance.pacing.backoff import Backoff
from appliance.pacing.token_bucket import TokenBucket

log = logging.getLogger(__name__)

Item = TypeVar("Item")

HIDDEN = "***"

RETRY_AFTER_MAX = 600.0
"""The longest wait a channel's "retry after" may ask for, in seconds."""


class ChannelDown(Exception):
    """The channel cannot take a message now: try again later. The text holds no secret."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The channel refused this message for good: it is dropped. The text holds no secret."""


def redact(text: str, *secrets: str | None) -> str:
    """Return `text` with every secret in it replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return text


class Outbox(Generic[Item]):
    """One channel's queue and the task that delivers it."""

    def __init__(self, name: str, deliver: Callable[[Item], Awaitable[None]], backoff: Backoff,
                 bucket: TokenBucket, limit: int = QUEUE_LIMIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._deliver = deliver
        self._backoff = backoff
        self._bucket = bucket
        self._clock = clock
        self._queue: asyncio.Queue[Item] = asyncio.Queue(limit)
        self._reason = ""
        self._trying = 0
        self.delivered = 0
        self.dropped = 0

    def put(self, item: Item) -> None:
        """Queue one message; when the queue is full, drop the oldest one first."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("%s: %d undelivered messages dropped so far: the queue is full "
                            "while the channel is down", self.name, self.dropped)
        self._queue.put_nowait(item)

    @property
    def waiting(self) -> int:
        """Return how many messages are not delivered yet, the one being tried included."""
        return self._queue.qsize() + self._trying

    async def run(self) -> None:
        """Deliver the queue, head first, until cancelled."""
        while True:
            item = await self._queue.get()
            self._trying = 1
            await self._send(item)
            self._trying = 0

    async def _send(self, item: Item) -> None:
        """Try one message until the channel takes it or refuses it for good."""
        while True:
            await self._paced()
            try:
                await self._deliver(item)
            except Undeliverable as exc:
                log.warning("%s: a message was dropped: %s", self.name, exc)
                return
            except ChannelDown as exc:
                await self._wait(str(exc), exc.retry_after)
                continue
            except Exception as exc:  # a fault of the channel's own: keep its text out of the log
                await self._wait(f"unexpected {type(exc).__name__}", 0.0)
                continue
            if self._backoff.failures:
                log.info("%s: delivering again after %d failed tries", self.name,
                         self._backoff.failures)
            self._backoff.reset()
            self._reason = ""
            self.delivered += 1
            return

    async def _wait(self, reason: str, retry_after: float) -> None:
        """Wait before the next try; log the reason when it is new."""
        delay = max(self._backoff.next_delay(), min(retry_after, RETRY_AFTER_MAX))
        if reason != self._reason:
            log.warning("%s: not delivered (%s); retrying, next in %.1f s", self.name, reason,
                        delay)
            self._reason = reason
        await asyncio.sleep(delay)

    async def _paced(self) -> None:
        """Wait until the bucket lets one more message go."""
        while not self._bucket.take(self._clock()):
            await asyncio.sleep(1.0 / self._bucket.per_second)
