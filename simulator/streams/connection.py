"""One websocket client of the simulator: what it listens to, its outbox, and its faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 10_000
"""Messages a client may fall behind by; a slower client is disconnected, as Binance does."""


class StreamConnection:
    """A websocket connection: its streams, its outgoing queue and writer, and whether it is
    stale (sending nothing) or dropped."""

    def __init__(
        self, number: int, ws: web.WebSocketResponse, request: web.Request, combined: bool
    ) -> None:
        self.number = number
        self.combined = combined
        self.streams: set[str] = set()
        self.stale_until = 0.0
        self._ws = ws
        self._request = request
        self._outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_LIMIT)
        self._writer = asyncio.create_task(self._write())

    @property
    def stale(self) -> bool:
        """Return whether the connection is silent now."""
        return time.monotonic() < self.stale_until

    def go_stale(self, seconds: float) -> None:
        """Send no data for a while, keeping the connection open."""
        self.stale_until = time.monotonic() + seconds

    def frame(self, stream: str, payload: str) -> str:
        """Return a stream payload as this connection receives it: raw or combined."""
        if self.combined:
            return f'{{"stream":"{stream}","data":{payload}}}'
        return payload

    def send(self, text: str, data: bool = True) -> None:
        """Queue a message; data is not sent while stale, and a client too far behind is cut."""
        if self._ws.closed or (data and self.stale):
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.info(
                "websocket client %d fell %d messages behind; dropping it",
                self.number,
                OUTBOX_LIMIT,
            )
            self.drop()

    def drop(self) -> None:
        """Cut the connection without a close frame, as a network failure would."""
        transport = self._request.transport
        if transport is not None:
            transport.abort()
        self._writer.cancel()

    async def close(self) -> None:
        """Stop writing and close the connection with a close frame."""
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self._ws.close()

    async def _write(self) -> None:
        """Send queued messages in order until the connection ends."""
        while True:
            text = await self._outbox.get()
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
