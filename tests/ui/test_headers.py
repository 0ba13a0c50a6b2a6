"""Every answer of the panel carries the browser's security headers, refusals included."""

from __future__ import annotations

import httpx
from nicegui import app
from nicegui.testing.user import User
from starlette.types import Message, Receive, Scope, Send

from ui.headers import SECURITY_HEADERS, SecurityHeaders


def assert_secured(response: httpx.Response) -> None:
    """Assert that the response carries each security header once, with its value."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], name


async def test_a_page_carries_every_header(user: User) -> None:
    response = await user.http_client.get("/")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert_secured(response)


async def test_an_api_answer_carries_every_header(user: User) -> None:
    response = await user.http_client.get("/api/health")

    assert response.status_code == 200
    assert_secured(response)


async def test_a_missing_page_carries_every_header(user: User) -> None:
    response = await user.http_client.get("/no/such/page")

    assert response.status_code == 404
    assert_secured(response)


async def test_the_ip_guards_refusal_carries_every_header(user: User) -> None:
    transport = httpx.ASGITransport(app, client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://panel") as outsider:
        response = await outsider.get("/api/health")

    assert response.status_code == 403
    assert_secured(response)


def test_the_policy_frames_nothing_and_loads_only_from_the_panel() -> None:
    policy = dict(directive.split(" ", 1)
                  for directive in SECURITY_HEADERS["Content-Security-Policy"].split("; "))

    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert all("*" not in sources and "http" not in sources for sources in policy.values())


async def answer(app_headers: list[tuple[bytes, bytes]], scope_type: str = "http"
                 ) -> list[Message]:
    """Return what SecurityHeaders sends for an app that answers with app_headers."""
    sent: list[Message] = []

    async def downstream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": app_headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeaders(downstream)({"type": scope_type}, receive, send)
    return sent


async def test_a_header_the_app_set_is_kept_and_not_repeated() -> None:
    sent = await answer([(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-type", b"text/plain")])

    headers = sent[0]["headers"]
    assert [value for name, value in headers if name.lower() == b"x-frame-options"] == [
        b"SAMEORIGIN"]
    assert (b"x-content-type-options", b"nosniff") in headers
    assert len(headers) == 2 + len(SECURITY_HEADERS) - 1
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}


async def test_a_websocket_passes_untouched() -> None:
    sent = await answer([], scope_type="websocket")

    assert sent[0]["headers"] == []
