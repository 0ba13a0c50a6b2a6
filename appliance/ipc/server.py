"""Serve the control framing on a Unix socket or an inherited stream."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.ipc.framing import (
    MAX_LINE,
    IpcError,
    Peer,
    encode,
    error_reply,
    ok_reply,
    parse_request,
)

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any], Peer], Awaitable[Any]]
"""Answer one request: (op, args, peer) -> result, or raise IpcError."""


def peer_of(sock: socket.socket | None) -> Peer:
    """Return the kernel's word on who is at the other end of a Unix socket."""
    if sock is None or sock.family != socket.AF_UNIX:
        return Peer(pid=0, uid=-1, gid=-1)
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid=pid, uid=uid, gid=gid)


async def serve_stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    """Answer requests on one connection until the peer closes it.

    A bad line gets an error reply and the connection goes on; a line longer than
    MAX_LINE closes the connection, since the rest of the stream can no longer be framed.
    """
    peer = peer_of(writer.get_extra_info("socket"))
    try:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                writer.write(encode(error_reply(None, _too_long())))
                await writer.drain()
                return
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    writer.write(encode(error_reply(None, _unterminated())))
                    await writer.drain()
                return
            if not line.strip():
                continue
            writer.write(encode(await _answer(line, handler, peer)))
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _answer(line: bytes, handler: Handler, peer: Peer) -> dict[str, Any]:
    """Return the reply to one request line."""
    request_id: Any = None
    try:
        request = parse_request(line)
        request_id = request.id
        return ok_reply(request_id, await handler(request.op, request.args, peer))
    except IpcError as exc:
        return error_reply(request_id, exc)
    except Exception:
        log.exception("request failed inside the handler")
        return error_reply(request_id, IpcError("internal", "the request failed; see the log"))


def _too_long() -> IpcError:
    return IpcError("too_long", f"request line exceeds {MAX_LINE} bytes; connection closed")


def _unterminated() -> IpcError:
    return IpcError("bad_request", "request line was not terminated by a newline")


async def serve_unix(path: Path, handler: Handler, mode: int = 0o660) -> asyncio.Server:
    """Listen on a Unix socket at path (replacing a stale one) and answer every connection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_stream(reader, writer, handler)

    server = await asyncio.start_unix_server(on_connect, path=str(path), limit=MAX_LINE)
    os.chmod(path, mode)
    return server
