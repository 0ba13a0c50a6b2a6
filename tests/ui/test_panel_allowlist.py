"""Over the wire, the panel's address check decides by the connection's address alone.

The panel runs as the box runs it (`python -m ui`, HTTPS on 127.0.0.1); the clients bind their
side of the connection to 127.0.0.1 or 127.0.0.2, both loopback, so nothing leaves the machine.
Headers that name another address (`X-Forwarded-For`, `X-Real-IP`, `Forwarded`) change nothing.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from appliance.datadir import DataDir
from appliance.store.database import open_writer
from tests.ui.panel_server import serving_panel, trusting

REQUESTS = ("/", "/login", "/api/health", "/api/bots",
            "/_nicegui_ws/socket.io/?EIO=4&transport=polling")
SOCKET = "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
FIRST, SECOND = "127.0.0.1", "127.0.0.2"
ALLOWLISTS = [(FIRST, SECOND), (SECOND, FIRST)]
"""(allowed, refused): the box allows one loopback address, and the other knocks."""

ALLOWED_ANSWERS = {"/": (303, "/login"), "/login": (200, None), "/api/health": (200, None),
                   "/api/bots": (401, None), REQUESTS[-1]: (401, None)}
"""What a caller the allowlist lets through, with no session, gets: the auth guard's answers."""


def forgeries(claimed: str) -> list[dict[str, str]]:
    """Return the header sets a client sends: none, and each header that claims an address."""
    return [{}, {"x-forwarded-for": claimed}, {"x-real-ip": claimed},
            {"forwarded": f"for={claimed}"},
            {"x-forwarded-for": claimed, "x-real-ip": claimed, "forwarded": f"for={claimed}"}]


@pytest.fixture
async def panel_url(datadir: DataDir, tmp_path: Path) -> AsyncIterator[str]:
    """Serve the box's panel over HTTPS on 127.0.0.1; yield its URL."""
    async with serving_panel(datadir, tmp_path / "panel.log") as url:
        yield url


def allow_only(datadir: DataDir, address: str) -> None:
    """Make the box's allowlist one address; the panel reads it at every request."""
    db = open_writer(datadir.appliance_db)
    try:
        db.table("allowlist").delete_where()
        db.table("allowlist").insert({"cidr": f"{address}/32"})
    finally:
        db.close()


def client_from(address: str, datadir: DataDir, url: str) -> httpx.AsyncClient:
    """Return an HTTPS client whose connections leave from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address, verify=trusting(datadir))
    return httpx.AsyncClient(transport=transport, base_url=url)


async def upgrade_status(url: str, datadir: DataDir, address: str,
                         headers: dict[str, str]) -> bytes:
    """Ask for the panel's websocket from `address` over TLS; return the answer's status line."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(
        parts.hostname, parts.port, ssl=trusting(datadir), local_addr=(address, 0),
        server_hostname=parts.hostname)
    try:
        lines = [f"GET {SOCKET} HTTP/1.1", f"Host: {parts.netloc}", f"Origin: {url}",
                 "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                 f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        return (await reader.readline()).rstrip()
    finally:
        writer.close()


@pytest.mark.parametrize(("allowed", "refused"), ALLOWLISTS)
async def test_an_address_off_the_allowlist_is_refused_whatever_it_claims(
    panel_url: str, datadir: DataDir, allowed: str, refused: str
) -> None:
    allow_only(datadir, allowed)
    answers = []
    async with client_from(refused, datadir, panel_url) as outsider:
        for headers in forgeries(allowed):
            for path in REQUESTS:
                response = await outsider.get(path, headers=headers)
                answers.append((path, headers, response))

    assert len(answers) == 25
    for path, headers, response in answers:
        assert response.status_code == 403, (path, headers)
        message = response.json()["error"]["message"]
        assert message.startswith(f"{refused} is not in the box's allowlist"), (path, headers)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("allowed", "refused"), ALLOWLISTS)
async def test_the_socket_is_refused_to_an_address_off_the_allowlist_whatever_it_claims(
    panel_url: str, datadir: DataDir, allowed: str, refused: str
) -> None:
    allow_only(datadir, allowed)

    statuses = [await upgrade_status(panel_url, datadir, refused, headers)
                for headers in forgeries(allowed)]

    assert all(status.startswith(b"HTTP/1.1 ") for status in statuses), statuses
    assert not [status for status in statuses if status.split()[1] == b"101"], statuses


@pytest.mark.parametrize(("allowed", "refused"), ALLOWLISTS)
async def test_the_same_requests_from_the_allowed_address_pass_the_address_check(
    panel_url: str, datadir: DataDir, allowed: str, refused: str
) -> None:
    allow_only(datadir, allowed)
    answers = []
    async with client_from(allowed, datadir, panel_url) as insider:
        for headers in forgeries(refused):
            for path in REQUESTS:
                response = await insider.get(path, headers=headers)
                answers.append((path, headers, response))

    assert len(answers) == 25
    for path, headers, response in answers:
        status, location = ALLOWED_ANSWERS[path]
        assert response.status_code == status, (path, headers, response.text)
        assert response.headers.get("location") == location, (path, headers)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
