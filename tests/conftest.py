"""Fixtures shared by every test package: a real simulator process on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunningSimulator:
    """A simulator subprocess and where it listens."""

    url: str
    state: Path
    process: subprocess.Popen[str]


def start_simulator(state: Path, *extra: str) -> RunningSimulator:
    """Start the exchange simulator on a free loopback port and wait until it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator",
         "--host", "127.0.0.1", "--port", "0", "--state", str(state), *extra],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("simulator listening on "):
        process.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return RunningSimulator(line.split()[-1], state, process)


def free_port() -> int:
    """Return a loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[str]) -> None:
    """Stop a child with SIGTERM, then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[RunningSimulator]:
    """Yield a fresh simulator with its own state folder."""
    running = start_simulator(tmp_path / "simdata", "--seed", "7")
    yield running
    stop_process(running.process)
