"""Every route of the panel, NiceGUI's own included, turns away a caller with no session or token.

The routes are walked, not listed, so a route added later is checked the day it is added. The
panel is built in-process (the `user` fixture builds the whole app); the caller is a fresh
client that carries no session cookie and no token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from nicegui import app
from nicegui.testing.user import User
from starlette.routing import Mount, WebSocketRoute
from starlette.types import Message

from tests.ui.panel_box import OWNER, READ_TOKEN
from ui.auth.guard import SESSION_COOKIE

HOST = "test"
ORIGIN = f"https://{HOST}"
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/login/style.css"),
          ("GET", "/api/health")}
"""What a caller without a session or token may reach: the login form and the health check."""

KNOWN = {("GET", "/"), ("GET", "/api/bots"), ("GET", "/api/bots/{name}/api-log"),
         ("POST", "/api/bots/{name}/start"), ("POST", "/api/bots/{name}/symbols/{action}"),
         ("GET", "/api/session"), ("POST", "/api/users"), ("DELETE", "/api/tokens/{token_id}"),
         ("PUT", "/api/allowlist"), ("GET", "/api/activity"), ("POST", "/logout"),
         ("POST", "/unlock"), ("GET", "/_nicegui_ws/{path}"), ("GET", "/metrics"),
         ("GET", "/api/logs"), ("GET", "/api/logs/export"), ("GET", "/logs"),
         ("GET", "/api/alerts"), ("PUT", "/api/alerts/secrets/{which}"), ("GET", "/alerts"),
         ("GET", "/api/bots/{name}/performance"), ("GET", "/performance")}
"""Routes the walk must find, so that a walk that finds nothing cannot pass."""

SAMPLE_PARAMETERS = {"name": "bot-1", "action": "activate", "fingerprint": OWNER.fingerprint,
                     "token_id": READ_TOKEN.id, "key": "nicegui", "path": "socket.io/"}
"""Plausible values of the routes' path parameters; any other parameter gets 'probe'."""

MOUNT_QUERY = "EIO=4&transport=polling"
"""Below a mount, a socket.io handshake, which NiceGUI's socket mount answers with its data."""

MOUNT_METHODS = ("GET", "POST", "PUT", "DELETE")
"""The methods tried below a mount, which declares none."""

