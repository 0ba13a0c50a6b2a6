"""One child process of the supervisor: spawn, watch, restart with backoff, stop in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from appliance.ipc import IpcClient, IpcError
from appliance.pacing.backoff import Backoff
from appliance.supervisor.const import (
    BACKOFF_FIRST,
    BACKOFF_MAX,
    CRASH_LOOP_LIMIT,
    CRASH_LOOP_WINDOW,
    HEARTBEAT_EVERY,
    HEARTBEAT_TIMEOUT,
    STABLE_AFTER,
    STOP_GRACE,
    TERM_GRACE,
)
from appliance.supervisor.sandbox import Account, confinement

log = logging.getLogger(__name__)


class ChildState(StrEnum):
    """Where a child is in its life, as the panel shows it."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    HALTED = "HALTED"


@dataclass
class ChildSpec:
    """How to run one child."""

    name: str
    argv: list[str]
    account: Account
    env: dict[str, str]
    stdin: bytes | None = field(default=None, repr=False)  # e.g. the token PIN: never shown
    control: bool = False  # the child answers ping/shutdown over an inherited socket


Probe = Callable[[], Awaitable[Any]]


class Child:
    """A supervised child: the supervisor's reaper tells it when its process exits."""

    def __init__(self, spec: ChildSpec, log_path: Path, report: Callable[[Child], None]) -> None:
        self.spec = spec
        self.name = spec.name
        self.state = ChildState.STOPPED
        self.restarts = 0
        self.detail = ""
        self.probe: Probe | None = None
        self.heartbeat_args: Callable[[], dict[str, Any]] = dict
        self.on_heartbeat: Callable[[Any], None] = lambda answer: None
        self._log_path = log_path
        self._report = report
        self._process: subprocess.Popen[bytes] | None = None
        self._control: IpcClient | None = None
        self._started_at = 0.0
        self._busy_until = 0.0
        """Until when a request asked of the child may keep its control channel busy."""
        self._deaths: deque[float] = deque(maxlen=CRASH_LOOP_LIMIT)
        self._backoff = Backoff(BACKOFF_FIRST, BACKOFF_MAX)
        self._exited = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pid(self) -> int | None:
        """Return the running process's pid, if any."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Spawn the process now; the operator's start also clears HALTED."""
        if self._process is not None:
            return
        argv, child_end = list(self.spec.argv), None
        pass_fds: tuple[int, ...] = ()
        if self.spec.control:
            parent_end, child_end = socket.socketpair()
            argv += ["--control-fd", str(child_end.fileno())]
            pass_fds = (child_end.fileno(),)
            self._control = IpcClient(sock=parent_end)
            self.probe = self._ping
        account = self.spec.account
        with open(self._log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE if self.spec.stdin else subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, env=self.spec.env, pass_fds=pass_fds,
                user=account.uid, group=account.gid,
                extra_groups=list(account.extra_groups) if account.uid is not None else None,
                umask=0o027, start_new_session=True, preexec_fn=confinement(account),
            )
        if child_end is not None:
            child_end.close()
        if self.spec.stdin and self._process.stdin:
            self._process.stdin.write(self.spec.stdin + b"\n")
            self._process.stdin.close()
        self._started_at = time.monotonic()
        self._exited.clear()
        self._set(ChildState.STARTING if self.probe else ChildState.RUNNING, "")
        self._spawn(self._watch())

    def exited(self, code: int) -> None:
        """Take the news that the process exited with `code` (negative: killed by a signal)."""
        if self._process is not None:
            self._process.returncode = code
        self._process = None
        self._exited.set()
        if self._control is not None:
            self._spawn(self._control.close())
            self._control = None
        if self.state in (ChildState.STOPPING, ChildState.STOPPED):
            self._set(ChildState.STOPPED, f"exited with {code}")
            return
        self._died(code)

    def _died(self, code: int) -> None:
        now = time.monotonic()
        if now - self._started_at > STABLE_AFTER:
            self._deaths.clear()
        self._deaths.append(now)
        self.restarts += 1
        why = f"exited with {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
        if len(self._deaths) >= CRASH_LOOP_LIMIT and now - self._deaths[0] < CRASH_LOOP_WINDOW:
            self._set(ChildState.HALTED, f"{why}; {CRASH_LOOP_LIMIT} deaths in a row — "
                                         "see its log, then start it again")
            return
        delay = self._backoff.delay(len(self._deaths))
        self._set(ChildState.BACKOFF, f"{why}; restarting in {delay:.0f} s")
        self._spawn(self._restart_after(delay))

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.state is ChildState.BACKOFF:
            self.start()

    async def stop(self) -> None:
        """Stop the process: ask it to finish (bots cancel their orders), then signal it."""
        if self.state in (ChildState.BACKOFF, ChildState.HALTED):
            self._set(ChildState.STOPPED, "stopped by the operator")
        if self._process is None:
            return
        self._set(ChildState.STOPPING, "")
        if self._control is not None:
            with contextlib.suppress(IpcError, TimeoutError):
                await asyncio.wait_for(self._control.call("shutdown"), STOP_GRACE)
            if await self.wait_exit(TERM_GRACE):
                return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self.kill(sig)
            if await self.wait_exit(TERM_GRACE):
                return

    async def wait_exit(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to exit; return whether it has."""
        if self._process is None:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), timeout)
        return self._process is None

    def kill(self, sig: signal.Signals) -> None:
        """Send a signal to the process, if it runs."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, sig)

    async def _watch(self) -> None:
        """Ping the child while it runs; one that stops answering is killed (and restarted)."""
        process = self._process
        while self.probe is not None and self._watching(process):
            # A heartbeat waits behind a long request on the control channel (a bot starting
            # a pair): the child is busy answering, not hung, until that request's own limit.
            patience = max(HEARTBEAT_TIMEOUT, self._busy_until - time.monotonic()
                           + HEARTBEAT_TIMEOUT)
            try:
                await asyncio.wait_for(self.probe(), patience)
            except Exception as exc:  # whatever the probe raises, the child did not answer
                if not self._watching(process):
                    return
                starting = self.state is ChildState.STARTING
                if not starting or time.monotonic() - self._started_at > HEARTBEAT_TIMEOUT * 3:
                    log.warning("%s did not answer (%s); killing it", self.name, exc)
                    self.kill(signal.SIGKILL)
                    return
                await asyncio.sleep(0.2)
                continue
            if self.state is ChildState.STARTING and self._watching(process):
                self._set(ChildState.RUNNING, "")
            await asyncio.sleep(HEARTBEAT_EVERY)

    def _watching(self, process: subprocess.Popen[bytes] | None) -> bool:
        """Return whether `process` is still the one running and not being stopped."""
        return (process is not None and self._process is process
                and self.state in (ChildState.STARTING, ChildState.RUNNING))

    async def ask(self, op: str, timeout: float = HEARTBEAT_TIMEOUT, **args: Any) -> Any:
        """Ask the running child over its control channel, or raise IpcError if it cannot."""
        if self._control is None or self.state is not ChildState.RUNNING:
            state = self.state.value.lower()
            raise IpcError("not_running", f"{self.name} is {state}; start it first")
        self._busy_until = max(self._busy_until, time.monotonic() + timeout)
        return await asyncio.wait_for(self._control.call(op, **args), timeout)

    async def _ping(self) -> Any:
        assert self._control is not None
        answer = await self._control.call("ping", **self.heartbeat_args())
        self.on_heartbeat(answer)
        return answer

    def _set(self, state: ChildState, detail: str) -> None:
        self.state, self.detail = state, detail
        self._report(self)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
