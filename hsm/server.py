"""Serve the agent on signer.sock, so that no caller can hold up another.

Every exchange request the box makes is signed here, so the signer is served by a lean
asyncio Protocol rather than appliance.ipc's stream loop. The framing is the same (one JSON
object per line, at most MAX_LINE, the same error replies); the guards are the signer's own:
- each connection is served on its own; one that sends part of a line and stops is closed
  after PARTIAL_LINE_SECONDS, and holds nothing else meanwhile;
- a uid may hold at most MAX_CONNECTIONS_PER_UID connections;
- a connection gets LINES_PER_TURN answers, then the other connections get their turn;
- a caller that does not read its replies is not read from until it does;
- each request line is wiped from the connection's buffer as it is taken.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from appliance.ipc import MAX_LINE, Peer
from appliance.ipc.server import peer_of
from hsm.agent import SignerAgent
from hsm.const import (
    AUDIT_FLUSH_SECONDS,
    LINES_PER_TURN,
    MAX_CONNECTIONS_PER_UID,
    PARTIAL_LINE_SECONDS,
)

log = logging.getLogger(__name__)

SOCKET_MODE = 0o666
"""Anyone may connect: the caller's uid (SO_PEERCRED) decides what it may sign."""


@dataclass(frozen=True)
class Guards:
    """The limits one connection lives within."""

    per_uid: int = MAX_CONNECTIONS_PER_UID
    partial_line_seconds: float = PARTIAL_LINE_SECONDS
    lines_per_turn: int = LINES_PER_TURN


class Connections:
    """The open connections, counted per caller uid."""

    def __init__(self, guards: Guards) -> None:
        self.guards = guards
        self._counts: Counter[int] = Counter()
        self._open: set[SignerConnection] = set()

    def admit(self, connection: SignerConnection, uid: int) -> bool:
        """Count a new connection of uid; tell whether uid is within its limit."""
        if self._counts[uid] >= self.guards.per_uid:
            return False
        self._counts[uid] += 1
        self._open.add(connection)
        return True

    def leave(self, connection: SignerConnection, uid: int) -> None:
        """Forget a closed connection."""
        if connection in self._open:
            self._open.discard(connection)
            self._counts[uid] -= 1

    def close_all(self) -> None:
        """Close every open connection."""
        for connection in list(self._open):
            connection.close()


