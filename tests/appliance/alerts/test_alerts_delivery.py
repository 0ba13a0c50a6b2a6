"""A channel's queue: in order, retried while down, the oldest dropped when it overflows."""

from __future__ import annotations

import asyncio
import time

import pytest

from appliance.alerts.delivery import ChannelDown, Outbox, Undeliverable, redact
from appliance.pacing.backoff import Backoff
from appliance.pacing.token_bucket import TokenBucket


class Channel:
    """A channel that is down for its first `down` tries, and refuses the items in `refused`."""

    def __init__(self, down: int = 0, refused: tuple[int, ...] = ()) -> None:
        self.down = down
        self.refused = refused
        self.tries: list[int] = []
        self.taken: list[int] = []
        self.open = asyncio.Event()
        self.open.set()

    async def deliver(self, item: int) -> None:
        """Take one item, once the channel is open, unless it is down or refuses the item."""
        await self.open.wait()
        self.tries.append(item)
        if self.down:
            self.down -= 1
            raise ChannelDown("receiver answered 503")
        if item in self.refused:
            raise Undeliverable("receiver answered 400")
        self.taken.append(item)


def outbox(channel: Channel, limit: int = 100, per_s: float = 1000.0) -> Outbox[int]:
    """Return an outbox onto the channel that retries fast."""
    return Outbox("test", channel.deliver, Backoff(0.01, 0.05),
                  TokenBucket(1, per_s, time.monotonic()), limit)


async def drain(box: Outbox[int], channel: Channel, count: int,
                task: asyncio.Task[None] | None = None) -> None:
    """Run the outbox (or let its running task go on) until the channel took `count` items."""
    task = task or asyncio.create_task(box.run())
    try:
        deadline = time.monotonic() + 5
        while len(channel.taken) < count:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        task.cancel()


async def test_messages_go_in_order_after_the_channel_comes_back() -> None:
    channel = Channel(down=4)
    box = outbox(channel)
    for item in range(3):
        box.put(item)
    await drain(box, channel, 3)
    assert channel.taken == [0, 1, 2]
    assert channel.tries == [0, 0, 0, 0, 0, 1, 2]


async def test_a_refused_message_is_dropped_and_the_next_goes(
        caplog: pytest.LogCaptureFixture) -> None:
    channel = Channel(refused=(1,))
    box = outbox(channel)
    for item in range(3):
        box.put(item)
    await drain(box, channel, 2)
    assert channel.taken == [0, 2]
    assert "test: a message was dropped: receiver answered 400" in caplog.text


async def test_a_full_queue_drops_its_oldest_messages() -> None:
    channel = Channel()
    channel.open.clear()
    box = outbox(channel, limit=3)
    task = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    for item in range(6):
        box.put(item)
        await asyncio.sleep(0)
    channel.open.set()
    await drain(box, channel, 4, task)
    assert channel.taken == [0, 3, 4, 5] and box.dropped == 2


async def test_the_bucket_paces_a_burst() -> None:
    channel = Channel()
    box = outbox(channel, per_s=20.0)
    started = time.monotonic()
    for item in range(5):
        box.put(item)
    await drain(box, channel, 5)
    assert time.monotonic() - started >= 4 / 20.0 * 0.9


def test_secrets_are_redacted() -> None:
    assert redact("POST /bot123:ABC/sendMessage failed", "123:ABC", None, "") == (
        "POST /bot***/sendMessage failed")
