"""Ask every request and socket for a session or an API token, and record what changes the box.

A pure ASGI middleware inside the IP guard: it sees pages, REST routes and NiceGUI's socket
alike. Only the login page, its stylesheet and `GET /api/health` are open without one.

- Pages and the NiceGUI socket want a session (the cookie a USB-key login set); REST routes
  and `/metrics`, which scripts and Prometheus call, take a session or
  `Authorization: Bearer <token>`, and answer 401 rather than sending a caller to log in.
- What a caller may do: viewing needs any session or token; a request that changes anything
  needs a session or a control token; the owner's routes (users, tokens, allowlist, activity)
  need an owner's session.
- A state-changing request and every socket must come from the panel's own origin (`Origin`
  equal to `https://<Host>`, or the browser's `Sec-Fetch-Site: same-origin` where it sends
  `Origin: null`), so no other site can act with a logged-in browser's cookie.
- Every state-changing request, allowed or refused, is recorded in the user-activity log with
  who made it, from where, and its outcome; a handler may name the action more precisely in
  `request.state.activity`.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance.store.access import ApiToken, Role, TokenScope
from ui.auth.sessions import Session, SessionBook
from ui.auth.tokens import token_id, token_matches

log = logging.getLogger(__name__)

SESSION_COOKIE = "mmbox_session"
LOGIN_PATH = "/login"
SOCKET_PREFIX = "/_nicegui_ws/"
REST_PREFIX = "/api/"
METRICS_PATH = "/metrics"
"""The box's figures for Prometheus: viewed, like the REST API, with a session or any token."""
PUBLIC = {
    ("GET", LOGIN_PATH), ("POST", LOGIN_PATH), ("GET", "/login/style.css"),
    ("POST", "/login/dev-key"), ("GET", "/api/health"),
}
"""(method, path) open without a session or token; HEAD goes with GET. `/login/dev-key`
exists only on a development box: it plugs in a software key, as a hand plugs in a USB key."""

OWNER_PATHS = (
    "/api/users", "/api/tokens", "/api/allowlist", "/api/activity", "/access", "/unlock")
"""Paths (and everything under them) only an owner's session may use."""

ACTION_MAX = 200
"""The longest action the supervisor's activity log takes."""

OWNER_CHANGES = re.compile(r"/api/(bots/[^/]+/(pairs|risk)|config|exchanges|alerts)(/.*)?")
"""Paths that anyone logged in may read but only an owner may change: settings and history,
a bot's pairs, exchange accounts (testing credentials too), and where alerts go."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POLICY_VIOLATION = 1008
USER_EVENT = '42["event"'
"""How a socket.io frame starts when the browser reports a click or an input, not a ping."""


class Need(enum.Enum):
    """What a request asks of its caller."""

    NOTHING = "nothing"
    VIEW = "view"
    CONTROL = "control"
    OWNER = "owner"


@dataclass(frozen=True)
class Identity:
    """Who is asking: a logged-in user or an API token."""

    name: str
    fingerprint: str
    """The user's key fingerprint, or `token:<id>`."""
    role: Role | None = None
    scope: TokenScope | None = None
    session: Session | None = None

    @property
    def may_control(self) -> bool:
        """Return whether it may change what the box does (start, stop, pause, ...)."""
        return self.role is not None or self.scope is TokenScope.CONTROL

    @property
    def is_owner(self) -> bool:
        """Return whether it is an owner's session."""
        return self.role is Role.OWNER

    def allows(self, need: Need) -> bool:
        """Return whether it meets a request's need."""
        if need is Need.OWNER:
            return self.is_owner
        if need is Need.CONTROL:
            return self.may_control
        return True


@dataclass(frozen=True)
class ActivityEntry:
    """One line of the user-activity log, before the supervisor chains it."""

    actor: str
    fingerprint: str
    address: str
    action: str
    outcome: str
    detail: dict[str, Any]


Recorder = Callable[[ActivityEntry], Awaitable[None]]
TokenLookup = Callable[[str], ApiToken | None]


def need_of(method: str, path: str) -> Need:
    """Return what a request needs of its caller."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in PUBLIC:
        return Need.NOTHING
    if any(path == p or path.startswith(p + "/") for p in OWNER_PATHS):
        return Need.OWNER
    if method not in SAFE_METHODS and OWNER_CHANGES.match(path):
        return Need.OWNER
    if method not in SAFE_METHODS and not path.startswith(SOCKET_PREFIX):
        return Need.CONTROL
    return Need.VIEW


def for_scripts(path: str) -> bool:
    """Return whether a path is called by scripts: it takes a token, and refuses with a 401."""
    return path.startswith(REST_PREFIX) or path == METRICS_PATH


def headers_of(scope: Scope) -> dict[str, str]:
    """Return a scope's headers by lower-case name (the last of a repeated header wins)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])}


