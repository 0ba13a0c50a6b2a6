"""signer.sock's server: each connection on its own, none able to hold up another."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appliance.ipc import MAX_LINE
from hsm.access import AccessPolicy
from hsm.agent import SignerAgent
from hsm.audit import AuditLog
from hsm.ops import Access, Audit, Call, Op
from hsm.ratelimit import CallerRateLimit
from hsm.server import Guards, SignerSocket

WAIT = 10.0
"""Seconds a test waits for something the server owes it before calling it stuck."""


@dataclass
class Served:
    """A signer socket on a token-less agent with one op that waits for the test."""

    path: Path
    audit: Path
    release: asyncio.Event

    async def client(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_unix_connection(str(self.path), limit=4 * MAX_LINE)


async def serve(tmp_path: Path, guards: Guards) -> AsyncIterator[Served]:
    release = asyncio.Event()

    async def held(call: Call) -> str:
        await release.wait()
        return "released"

    audit = AuditLog(tmp_path / "audit.log")
    agent = SignerAgent({}, AccessPolicy.parse([]), audit, CallerRateLimit(1e9, 10**9),
                        extra_ops={"held": Op(held, Access.ANYONE, Audit.QUIET)})
    listening = await SignerSocket.open(agent, tmp_path / "run" / "signer.sock", guards)
    try:
        yield Served(listening.path, audit.path, release)
    finally:
        listening.close()
        audit.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for running in serve(tmp_path, Guards(per_uid=3, partial_line_seconds=0.3,
                                                 lines_per_turn=4)):
        yield running


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
              request: dict[str, Any]) -> dict[str, Any]:
    """Send one request and return the reply."""
    writer.write(json.dumps(request).encode() + b"\n")
    return await answer(reader)


async def answer(reader: asyncio.StreamReader) -> dict[str, Any]:
    """Return the next reply on a connection."""
    line = await asyncio.wait_for(reader.readline(), WAIT)
    assert line, "the server closed the connection"
    reply: dict[str, Any] = json.loads(line)
    return reply


async def closed(reader: asyncio.StreamReader) -> bool:
    """Tell whether the server closed the connection (after any lines still unread)."""
    return await asyncio.wait_for(reader.read(), WAIT) == b"" or reader.at_eof()


def refusals(served: Served) -> list[str]:
    return [json.loads(line)["outcome"] for line in served.audit.read_bytes().splitlines()]


async def test_a_half_line_blocks_no_one_and_is_closed_after_a_while(served: Served) -> None:
    stuck_reader, stuck = await served.client()
    stuck.write(b'{"id": 1, "op": "pi')
    reader, writer = await served.client()
    assert (await ask(reader, writer, {"id": 2, "op": "ping"}))["result"] == "pong"
    reply = await answer(stuck_reader)
    assert reply["error"]["code"] == "stalled"
    assert await closed(stuck_reader)
    assert (await ask(reader, writer, {"id": 3, "op": "ping"}))["result"] == "pong"
    assert refusals(served) == ["stalled"]
    writer.close()
    stuck.close()


async def test_a_waiting_op_holds_only_its_own_connection(served: Served) -> None:
    waiting_reader, waiting = await served.client()
    waiting.write(b'{"id": 1, "op": "held"}\n{"id": 2, "op": "ping"}\n')
    reader, writer = await served.client()
    for n in range(3):
        assert (await ask(reader, writer, {"id": n, "op": "ping"}))["result"] == "pong"
    served.release.set()
    assert [(await answer(waiting_reader))["id"] for _ in range(2)] == [1, 2]
    writer.close()
    waiting.close()


async def test_pipelined_requests_are_answered_in_order(served: Served) -> None:
    reader, writer = await served.client()
    writer.write(b"".join(b'{"id": %d, "op": "ping"}\n' % n for n in range(100)))
    assert [(await answer(reader))["id"] for _ in range(100)] == list(range(100))
    writer.close()


async def test_a_uid_may_hold_only_so_many_connections(served: Served) -> None:
    held = [await served.client() for _ in range(3)]
    reader, writer = await served.client()
    assert (await answer(reader))["error"]["code"] == "too_many_connections"
    assert await closed(reader)
    held[0][1].close()
    await held[0][1].wait_closed()
    for _ in range(100):
        reader, writer = await served.client()
        reply = await ask(reader, writer, {"id": 1, "op": "ping"})
        if reply.get("ok"):
            break
        await asyncio.sleep(0.01)
    assert reply["result"] == "pong"
    for _, other in held[1:]:
        other.close()
    writer.close()


async def test_a_caller_that_never_reads_blocks_no_one(served: Served) -> None:
    _, flooding = await served.client()
    flood = b'{"id": 1, "op": "ping"}\n' * 200_000
    flooding.write(flood)
    reader, writer = await served.client()
    for n in range(5):
        assert (await ask(reader, writer, {"id": n, "op": "ping"}))["result"] == "pong"
    flooding.transport.abort()
    writer.close()


async def test_a_line_cut_off_by_the_end_of_the_stream_is_answered(served: Served) -> None:
    reader, writer = await served.client()
    writer.write(b'{"id": 1, "op": "ping"')
    writer.write_eof()
    assert (await answer(reader))["error"]["code"] == "bad_request"
    assert await closed(reader)
    writer.close()


async def test_an_overlong_line_is_refused_even_without_its_newline(served: Served) -> None:
    reader, writer = await served.client()
    writer.write(b"x" * (MAX_LINE + 1))
    assert (await answer(reader))["error"]["code"] == "too_long"
    assert await closed(reader)
    writer.close()


async def test_closing_removes_the_socket(tmp_path: Path) -> None:
    async for running in serve(tmp_path, Guards()):
        assert running.path.exists()
        path = running.path
    assert not path.exists()
