"""Junk in any part of a request gets a 4xx that says so, never a 5xx, and the panel serves on.

Cookies, headers, bodies and tokens go to the panel as the box runs it (`python -m ui` over
HTTPS); the owner's routes, which need a USB-key login the real process cannot have here, go
to the panel built in-process with an owner's session.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from nicegui.testing.user import User

from appliance.datadir import DataDir
from tests.ui.panel_box import CONTROL_TOKEN, READ_TOKEN, ControlServer
from tests.ui.panel_server import serving_panel, trusting

ACTIVATE = "/api/bots/bot-1/symbols/activate"
BODY = {"symbol": "MTS/USDT"}
"""The body of a good symbol action on bot-1."""

KIB = 1024
BIG = 64 * KIB
"""An oversized header: uvicorn may read it, answer 4xx or hang up, but must not fail."""

JUNK = secrets.token_urlsafe(4 * KIB)[: 4 * KIB]
NON_ASCII = b"\xff\xfe=\x80\x81; \xc3\xa9t\xc3\xa9=\xe2\x98\x83; mmbox_session=\xfe\xff"
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
BEARER = {"authorization": f"Bearer {CONTROL_TOKEN.text}"}
CLOSED = None
"""The panel hung up instead of answering: allowed for oversized headers only."""


@dataclass(frozen=True)
class Case:
    """One bad request and the answers it may get."""

    method: str
    path: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    answers: frozenset[int | None] = frozenset()


def case(method: str, path: str, answers: set[int | None], body: bytes = b"", /,
         **headers: str | bytes) -> Case:
    """Return a bad request; header names are given with '_' for '-'."""
    raw = [(name.replace("_", "-").encode(), value if isinstance(value, bytes) else value.encode())
           for name, value in headers.items()]
    return Case(method, path, raw, body, frozenset(answers))


def wrong_secret(text: str) -> str:
    """Return a token with the same id and a different secret."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


