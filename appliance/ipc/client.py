"""Call a control-framing server: async for the event loop, sync for ccxt's sign()."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from pathlib import Path
from typing import Any

from appliance.ipc.framing import MAX_LINE, IpcError, encode, read_result


class IpcClient:
    """One connection to a control-framing server, used from asyncio; calls are serialised."""

    def __init__(self, path: Path | None = None, *, sock: socket.socket | None = None) -> None:
        self._path = path
        self._sock = sock
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            if self._sock is not None:
                conn = asyncio.open_unix_connection(sock=self._sock, limit=MAX_LINE)
            elif self._path is not None:
                conn = asyncio.open_unix_connection(str(self._path), limit=MAX_LINE)
            else:
                raise IpcError("no_peer", "client has neither a socket path nor a socket")
            try:
                self._reader, self._writer = await conn
            except OSError as exc:
                raise IpcError(UNREACHABLE, f"cannot reach {self._path}: {exc}") from None
        return self._reader, self._writer

    async def call(self, op: str, **args: Any) -> Any:
        """Send one request and return its result, or raise its error as IpcError."""
        async with self._lock:
            reader, writer = await self._connect()
            request_id = next(self._ids)
            try:
                writer.write(encode({"id": request_id, "op": op, "args": args}))
                await writer.drain()
                line = await reader.readuntil(b"\n")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                await self.close()
                raise IpcError(UNREACHABLE, f"connection lost during '{op}': {exc}") from None
            return read_result(json.loads(line), request_id)

    async def close(self) -> None:
        """Close the connection; the next call reconnects (path clients only)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()


UNREACHABLE = "unreachable"
"""The error code of a call whose server could not be reached or did not answer."""


async def call_once(path: Path, op: str, timeout: float, **args: Any) -> Any:
    """Send one request on a fresh connection and return its result within `timeout` seconds.

    A fresh connection per call finds a restarted server again. Raise IpcError: the server's
    own refusal, or UNREACHABLE when it cannot be reached or does not answer in time.
    """
    client = IpcClient(path)
    try:
        return await asyncio.wait_for(client.call(op, **args), timeout)
    except TimeoutError:
        raise IpcError(UNREACHABLE, f"{path} did not answer '{op}' within {timeout:g} s; "
                       "check that its process is running") from None
    finally:
        await client.close()


class SyncIpcClient:
    """One blocking connection to a control-framing server, for code that cannot await."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self._path = path
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._buffer = b""

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._timeout)
            try:
                sock.connect(str(self._path))
            except OSError as exc:
                sock.close()
                raise IpcError(UNREACHABLE, f"cannot reach {self._path}: {exc}") from None
            self._sock, self._buffer = sock, b""
        return self._sock

    def call(self, op: str, **args: Any) -> Any:
        """Send one request and return its result, or raise its error as IpcError."""
        sock = self._connect()
        request_id = next(self._ids)
        try:
            sock.sendall(encode({"id": request_id, "op": op, "args": args}))
            while b"\n" not in self._buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("peer closed the connection")
                self._buffer += chunk
                if len(self._buffer) > MAX_LINE:
                    raise ConnectionError("reply line too long")
        except OSError as exc:
            self.close()
            raise IpcError(UNREACHABLE, f"connection lost during '{op}': {exc}") from None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return read_result(json.loads(line), request_id)

    def close(self) -> None:
        """Close the connection; the next call reconnects."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
