"""The panel started as on the box speaks HTTPS with the box's own certificate, and only that."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from appliance.datadir import DataDir
from provisioning.tls import certificate_fingerprint
from tests.ui.panel_box import REPO
from tests.ui.panel_server import (
    free_port,
    panel_command,
    panel_env,
    serving_panel,
    trusting,
)
from ui.headers import SECURITY_HEADERS

TLS_ALERT = 0x15
"""The content type of a TLS alert record."""


@pytest.fixture
async def panel_url(datadir: DataDir, tmp_path: Path) -> AsyncIterator[str]:
    """Serve the box's panel over HTTPS; yield its URL."""
    async with serving_panel(datadir, tmp_path / "panel.log") as url:
        yield url


def address(url: str) -> tuple[str, int]:
    """Return the host and port of a URL."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def served_fingerprint(datadir: DataDir, url: str) -> str:
    """Return the SHA-256 fingerprint of the certificate the panel presents, as browsers show it."""
    host, port = address(url)
    with (socket.create_connection((host, port), timeout=5) as raw,
          trusting(datadir).wrap_socket(raw, server_hostname=host) as tls):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).digest().hex(":").upper()


def plain_http_reply(url: str) -> bytes:
    """Send a plain-text HTTP request to the panel's port; return every byte it answers."""
    host, port = address(url)
    reply = b""
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(f"GET /api/health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        while chunk := raw.recv(4096):
            reply += chunk
    return reply


async def test_https_answers_with_the_provisioned_certificate(
    panel_url: str, datadir: DataDir
) -> None:
    async with httpx.AsyncClient(verify=trusting(datadir)) as client:
        response = await client.get(f"{panel_url}/api/health")

    assert panel_url.startswith("https://127.0.0.1:")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["strict-transport-security"] == SECURITY_HEADERS[
        "Strict-Transport-Security"]
    served = await asyncio.to_thread(served_fingerprint, datadir, panel_url)
    assert served == certificate_fingerprint(datadir.panel_cert)


async def test_a_client_that_trusts_another_certificate_is_refused(
    panel_url: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:  # the system's authorities only
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{panel_url}/api/health")


async def test_plain_http_on_the_panel_port_gets_no_page(panel_url: str) -> None:
    plain = panel_url.replace("https://", "http://", 1)

    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{plain}/api/health")
    reply = await asyncio.to_thread(plain_http_reply, panel_url)

    assert not reply.startswith(b"HTTP/")
    assert reply == b"" or reply[0] == TLS_ALERT, "only a TLS alert or nothing may come back"


def test_a_box_without_a_certificate_is_told_to_provision(datadir: DataDir) -> None:
    datadir.panel_cert.unlink()
    port = free_port()

    done = subprocess.run(panel_command(datadir, port), cwd=REPO, env=panel_env(),
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert f"{datadir.panel_cert} is missing" in done.stderr
    assert "provision the box" in done.stderr
