"""The panel as the box runs it: `python -m ui` serving HTTPS on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from appliance.datadir import DataDir
from tests.ui.panel_box import REPO

STARTUP_SECONDS = 30.0


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def trusting(datadir: DataDir) -> ssl.SSLContext:
    """Return a TLS client context that trusts the box's panel certificate and nothing else."""
    return ssl.create_default_context(cafile=datadir.panel_cert)


def panel_command(datadir: DataDir, port: int, *extra: str) -> list[str]:
    """Return the command line that serves the panel of datadir on port."""
    return [sys.executable, "-m", "ui", "--data", str(datadir.root), "--port", str(port),
            *extra]


def panel_env() -> dict[str, str]:
    """Return the environment of a panel started from a test."""
    # NiceGUI takes PYTEST_CURRENT_TEST to mean it runs inside a test and ignores --port.
    return {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}


async def wait_until_healthy(url: str, datadir: DataDir, process: subprocess.Popen[bytes]
                             ) -> None:
    """Wait until the panel answers its health check, failing if it exits or never does."""
    async with httpx.AsyncClient(verify=trusting(datadir)) as client:
        for _ in range(int(STARTUP_SECONDS / 0.1)):
            if process.poll() is not None:
                pytest.fail(f"the panel exited with {process.returncode}")
            try:
                if (await client.get(f"{url}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"the panel did not answer on {url} within {STARTUP_SECONDS:g} s")


@asynccontextmanager
async def serving_panel(datadir: DataDir, log_path: Path, *extra: str) -> AsyncIterator[str]:
    """Serve the panel of datadir on 127.0.0.1 until the block ends; yield its https URL.

    `extra` goes on the panel's command line (`--development`, say).
    """
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(panel_command(datadir, port, *extra), cwd=REPO,
                                   env=panel_env(),
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"https://127.0.0.1:{port}"
    try:
        await wait_until_healthy(url, datadir, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
