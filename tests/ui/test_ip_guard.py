"""The IP guard: only the allowlist's networks reach the panel, over HTTP and websockets."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from appliance.datadir import DataDir
from appliance.store.database import open_writer
from ui.ip_guard import Allowlist, IpGuard, IpNetwork

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.1.0.0/16"))


class Downstream:
    """The app behind the guard: remembers the scopes that reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(scope["type"])


async def call(
    scope: Scope, networks: tuple[IpNetwork, ...] = LOOPBACK
) -> tuple[list[str], list[Message]]:
    """Pass one scope through a guard; return what reached the app and what the guard sent."""
    downstream, sent = Downstream(), list[Message]()

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await IpGuard(downstream, lambda: networks)(scope, receive, send)
    return downstream.reached, sent


def http(client: tuple[str, int] | None) -> dict[str, Any]:
    """Return an HTTP scope from a client."""
    return {"type": "http", "path": "/api/health", "method": "GET", "headers": [], "client": client}


def websocket(client: tuple[str, int]) -> dict[str, Any]:
    """Return a websocket scope from a client."""
    return {"type": "websocket", "path": "/_nicegui_ws/socket.io/", "headers": [],
            "client": client}


async def test_an_address_outside_the_allowlist_gets_403() -> None:
    reached, sent = await call(http(("192.0.2.7", 40000)))

    assert reached == []
    assert sent[0]["status"] == 403
    message = json.loads(sent[1]["body"])["error"]["message"]
    assert "192.0.2.7 is not in the box's allowlist" in message


async def test_a_websocket_from_outside_is_closed_before_it_opens() -> None:
    reached, sent = await call(websocket(("192.0.2.7", 40000)))

    assert reached == []
    assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_allowed_addresses_reach_the_app() -> None:
    for scope in (http(("127.0.0.1", 1)), websocket(("10.1.200.3", 2)),
                  http(("::ffff:127.0.0.1", 3))):
        reached, sent = await call(scope)
        assert (reached, sent) == ([scope["type"]], [])


async def test_a_request_without_a_usable_address_is_refused() -> None:
    for client in (None, ("", 0), ("not-an-address", 1)):
        reached, sent = await call(http(client))
        assert (reached, sent[0]["status"]) == ([], 403)


async def test_an_empty_allowlist_refuses_everyone() -> None:
    reached, _ = await call(http(("127.0.0.1", 1)), networks=())

    assert reached == []


async def test_lifespan_passes_through() -> None:
    reached, _ = await call({"type": "lifespan"}, networks=())

    assert reached == ["lifespan"]


def test_the_allowlist_follows_appliance_db(datadir: DataDir) -> None:
    allowlist = Allowlist(datadir.appliance_db)
    before = allowlist()
    db = open_writer(datadir.appliance_db)
    db.table("allowlist").insert_all([{"cidr": "192.168.7.0/24"}, {"cidr": "no network"}])
    db.close()

    assert before == (ipaddress.ip_network("127.0.0.1/32"),)
    assert allowlist() == (ipaddress.ip_network("127.0.0.1/32"),
                           ipaddress.ip_network("192.168.7.0/24"))


def test_the_last_allowlist_read_holds_while_appliance_db_is_unreadable(
    datadir: DataDir,
) -> None:
    allowlist = Allowlist(datadir.appliance_db)
    allowlist()
    datadir.appliance_db.write_bytes(b"garbage" * 1000)

    assert allowlist() == (ipaddress.ip_network("127.0.0.1/32"),)
    assert Allowlist(datadir.appliance_db)() == ()
