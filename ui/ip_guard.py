"""Let only the allowlist's networks reach the panel, over HTTP and websockets alike.

A pure ASGI middleware: `@app.middleware('http')` would never see the websocket of the page.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from

log = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

POLICY_VIOLATION = 1008
"""The websocket close code of a refused connection."""


def read_allowlist(path: Path) -> tuple[str, ...]:
    """Return the CIDRs of appliance.db's allowlist, or raise StoreUnavailable."""
    return read_from(path, appliance_db.allowlist)


def parse_networks(cidrs: Sequence[str]) -> tuple[IpNetwork, ...]:
    """Return the networks of the valid CIDRs, warning about the others."""
    networks: list[IpNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            log.warning("allowlist entry %r is not a CIDR; it allows nothing until corrected", cidr)
    return tuple(networks)


def allows(client: Sequence[Any] | None, networks: Sequence[IpNetwork]) -> bool:
    """Return whether an ASGI scope's client address lies inside one of the networks."""
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class Allowlist:
    """The allowlist as appliance.db holds it now; the last one read while it cannot be read."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cidrs: tuple[str, ...] | None = None
        self._networks: tuple[IpNetwork, ...] = ()
        self._failing = False

    def __call__(self) -> tuple[IpNetwork, ...]:
        """Return the allowed networks (none before appliance.db could be read once)."""
        try:
            cidrs = read_allowlist(self._path)
        except StoreUnavailable as exc:
            if not self._failing:
                log.warning("%s; keeping the last allowlist read", exc)
            self._failing = True
            return self._networks
        self._failing = False
        if cidrs != self._cidrs:
            self._cidrs, self._networks = cidrs, parse_networks(cidrs)
        return self._networks


class IpGuard:
    """Answer 403 to an HTTP request, and close a websocket, from outside the allowlist."""

    def __init__(self, app: ASGIApp, allowlist: Callable[[], Sequence[IpNetwork]]) -> None:
        self.app = app
        self.allowlist = allowlist

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass allowed connections on; refuse the rest before they reach the app."""
        guarded = scope["type"] in ("http", "websocket")
        if not guarded or allows(scope.get("client"), self.allowlist()):
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await refuse_http(scope, send)
        else:
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})


async def refuse_http(scope: Scope, send: Send) -> None:
    """Send a 403 whose JSON body says what to do."""
    address = (scope.get("client") or ("an unknown address",))[0]
    body = json.dumps({"error": {
        "code": "forbidden",
        "message": f"{address} is not in the box's allowlist; ask its operator to add your network",
    }}).encode()
    await send({
        "type": "http.response.start",
        "status": 403,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})