COOKIES = [
    case("GET", "/", {303}, cookie=";;;"),
    case("GET", "/", {303}, cookie=f"junk={JUNK}"),
    case("GET", "/", {303}, cookie=NON_ASCII),
    case("GET", "/", {303}, cookie="mmbox_session=../../etc/passwd; mmbox_session=\"\""),
    case("GET", "/api/bots", {401}, cookie=NON_ASCII),
    case("GET", "/api/bots", {200}, cookie=";;;", **{"authorization": BEARER["authorization"]}),
    case("GET", "/api/bots", {200}, cookie=NON_ASCII, authorization=BEARER["authorization"]),
    case("GET", "/api/bots", {200}, cookie=f"junk={JUNK}", authorization=BEARER["authorization"]),
    case("GET", "/login", {200}, cookie=NON_ASCII),
]
OVERSIZED = [
    case("GET", "/api/health", {200, 400, 413, 431, CLOSED}, x_junk="a" * BIG),
    case("GET", "/", {303, 400, 413, 431, CLOSED}, cookie="junk=" + "b" * BIG),
    case("GET", "/api/bots", {401, 400, 413, 431, CLOSED}, authorization="Bearer " + "c" * BIG),
]
TOKENS = [
    case("GET", "/api/bots", {401}, authorization="Bearer"),
    case("GET", "/api/bots", {401}, authorization="Bearer x"),
    case("GET", "/api/bots", {401}, authorization=f"Bearer mmb_{'0' * 12}_{'A' * 43}"),
    case("GET", "/api/bots", {401}, authorization=f"Bearer {CONTROL_TOKEN.text}x"),
    case("GET", "/api/bots", {401}, authorization=f"Bearer {wrong_secret(CONTROL_TOKEN.text)}"),
    case("GET", "/api/bots", {401}, authorization=f"Bearer {CONTROL_TOKEN.text.upper()}"),
    case("GET", "/api/bots", {401}, authorization=f"Basic {CONTROL_TOKEN.text}"),
    case("GET", "/api/bots", {401}, authorization=b"Bearer \xff\xfe" + CONTROL_TOKEN.text.encode()),
    case("GET", "/api/bots", {401}, authorization=f"Bearer {CONTROL_TOKEN.text}, Bearer x"),
    case("POST", ACTIVATE, {403}, json.dumps(BODY).encode(), **JSON,
         authorization=f"Bearer {READ_TOKEN.text}"),
]
LOGIN_FORMS = [
    case("POST", "/login", {400}, b'{"device": "soft:dev-key-1", "pin": "1234"}', **JSON),
    case("POST", "/login", {400}, b"device=soft%3Adev-key-1&pin=1234", content_type="text/plain"),
    case("POST", "/login", {400}, b"device=soft%3Adev-key-1&pin=1234",
         content_type="multipart/form-data; boundary=x"),
    case("POST", "/login", {400}, b"device=soft%3Adev-key-1&pin=1234"),
    case("POST", "/login", {400}, b"device=\xff\xfe&pin=\x80", **FORM),
    case("POST", "/login", {400}, b"device=x&pin=" + b"1" * 65, **FORM),
    case("POST", "/login", {400}, b"pin=" + b"1" * 5 * KIB, **FORM),
    case("POST", "/login", {400}, b"&".join(b"f%d=1" % n for n in range(20)), **FORM),
    case("POST", "/login", {400}, b";;;&&&===%%%", **FORM),
    case("POST", "/login", {400}, b"", content_type=b"application/x-www-form-urlencoded; x=\xff"),
]
SYMBOL_BODIES = [
    case("POST", ACTIVATE, {422}, b'{"symbol": ', **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b"symbol=MTS/USDT", content_type="text/plain", **BEARER),
    case("POST", ACTIVATE, {422}, b"symbol=MTS%2FUSDT", **FORM, **BEARER),
    case("POST", ACTIVATE, {422}, b"", **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b"null", **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b"[]", **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b'{"symbol": 5}', **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b'{"symbol": ""}', **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b'{"symbol": "\xff\xfe"}', **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b"[" * 100_000, **JSON, **BEARER),
    case("POST", ACTIVATE, {422}, b'{"symbol": ' * 10_000, **JSON, **BEARER),
    case("POST", ACTIVATE, {409, 422}, json.dumps({"symbol": "X" * BIG}).encode(), **JSON,
         **BEARER),
    case("POST", ACTIVATE, {404}, b'{"symbol": "MTS/USDT\\u0000"}', **JSON, **BEARER),
    case("POST", "/api/bots/bot-1/symbols/explode", {400}, json.dumps(BODY).encode(), **JSON,
         **BEARER),
    case("POST", "/api/bots/no-such-bot/symbols/activate", {404}, json.dumps(BODY).encode(),
         **JSON, **BEARER),
    case("POST", "/api/tokens", {403}, b'{"name": ', **JSON, **BEARER),
    case("PUT", "/api/allowlist", {403}, b'{"cidrs": ', **JSON, **BEARER),
]
QUERIES = [
    case("GET", "/api/bots/bot-1/api-log?limit=0", {422}, **BEARER),
    case("GET", "/api/bots/bot-1/api-log?limit=-1", {422}, **BEARER),
    case("GET", "/api/bots/bot-1/api-log?limit=%ff%fe", {422}, **BEARER),
    case("GET", "/api/bots/bot-1/api-log?limit=%D9%A3", {422}, **BEARER),
    case("GET", "/api/bots/bot-1/api-log?limit=" + "9" * 100, {422}, **BEARER),
    case("GET", "/api/bots/%ff/api-log", {404}, **BEARER),
    case("GET", "/api/bots/bot-1%00/api-log", {404}, **BEARER),
    case("GET", "/api/bots/%2e%2e/api-log", {404}, **BEARER),
    case("POST", "/api/bots/%ff%00/start", {404}, **BEARER),
    case("POST", "/api/bots/" + "a" * 20 * KIB + "/stop", {404}, **BEARER),
]
HUGE_LIMIT = case("GET", "/api/bots/bot-1/api-log?limit=" + "9" * 5000, {422}, **BEARER)
"""More digits than Python turns into an int (4300): the panel must not try."""

OWNER_BODIES = [
    case("GET", "/api/activity?limit=" + "9" * 5000, {422}),
    case("GET", "/api/activity?after=-1", {422}),
    case("GET", "/api/activity?after=%ff", {422}),
    case("DELETE", "/api/tokens/%ff%00", {404, 422}),
    case("DELETE", "/api/users/" + "f" * 20 * KIB, {404, 422}),
    case("POST", "/api/tokens", {415}, b'{"name": "x", "scope": "read"}',
         content_type="text/plain"),
    case("POST", "/api/tokens", {415}, b'{"name": "x", "scope": "read"}'),
    case("POST", "/api/tokens", {415}, b"name=x&scope=read", **FORM),
    case("POST", "/api/tokens", {422}, b'{"name": ', **JSON),
    case("POST", "/api/tokens", {422}, b"", **JSON),
    case("POST", "/api/tokens", {422}, b"[]", **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "x", "scope": "root"}', **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "", "scope": "read"}', **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "x", "scope": "read", "days": 0}', **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "x", "scope": "read", "days": 1e400}', **JSON),
    case("POST", "/api/tokens", {422},
         b'{"name": "x", "scope": "read", "days": ' + b"9" * 5000 + b"}", **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "x", "scope": "read", "days": NaN}', **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "x", "scope": "read", "admin": true}', **JSON),
    case("POST", "/api/tokens", {422}, b'{"name": "\xff", "scope": "read"}', **JSON),
    case("POST", "/api/tokens", {422}, b"[" * 100_000, **JSON),
    case("PUT", "/api/allowlist", {415}, b'{"cidrs": ["127.0.0.1/32"]}', content_type="text/csv"),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": ', **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": []}', **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": [null]}', **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": "127.0.0.1/32"}', **JSON),
    case("PUT", "/api/allowlist", {422}, json.dumps({"cidrs": ["10.0.0.1"] * 65}).encode(), **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": ["not a network"]}', **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": ["127.0.0.1/33"]}', **JSON),
    case("PUT", "/api/allowlist", {409, 422}, json.dumps({"cidrs": ["1" * BIG]}).encode(),
         **JSON),
    case("PUT", "/api/allowlist", {422}, b'{"cidrs": ["\xff\xfe"]}', **JSON),
]


