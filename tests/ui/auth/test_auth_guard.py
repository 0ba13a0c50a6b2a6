"""The auth guard: who may reach what, from which origin, and what the activity log gets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message, Scope
from starlette.websockets import WebSocket

from appliance.store.access import ApiToken, Role, TokenScope
from tests.ui.auth.auth_bed import token, user
from ui.auth.guard import (
    SESSION_COOKIE,
    ActivityEntry,
    AuthGuard,
    Identity,
    Need,
    cookie_value,
    need_of,
)
from ui.auth.sessions import SessionBook

ORIGIN = "https://panel.test"


async def whoami(request: Request) -> JSONResponse:
    identity = request.state.identity
    assert isinstance(identity, Identity)
    return JSONResponse({"name": identity.name})


async def page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("page")


async def fails(request: Request) -> PlainTextResponse:
    return PlainTextResponse("no such bot", status_code=404)


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


class Box:
    """An app behind the guard, its sessions, tokens and the activity it recorded."""

    def __init__(self) -> None:
        self.sessions = SessionBook()
        self.tokens: dict[str, ApiToken] = {}
        self.activity: list[ActivityEntry] = []
        app = Starlette(routes=[
            Route("/", page), Route("/login", page, methods=["GET", "POST"]),
            Route("/api/health", page), Route("/api/bots", whoami),
            Route("/api/bots/{name}/stop", whoami, methods=["POST"]),
            Route("/api/bots/nobody/start", fails, methods=["POST"]),
            Route("/api/users", whoami, methods=["GET", "POST"]),
            WebSocketRoute("/_nicegui_ws/socket.io/", socket),
        ])
        self.app = AuthGuard(app, self.sessions, self.tokens.get, self.record)

    async def record(self, entry: ActivityEntry) -> None:
        self.activity.append(entry)

    def login(self, role: Role) -> str:
        return self.sessions.open("signer", user(role.value, role), "d", "127.0.0.1").id

    def token(self, scope: TokenScope) -> str:
        made, stored = token(scope)
        self.tokens[stored.id] = stored
        return made.text


@pytest.fixture
def box() -> Box:
    return Box()


@pytest.fixture
async def client(box: Box) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=box.app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        yield client


def cookie(session_id: str) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={session_id}"}


async def test_without_a_session_pages_go_to_login_and_api_routes_answer_401(
    client: httpx.AsyncClient,
) -> None:
    page_answer = await client.get("/")
    assert (page_answer.status_code, page_answer.headers["location"]) == (303, "/login")
    assert (await client.get("/api/bots")).status_code == 401
    stop = await client.post("/api/bots/bot-1/stop", headers={"origin": ORIGIN})
    assert stop.status_code == 401 and "Bearer" in stop.json()["error"]["message"]
    assert (await client.get("/login")).status_code == 200
    assert (await client.get("/api/health")).status_code == 200


async def test_junk_cookies_and_junk_authorization_are_only_unauthenticated(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({"cookie": "mmbox_session"}, {"cookie": ";;==;mmbox_session=\"x"},
                    {"cookie": "\x7f" * 100}, {"authorization": "Bearer"},
                    {"authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
                    {"authorization": "Bearer mmb_0123456789ab_" + "x" * 43}):
        assert (await client.get("/api/bots", headers=headers)).status_code == 401


async def test_a_session_sees_pages_and_api_and_its_role_decides_owner_routes(
    box: Box, client: httpx.AsyncClient,
) -> None:
    owner, operator = box.login(Role.OWNER), box.login(Role.OPERATOR)
    assert (await client.get("/", headers=cookie(operator))).text == "page"
    assert (await client.get("/api/bots", headers=cookie(operator))).json() == {
        "name": "operator"}
    stop = await client.post("/api/bots/bot-1/stop", headers={**cookie(operator),
                                                              "origin": ORIGIN})
    assert stop.status_code == 200
    refused = await client.get("/api/users", headers=cookie(operator))
    assert refused.status_code == 403 and "owner" in refused.json()["error"]["message"]
    assert (await client.get("/api/users", headers=cookie(owner))).status_code == 200


async def test_tokens_reach_the_api_only_and_a_read_token_changes_nothing(
    box: Box, client: httpx.AsyncClient,
) -> None:
    read, control = box.token(TokenScope.READ), box.token(TokenScope.CONTROL)
    bearer = {"authorization": f"Bearer {read}"}
    assert (await client.get("/api/bots", headers=bearer)).status_code == 200
    assert (await client.post("/api/bots/bot-1/stop", headers=bearer)).status_code == 403
    assert (await client.get("/", headers=bearer)).status_code == 303
    control_bearer = {"authorization": f"Bearer {control}"}
    assert (await client.post("/api/bots/bot-1/stop", headers=control_bearer)).status_code == 200
    assert (await client.get("/api/users", headers=control_bearer)).status_code == 403


async def test_a_state_change_needs_the_panels_own_origin_with_a_cookie(
    box: Box, client: httpx.AsyncClient,
) -> None:
    owner = box.login(Role.OWNER)
    for origin in (None, "https://evil.test", "http://panel.test", "null"):
        headers = cookie(owner) | ({"origin": origin} if origin else {})
        answer = await client.post("/api/bots/bot-1/stop", headers=headers)
        assert answer.status_code == 403, origin
        assert answer.json()["error"]["code"] == "cross_origin"
    control = box.token(TokenScope.CONTROL)
    elsewhere = {"authorization": f"Bearer {control}", "origin": "https://evil.test"}
    assert (await client.post("/api/bots/bot-1/stop", headers=elsewhere)).status_code == 403


async def test_a_form_post_under_no_referrer_is_known_by_the_browsers_fetch_site(
    box: Box, client: httpx.AsyncClient,
) -> None:
    """With `Referrer-Policy: no-referrer` a browser posts `Origin: null`; Sec-Fetch-Site,
    which pages cannot set, then tells the panel's own forms from another site's."""
    owner = box.login(Role.OWNER)
    for origin, site, status in (("null", "same-origin", 200), ("null", "cross-site", 403),
                                 ("null", None, 403), (ORIGIN, "cross-site", 403),
                                 (None, "same-site", 403), (None, "same-origin", 200)):
        headers = cookie(owner) | ({"origin": origin} if origin else {}) | (
            {"sec-fetch-site": site} if site else {})
        answer = await client.post("/api/bots/bot-1/stop", headers=headers)
        assert answer.status_code == status, (origin, site)


async def test_every_state_change_is_recorded_with_who_where_and_outcome(
    box: Box, client: httpx.AsyncClient,
) -> None:
    owner = box.login(Role.OWNER)
    await client.post("/api/bots/bot-1/stop", headers={**cookie(owner), "origin": ORIGIN})
    await client.post("/api/bots/nobody/start", headers={**cookie(owner), "origin": ORIGIN})
    await client.post("/api/bots/bot-1/stop")
    await client.get("/api/bots", headers=cookie(owner))
    assert [(e.actor, e.address, e.action, e.outcome, e.detail["status"])
            for e in box.activity] == [
        ("owner", "127.0.0.1", "POST /api/bots/bot-1/stop", "ok", 200),
        ("owner", "127.0.0.1", "POST /api/bots/nobody/start", "refused", 404),
        ("", "127.0.0.1", "POST /api/bots/bot-1/stop", "refused", 403),
    ]
    assert all(owner not in repr(e) for e in box.activity)


async def socket_answer(box: Box, headers: dict[str, str]) -> str:
    """Open the NiceGUI socket's path through the guard; return how the server answered."""
    scope: Scope = {"type": "websocket", "path": "/_nicegui_ws/socket.io/", "raw_path": b"",
             "query_string": b"", "root_path": "", "scheme": "wss", "client": ("127.0.0.1", 5000),
             "server": ("panel.test", 443), "subprotocols": [], "headers": [
                 (b"host", b"panel.test"),
                 *((k.encode(), v.encode()) for k, v in headers.items())]}
    incoming: list[Message] = [{"type": "websocket.connect"},
                               {"type": "websocket.disconnect", "code": 1000}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await box.app(scope, receive, send)
    return str(sent[0]["type"])


async def test_a_socket_needs_a_session_and_the_panels_origin(box: Box) -> None:
    owner = box.login(Role.OWNER)
    token_text = box.token(TokenScope.CONTROL)
    for headers in ({}, {"origin": ORIGIN}, {**cookie(owner), "origin": "https://evil.test"},
                    {**cookie(owner)}, {"authorization": f"Bearer {token_text}",
                                        "origin": ORIGIN}):
        assert await socket_answer(box, headers) == "websocket.close", headers
    assert await socket_answer(box, {**cookie(owner), "origin": ORIGIN}) == "websocket.accept"


def test_cookie_value_takes_the_named_cookie_only() -> None:
    assert cookie_value("a=1; mmbox_session=abc; b=2", SESSION_COOKIE) == "abc"
    assert cookie_value("xmmbox_session=abc", SESSION_COOKIE) is None
    assert cookie_value("", SESSION_COOKIE) is None


def test_settings_are_read_by_anyone_logged_in_and_changed_by_owners_only() -> None:
    settings = "/api/bots/bot-1/pairs/sim/MTS/USDT/settings"
    assert need_of("GET", settings) is Need.VIEW
    assert need_of("PUT", settings) is Need.OWNER
    assert need_of("PUT", "/api/bots/bot-1/risk") is Need.OWNER
    assert need_of("POST", "/api/config/versions/3/restore") is Need.OWNER
    assert need_of("POST", "/api/bots/bot-1/stop") is Need.CONTROL
    assert need_of("POST", "/api/bots/bot-1/symbols/activate") is Need.CONTROL


def test_accounts_and_pairs_are_read_by_anyone_logged_in_and_changed_by_owners_only() -> None:
    for path in ("/api/exchanges", "/api/exchanges/catalog", "/api/bots/bot-1/pairs"):
        assert need_of("GET", path) is Need.VIEW, path
    for method, path in (("POST", "/api/exchanges/test"), ("POST", "/api/exchanges"),
                         ("POST", "/api/exchanges/keys"), ("DELETE", "/api/exchanges/main/bot-1"),
                         ("POST", "/api/bots/bot-1/pairs"),
                         ("DELETE", "/api/bots/bot-1/pairs/main/MTS/USDT")):
        assert need_of(method, path) is Need.OWNER, (method, path)