def cookie_value(header: str, name: str) -> str | None:
    """Return one cookie's value from a Cookie header, tolerating junk around it."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def page_visitor(request: Request, page: str) -> tuple[Identity, Session]:
    """Return who opened `page` and their session; the guard lets no page open without one."""
    identity = request.state.identity
    if not isinstance(identity, Identity) or identity.session is None:
        raise RuntimeError(f"{page} was reached without a session")
    return identity, identity.session


def client_address(scope: Scope) -> str:
    """Return the client's address as the connection has it (never a forwarded header)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class AuthGuard:
    """Let a request through only with a session or token that meets its need."""

    def __init__(
        self, app: ASGIApp, sessions: SessionBook, tokens: TokenLookup, record: Recorder,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.tokens = tokens
        self.record = record
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request on with its identity in `scope["state"]`, or refuse it."""
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        headers = headers_of(scope)
        need = need_of(method, path)
        socket = path.startswith(SOCKET_PREFIX)
        identity = self._identify(headers, tokens_too=for_scripts(path), touch=not socket)
        changes = method not in SAFE_METHODS and not socket
        refusal: tuple[int, str, str] | None = None
        if (changes or socket) and not self._same_origin(headers, identity, required=changes):
            refusal = (403, "cross_origin", "this request did not come from the panel's own "
                       "pages; open the panel at its own address and try again")
        elif need is not Need.NOTHING and identity is None:
            if not socket and not for_scripts(path) and method in SAFE_METHODS:
                await redirect(send, LOGIN_PATH)
                return
            refusal = (401, "unauthenticated", "log in with your USB key, or send an API token "
                       "as 'Authorization: Bearer <token>'")
        elif identity is not None and not identity.allows(need):
            refusal = (403, "forbidden", _forbidden(need))
        state = scope.setdefault("state", {})
        state["identity"] = identity
        if refusal is not None:
            await refuse(send, *refusal)
            if changes:
                await self._note(scope, identity, refusal[0], state)
            return
        if not changes:
            await self.app(scope, receive, send)
            return
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            await self._note(scope, identity, status, state)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = headers_of(scope)
        identity = self._identify(headers, tokens_too=False, touch=False)
        if identity is None or identity.session is None or not self._same_origin(
                headers, identity, required=True):
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        scope.setdefault("state", {})["identity"] = identity
        session_id = identity.session.id

        async def watched() -> Message:
            message = await receive()
            text = message.get("text")
            if isinstance(text, str) and text.startswith(USER_EVENT):
                self.sessions.find(session_id)  # a click or an input: the user is there
            return message

        await self.app(scope, watched, send)

    def _identify(
        self, headers: dict[str, str], *, tokens_too: bool, touch: bool
    ) -> Identity | None:
        """Return who the headers say is asking: a session's cookie, else (REST only) a token.

        With `touch`, the request counts as the session owner's: it pushes the idle expiry back.
        """
        session_id = cookie_value(headers.get("cookie", ""), SESSION_COOKIE)
        if session_id:
            session = self.sessions.find(session_id, touch=touch)
            if session is not None:
                return Identity(session.user.name, session.user.fingerprint, session.role,
                                session=session)
        if not tokens_too:
            return None
        scheme, _, text = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        text = text.strip()
        found = token_id(text)
        stored = self.tokens(found) if found is not None else None
        if stored is None or not token_matches(text, stored, self._clock()):
            return None
        return Identity(stored.name, f"token:{stored.id}", scope=stored.scope)

    def _same_origin(
        self, headers: dict[str, str], identity: Identity | None, *, required: bool
    ) -> bool:
        """Return whether the request comes from the panel's own pages.

        `Origin` must be `https://<Host>`. The panel's `Referrer-Policy: no-referrer` makes a
        browser send `Origin: null` with its own form posts; then `Sec-Fetch-Site`, which a
        browser sets itself and a page cannot, must say `same-origin`. A token's script that
        sends neither header may go on; a browser's cookie may not.
        """
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if origin is None or origin == "null":
            if site is not None:
                return site == "same-origin"
            if origin == "null":
                return False
            return not required or (identity is not None and identity.session is None)
        host = headers.get("host", "")
        return bool(host) and origin == f"https://{host}" and site in (None, "same-origin")

    async def _note(
        self, scope: Scope, identity: Identity | None, status: int, state: dict[str, Any]
    ) -> None:
        """Record one state-changing request in the user-activity log."""
        given = state.get("activity")
        named: dict[str, Any] = given if isinstance(given, dict) else {}
        outcome = named.get("outcome") or _outcome(status)
        entry = ActivityEntry(
            actor=str(named.get("actor") or (identity.name if identity else "")),
            fingerprint=str(named.get("fingerprint") or (identity.fingerprint if identity
                                                         else "")),
            address=client_address(scope),
            action=str(named.get("action") or loggable(f"{scope['method']} {scope['path']}")),
            outcome=str(outcome),
            detail={"status": status, **named.get("detail", {})},
        )
        try:
            await self.record(entry)
        except Exception as exc:  # the request is done; losing its record must not fail it
            log.warning("could not record %s by %r in the activity log: %s",
                        entry.action, entry.actor, exc)


def loggable(text: str) -> str:
    """Return a request's text as the activity log takes it: printable, ACTION_MAX at most."""
    shown = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= ACTION_MAX else shown[:ACTION_MAX - 1] + "…"


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return "refused" if status < 500 else "failed"


def _forbidden(need: Need) -> str:
    if need is Need.OWNER:
        return "only an owner may do this; log in with an owner's key"
    return "this needs an operator's or owner's session, or a control token"


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    """Send an error in the shape the REST API uses."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


async def redirect(send: Send, location: str) -> None:
    """Send the browser to another page of the panel."""
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode()), (b"content-length", b"0"),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": b""})