async def answer(client: httpx.AsyncClient, bad: Case) -> int | None:
    """Send a bad request; return the status of its answer, or CLOSED if the panel hung up."""
    try:
        response = await client.request(bad.method, bad.path, headers=bad.headers,
                                        content=bad.body)
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return CLOSED
    return response.status_code


async def misanswered(client: httpx.AsyncClient, cases: list[Case]) -> list[str]:
    """Send each bad request; return those answered otherwise than they may be."""
    wrong = []
    for bad in cases:
        status = await answer(client, bad)
        if status not in bad.answers:
            shown = {name.decode(): value[:40] for name, value in bad.headers}
            wrong.append(f"{bad.method} {bad.path} {shown} {bad.body[:40]!r}: {status}")
    return wrong


@pytest.fixture
async def panel(datadir: DataDir, tmp_path: Path, control: ControlServer
                ) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the box's panel over HTTPS beside its supervisor; yield a client of it."""
    async with (serving_panel(datadir, tmp_path / "panel.log") as url,
                httpx.AsyncClient(verify=trusting(datadir), base_url=url) as client):
        client.headers["origin"] = url
        yield client


@pytest.mark.parametrize(
    "cases", [COOKIES, OVERSIZED, TOKENS, LOGIN_FORMS, SYMBOL_BODIES, QUERIES],
    ids=["cookies", "oversized headers", "tokens", "login forms", "symbol actions", "queries"])
async def test_junk_gets_a_4xx_and_the_panel_serves_on(
    panel: httpx.AsyncClient, control: ControlServer, cases: list[Case]
) -> None:
    wrong = await misanswered(panel, cases)
    health = await panel.get("/api/health")
    done = await panel.post(ACTIVATE, json=BODY, headers=BEARER)

    assert wrong == []
    assert health.status_code == 200
    assert done.json() == {"bot": "bot-1", "symbol": "MTS/USDT", "state": "ACTIVE"}
    assert control.calls == [("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT",
                                                "action": "activate",
                                                "actor": "control script",
                                                "fingerprint": f"token:{CONTROL_TOKEN.id}"})]


async def test_junk_to_the_owners_routes_gets_a_4xx_and_changes_nothing(
    user: User, control: ControlServer
) -> None:
    tokens_before = (await user.http_client.get("/api/tokens")).json()

    wrong = await misanswered(user.http_client, OWNER_BODIES)

    assert wrong == []
    assert (await user.http_client.get("/api/health")).status_code == 200
    assert (await user.http_client.get("/api/tokens")).json() == tokens_before
    assert (await user.http_client.get("/api/allowlist")).json() == {
        "cidrs": ["127.0.0.1/32"], "pending": None}


async def test_a_limit_too_long_to_be_a_number_gets_a_422(panel: httpx.AsyncClient) -> None:
    assert await misanswered(panel, [HUGE_LIMIT]) == []
    assert (await panel.get("/api/health")).status_code == 200


@pytest.mark.parametrize("path", ["/api/bots/" + "a" * 300 + "/stop", "/api/bots/bot-1%00/stop"],
                         ids=["long path", "unprintable path"])
async def test_a_change_asked_with_a_junk_path_is_still_recorded(
    user: User, control: ControlServer, path: str
) -> None:
    refused = await user.http_client.post(path)
    records = (await user.http_client.get("/api/activity")).json()["records"]

    assert refused.status_code == 404
    assert [(r["actor"], r["outcome"]) for r in records] == [("alice", "refused")]
    assert records[0]["action"].startswith("POST /api/bots/")
