"""Fixtures of the panel's tests: a box on disk, its control socket, a simulated visitor."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from appliance.datadir import DataDir
from appliance.ipc import serve_unix
from tests.ui.panel_box import (
    PANEL_MAIN,
    ControlServer,
    write_appliance_db,
    write_bot_1_api_log,
    write_bot_1_events,
)


@pytest.fixture
def datadir(tmp_path: Path) -> DataDir:
    """Return a box whose bot-1 has traded and whose bot-2 has written no events nor requests."""
    box = DataDir(tmp_path / "data")
    write_appliance_db(box)
    write_bot_1_events(box)
    write_bot_1_api_log(box)
    return box


@pytest.fixture
async def control(datadir: DataDir) -> AsyncIterator[ControlServer]:
    """Serve the control socket on the box's control.sock while the test runs."""
    recorder = ControlServer(datadir)
    server = await serve_unix(datadir.control_sock, recorder.handle)
    yield recorder
    server.close()
    await server.wait_closed()


@pytest.fixture
async def user(datadir: DataDir, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[User]:
    """Yield a simulated visitor of the panel started as `python -m ui --data DIR`."""
    monkeypatch.setattr(sys, "argv", ["python -m ui", "--data", str(datadir.root)])
    async with user_simulation(main_file=PANEL_MAIN) as visitor:
        yield visitor
