"""The control framing answers bad input with an error and keeps serving."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from appliance.ipc import MAX_LINE, IpcClient, IpcError, Peer, SyncIpcClient, serve_unix


async def echo(op: str, args: dict[str, Any], peer: Peer) -> Any:
    """Answer `echo` with its args and the caller's uid; fail on `boom`; refuse the rest."""
    if op == "echo":
        return {"args": args, "uid": peer.uid}
    if op == "boom":
        raise RuntimeError("handler bug")
    raise IpcError("unknown_op", f"no op {op}")


@pytest.fixture
async def server(tmp_path: Path) -> Any:
    path = tmp_path / "s.sock"
    srv = await serve_unix(path, echo)
    yield path
    srv.close()


async def raw(path: Path, payload: bytes) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=4 * MAX_LINE)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    lines = []
    while line := await reader.readline():
        lines.append(json.loads(line))
    writer.close()
    return lines


async def test_request_is_answered_with_peer_uid(server: Path) -> None:
    client = IpcClient(server)
    assert await client.call("echo", x=1) == {"args": {"x": 1}, "uid": os.getuid()}
    await client.close()


@pytest.mark.parametrize(("line", "code"), [
    (b"not json\n", "bad_json"),
    (b"[1, 2]\n", "bad_request"),
    (b'{"id": 1}\n', "bad_request"),
    (b'{"id": 1, "op": "echo", "args": []}\n', "bad_request"),
    (b'{"id": {"x": 1}, "op": "echo"}\n', "bad_request"),
    (b"\xff\xfe\n", "bad_json"),
    (b'{"id": 2, "op": "nope"}\n', "unknown_op"),
    (b'{"id": 3, "op": "boom"}\n', "internal"),
])
async def test_bad_line_gets_error_and_connection_goes_on(
    server: Path, line: bytes, code: str
) -> None:
    replies = await raw(server, line + b'{"id": 9, "op": "echo"}\n')
    assert replies[0]["ok"] is False and replies[0]["error"]["code"] == code
    assert replies[1] == {"id": 9, "ok": True, "result": {"args": {}, "uid": os.getuid()}}


async def test_internal_error_does_not_leak_details(server: Path) -> None:
    (reply,) = await raw(server, b'{"id": 3, "op": "boom"}\n')
    assert "handler bug" not in json.dumps(reply)


async def test_oversized_line_closes_only_that_connection(server: Path) -> None:
    huge = b'{"id": 1, "op": "echo", "args": {"x": "' + b"a" * MAX_LINE + b'"}}\n'
    (reply,) = await raw(server, huge)
    assert reply["ok"] is False and reply["error"]["code"] == "too_long"
    assert await IpcClient(server).call("echo") == {"args": {}, "uid": os.getuid()}


async def test_sync_client_raises_error_replies(server: Path) -> None:
    client = SyncIpcClient(server)
    result = await asyncio.to_thread(client.call, "echo", y="z")
    assert result["args"] == {"y": "z"}
    with pytest.raises(IpcError) as caught:
        await asyncio.to_thread(client.call, "nope")
    assert caught.value.code == "unknown_op"
    client.close()


async def test_unreachable_socket_says_where(tmp_path: Path) -> None:
    with pytest.raises(IpcError, match="cannot reach"):
        await IpcClient(tmp_path / "missing.sock").call("echo")
