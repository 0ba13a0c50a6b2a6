"""Fixtures of the panel's tests: a box on disk, its control socket, a simulated visitor."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nicegui import app
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from appliance.datadir import DataDir
from appliance.ipc import serve_unix
from appliance.store import access
from provisioning.tls import make_panel_certificate
from tests.ui.panel_box import (
    OWNER,
    PANEL_MAIN,
    ControlServer,
    write_appliance_db,
    write_bot_1_api_log,
    write_bot_1_events,
)
from tests.ui.signer_box import KeyedSigner, keyed_signer
from ui.auth.guard import SESSION_COOKIE
from ui.panel import Panel


@pytest.fixture
def datadir(tmp_path: Path) -> DataDir:
    """Return a box whose bot-1 has traded and whose bot-2 has written no events nor requests.

    Its panel certificate names 127.0.0.1, where the tests that start a panel serve it.
    """
    box = DataDir(tmp_path / "data")
    write_appliance_db(box)
    make_panel_certificate(box, ["127.0.0.1"])
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
        log_in(visitor, OWNER)
        yield visitor


def log_in(visitor: User, who: access.User) -> None:
    """Give a simulated visitor an open session of `who`, as a USB-key login would.

    The login itself (the signer, the key, its PIN) is what tests/ui/auth tests; here the
    visitor also sends its page's Origin, as a browser does with every POST.
    """
    panel = app.state.panel
    assert isinstance(panel, Panel)
    session = panel.sessions.open("signer-session", who, "soft:dev-key-1", "127.0.0.1")
    visitor.http_client.cookies.set(SESSION_COOKIE, session.id)
    host = visitor.http_client.base_url.host
    visitor.http_client.headers["origin"] = f"https://{host}"


@pytest.fixture
def signer(datadir: DataDir, tmp_path: Path, request: pytest.FixtureRequest
           ) -> Iterator[KeyedSigner]:
    """Run the box's signer with its software keys; indirect parameter True starts it locked."""
    locked = bool(getattr(request, "param", False))
    with keyed_signer(datadir, tmp_path / "signer.log", locked=locked) as running:
        yield running


@pytest.fixture
async def guest(datadir: DataDir, signer: KeyedSigner, control: ControlServer,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[User]:
    """Yield a visitor of a development box's panel, with its signer, who has not logged in."""
    monkeypatch.setattr(sys, "argv", ["python -m ui", "--data", str(datadir.root),
                                      "--development"])
    async with user_simulation(main_file=PANEL_MAIN) as visitor:
        visitor.http_client.headers["origin"] = f"https://{visitor.http_client.base_url.host}"
        yield visitor