class SignerConnection(asyncio.Protocol):
    """One caller's connection: answer its lines in order, within the guards."""

    def __init__(self, agent: SignerAgent, connections: Connections) -> None:
        self._agent = agent
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._peer = Peer(pid=0, uid=-1, gid=-1)
        self._buffer = bytearray()
        self._holds: set[str] = set()
        self._stall: asyncio.TimerHandle | None = None
        self._pending: asyncio.Future[bytes] | None = None
        self._guards = connections.guards

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._peer = peer_of(transport.get_extra_info("socket"))
        if not self._connections.admit(self, self._peer.uid):
            self._refuse("too_many_connections", f"uid {self._peer.uid} holds "
                         f"{self._guards.per_uid} connections already; reuse one")

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._serve()

    def eof_received(self) -> None:
        if self._buffer.strip():
            self._refuse("bad_request", "request line was not terminated by a newline")

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.leave(self, self._peer.uid)
        if self._stall is not None:
            self._stall.cancel()
        if self._pending is not None:
            self._pending.cancel()
        self._buffer[:] = bytes(len(self._buffer))
        self._buffer.clear()

    def pause_writing(self) -> None:
        self._hold("writing")

    def resume_writing(self) -> None:
        self._release("writing")

    def close(self) -> None:
        """Close the connection."""
        if self._transport is not None:
            self._transport.close()

    def _serve(self) -> None:
        """Answer the complete lines in the buffer, LINES_PER_TURN at most before yielding."""
        transport = self._transport
        if transport is None or transport.is_closing() or self._holds:
            return
        served = 0
        while (end := self._buffer.find(b"\n")) >= 0:
            if end >= MAX_LINE:
                self._too_long()
                return
            if served == self._guards.lines_per_turn:
                self._hold("turn")
                asyncio.get_running_loop().call_soon(self._release, "turn")
                return
            line = self._take(end + 1)
            served += 1
            if not line.strip():
                continue
            reply = self._agent.answer(line, self._peer)
            if not isinstance(reply, bytes):
                self._wait_for(reply)
                return
            transport.write(reply)
        if len(self._buffer) >= MAX_LINE:
            self._too_long()
            return
        self._watch_stall(progress=served > 0)

    def _take(self, length: int) -> bytes:
        """Remove the first `length` bytes from the buffer, wiping them, and return them."""
        with memoryview(self._buffer) as view:
            line = bytes(view[:length])
        self._buffer[:length] = bytes(length)
        del self._buffer[:length]
        return line

    def _wait_for(self, reply: Awaitable[bytes]) -> None:
        """Hold this connection until an op that waits has its reply."""
        self._hold("op")
        self._pending = asyncio.ensure_future(reply)
        self._pending.add_done_callback(self._replied)

    def _replied(self, done: asyncio.Future[bytes]) -> None:
        self._pending = None
        if done.cancelled() or self._transport is None or self._transport.is_closing():
            return
        error = done.exception()
        if error is not None:
            log.error("an op failed without a reply: %s", type(error).__name__)
            self.close()
            return
        self._transport.write(done.result())
        self._release("op")

    def _hold(self, reason: str) -> None:
        if not self._holds and self._transport is not None:
            self._transport.pause_reading()
        self._holds.add(reason)

    def _release(self, reason: str) -> None:
        self._holds.discard(reason)
        if self._holds or self._transport is None or self._transport.is_closing():
            return
        self._transport.resume_reading()
        self._serve()

    def _watch_stall(self, progress: bool) -> None:
        """Time an unfinished line from when it began; forget the timer once none is left."""
        if self._stall is not None and (progress or not self._buffer):
            self._stall.cancel()
            self._stall = None
        if self._buffer and self._stall is None:
            loop = asyncio.get_running_loop()
            self._stall = loop.call_later(self._guards.partial_line_seconds, self._stalled)

    def _stalled(self) -> None:
        self._stall = None
        self._refuse("stalled", f"request line unfinished after "
                     f"{self._guards.partial_line_seconds:g} s; connection closed")

    def _too_long(self) -> None:
        self._refuse("too_long", f"request line exceeds {MAX_LINE} bytes; connection closed")

    def _refuse(self, code: str, message: str) -> None:
        """Send one error line, record the refusal and close the connection."""
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(self._agent.refuse(self._peer, code, message))
        self._transport.close()


class SignerSocket:
    """The agent listening on its socket, with a periodic flush of its audit counts."""

    def __init__(self, agent: SignerAgent, server: asyncio.AbstractServer,
                 connections: Connections, flusher: asyncio.Task[None], path: Path) -> None:
        self._agent = agent
        self._server = server
        self._connections = connections
        self._flusher = flusher
        self.path = path

    @classmethod
    async def open(cls, agent: SignerAgent, path: Path, guards: Guards | None = None,
                   flush_every: float = AUDIT_FLUSH_SECONDS) -> SignerSocket:
        """Listen on path (replacing a stale socket) with mode SOCKET_MODE."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        connections = Connections(guards or Guards())
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(
            lambda: SignerConnection(agent, connections), path=str(path))
        os.chmod(path, SOCKET_MODE)
        flusher = asyncio.create_task(_flush_audit(agent, flush_every))
        return cls(agent, server, connections, flusher, path)

    def close(self) -> None:
        """Stop listening, close every connection, flush the counts and remove the socket."""
        self._server.close()
        self._connections.close_all()
        self._flusher.cancel()
        self._agent.flush()
        self.path.unlink(missing_ok=True)


async def serve_signer(agent: SignerAgent, path: Path) -> None:
    """Serve the agent on path until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listening = await SignerSocket.open(agent, path)
    log.info("signer serving %s", path)
    try:
        await stop.wait()
    finally:
        listening.close()
        log.info("signer stopped")


async def _flush_audit(agent: SignerAgent, every: float) -> None:
    """Write the agent's counts to the audit log every `every` seconds."""
    while True:
        await asyncio.sleep(every)
        agent.flush()