UPGRADE = {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13",
           "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
"""The headers of a browser's websocket upgrade, which socket.io checks before it accepts."""


@dataclass(frozen=True)
class Target:
    """One route of the app: a concrete path of it and what may be sent there."""

    template: str
    url: str
    methods: tuple[str, ...]
    sockets: bool
    """Whether a websocket may be served here (a mount or a websocket route)."""

    def requests(self) -> Iterator[tuple[str, str]]:
        """Yield the (method, url) of each HTTP request to send here."""
        return ((method, self.url) for method in self.methods)


def targets() -> list[Target]:
    """Return every route of the app, NiceGUI's own, mounts and sockets included."""
    found: list[Target] = []
    for route in iter_route_contexts(app.routes):
        template = route.path_format
        assert template is not None, f"{route.original_route!r} has no path"
        values = {name: SAMPLE_PARAMETERS.get(name, "probe") for name in route.param_convertors}
        path = template.format_map(values)
        mounted = isinstance(route.original_route, Mount)
        sockets = mounted or isinstance(route.original_route, WebSocketRoute)
        methods = MOUNT_METHODS if mounted else tuple(sorted(route.methods or ()))
        found.append(Target(template, f"{path}?{MOUNT_QUERY}" if mounted else path, methods,
                            sockets))
    return found


@pytest.fixture
async def stranger(user: User) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client of the panel the user fixture built, with no session and no token."""
    transport = httpx.ASGITransport(app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        yield client


def turned_away(response: httpx.Response) -> bool:
    """Return whether an answer refuses (401, 403) or sends to the login page, with no data."""
    if response.status_code == 303:
        return response.headers.get("location") == "/login" and response.content == b""
    if response.status_code not in (401, 403):
        return False
    body: Any = response.json()
    return isinstance(body, dict) and set(body) == {"error"}


def secured(response: httpx.Response) -> bool:
    """Return whether an answer tells the browser not to sniff it nor to frame it."""
    policy = response.headers.get("content-security-policy", "")
    return (response.headers.get("x-content-type-options") == "nosniff"
            and "frame-ancestors 'none'" in policy.split("; "))


async def socket_answer(url: str, headers: dict[str, str], client: str = "127.0.0.1"
                        ) -> list[Message]:
    """Open a websocket to the app at url from client, as uvicorn would; return what it sent."""
    path, _, query = url.partition("?")
    sent: list[Message] = []
    answered = asyncio.Event()
    connected = False

    async def receive() -> Message:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await answered.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)
        answered.set()

    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "scheme": "wss", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.replace("polling", "websocket").encode(),
        "headers": [(name.encode(), value.encode())
                    for name, value in {"host": HOST, **UPGRADE, **headers}.items()],
        "client": (client, 50000), "server": (HOST, 443), "subprotocols": [],
    }
    await app(scope, receive, send)
    return sent


def requests() -> list[tuple[str, str]]:
    """Return the (method, url) of every HTTP request to every route."""
    return [request for target in targets() for request in target.requests()]


def test_the_walk_finds_every_kind_of_route(user: User) -> None:
    found = {(method, target.template) for target in targets() for method, _ in target.requests()}

    assert sorted(KNOWN - found) == []
    assert len(found) >= 35
    assert sorted(PUBLIC - set(requests())) == []
    assert any(target.sockets for target in targets())


@pytest.mark.parametrize("origin", [None, ORIGIN], ids=["no origin", "the panel's origin"])
async def test_every_route_turns_away_a_caller_without_session_or_token(
    stranger: httpx.AsyncClient, origin: str | None
) -> None:
    headers = {"origin": origin} if origin else {}
    guarded = [request for request in requests() if request not in PUBLIC]
    wrong = []
    for method, url in guarded:
        response = await stranger.request(method, url, headers=headers)
        if not turned_away(response) or not secured(response):
            wrong.append(f"{method} {url}: {response.status_code} "
                         f"{response.headers.get('location', '')} {response.text[:120]!r}")

    assert wrong == []
    assert len(guarded) >= 30


async def test_the_public_routes_say_nothing_more_than_they_must(
    stranger: httpx.AsyncClient
) -> None:
    answers = {(method, url): await stranger.request(method, url, headers={"origin": ORIGIN})
               for method, url in requests() if (method, url) in PUBLIC}

    assert set(answers) == PUBLIC
    assert all(answer.status_code < 500 for answer in answers.values())
    assert answers["GET", "/api/health"].json() == {"status": "ok"}
    assert answers["GET", "/login"].status_code == 200
    assert answers["GET", "/login/style.css"].headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("origin", [None, ORIGIN], ids=["no origin", "the panel's origin"])
async def test_every_socket_is_closed_to_a_caller_without_a_session(
    user: User, origin: str | None
) -> None:
    headers = {"origin": origin} if origin else {}
    answers = {target.url: await socket_answer(target.url, headers)
               for target in targets() if target.sockets}

    assert answers
    closed = [{"type": "websocket.close", "code": 1008}]
    assert all(sent == closed for sent in answers.values()), answers


async def test_an_owners_socket_opens_from_the_allowlist_only(user: User) -> None:
    cookie = f"{SESSION_COOKIE}={user.http_client.cookies[SESSION_COOKIE]}"
    session = {"origin": ORIGIN, "cookie": cookie}
    (url,) = {target.url for target in targets() if target.template == "/_nicegui_ws/{path}"}

    inside = await socket_answer(url, session, client="127.0.0.1")
    outside = await socket_answer(url, session, client="127.0.0.2")

    assert inside[0] == {"type": "websocket.accept"}
    assert outside == [{"type": "websocket.close", "code": 1008}]
