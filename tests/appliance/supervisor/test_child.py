"""The watchdog: restart with backoff, halt a crash loop, kill a silent child, stop in order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.supervisor import child as child_module
from appliance.supervisor.child import Child, ChildSpec, ChildState
from appliance.supervisor.const import BACKOFF_FIRST, CRASH_LOOP_LIMIT
from appliance.supervisor.reaper import reap
from appliance.supervisor.sandbox import Account

HERE = Path(__file__).parent


@pytest.fixture
async def children() -> AsyncIterator[list[Child]]:
    """Reap like the supervisor does, for the children a test adds to the list."""
    added: list[Child] = []
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGCHLD, reap, added)
    yield added
    for c in added:
        c.kill(signal.SIGKILL)
        await c.wait_exit(5)
    loop.remove_signal_handler(signal.SIGCHLD)


def make(tmp_path: Path, children: list[Child], argv: list[str], control: bool = False,
         states: list[ChildState] | None = None) -> Child:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(HERE.parents[2])}
    spec = ChildSpec("c", argv, Account(), env, control=control)
    seen = states if states is not None else []
    c = Child(spec, tmp_path / "c.log", lambda ch: seen.append(ch.state))
    children.append(c)
    return c


async def wait_for_state(c: Child, state: ChildState, timeout: float = 20) -> None:
    async def poll() -> None:
        while c.state is not state:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), timeout)


async def test_killed_child_is_restarted_after_backoff(
    tmp_path: Path, children: list[Child]
) -> None:
    c = make(tmp_path, children, ["sleep", "60"])
    c.start()
    first = c.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    await wait_for_state(c, ChildState.BACKOFF)
    assert "SIGKILL" in c.detail
    await wait_for_state(c, ChildState.RUNNING)
    assert c.pid not in (None, first)
    assert c.restarts == 1


async def test_crash_loop_halts_the_child(tmp_path: Path, children: list[Child]) -> None:
    states: list[ChildState] = []
    c = make(tmp_path, children, ["sleep", "60"], states=states)
    c.start()
    pid = c.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # the real process stays out of the way while we fire deaths
    for _ in range(CRASH_LOOP_LIMIT):
        c.exited(1)
    os.kill(pid, signal.SIGKILL)
    assert c.state is ChildState.HALTED
    assert states.count(ChildState.BACKOFF) == CRASH_LOOP_LIMIT - 1
    await asyncio.sleep(BACKOFF_FIRST + 0.5)
    assert c.state is ChildState.HALTED and c.pid is None


async def test_silent_child_is_killed(
    tmp_path: Path, children: list[Child], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child_module, "HEARTBEAT_TIMEOUT", 0.3)
    c = make(tmp_path, children, [sys.executable, str(HERE / "control_child.py"), "mute"],
             control=True)
    c.start()
    await wait_for_state(c, ChildState.BACKOFF)
    assert "SIGKILL" in c.detail


async def test_a_child_busy_with_a_long_request_is_not_taken_for_silent(
    tmp_path: Path, children: list[Child], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot starting a pair answers no heartbeat meanwhile; the watchdog waits that out."""
    monkeypatch.setattr(child_module, "HEARTBEAT_TIMEOUT", 0.3)
    monkeypatch.setattr(child_module, "HEARTBEAT_EVERY", 0.05)
    c = make(tmp_path, children, [sys.executable, str(HERE / "control_child.py"), "obedient"],
             control=True)
    c.start()
    await wait_for_state(c, ChildState.RUNNING)
    pid = c.pid
    assert await c.ask("slow", timeout=5.0, seconds=1.5) == "pong"
    assert (c.state, c.pid) == (ChildState.RUNNING, pid)


async def test_stop_asks_first_and_never_restarts(tmp_path: Path, children: list[Child]) -> None:
    c = make(tmp_path, children, [sys.executable, str(HERE / "control_child.py"), "obedient"],
             control=True)
    c.start()
    await wait_for_state(c, ChildState.RUNNING)
    await c.stop()
    assert c.state is ChildState.STOPPED
    assert c.detail == "exited with 0"
    await asyncio.sleep(BACKOFF_FIRST + 0.5)
    assert c.pid is None
