"""The owner's REST routes of access: users, API tokens, the allowlist and the activity log.

Everything but `/api/session` is the owner's (the guard refuses the others). Each route does its
work through `AccessAdmin` (`ui.access_admin`), as the Access page does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from appliance.store.access import AllowlistChange, ApiToken, Role, TokenScope, User
from ui.access_admin import (
    ACTIVITY_LIMIT,
    AccessAdmin,
    AccessChange,
    AccessRefused,
    ActivityPage,
    AllowlistRequest,
    EnrolRequest,
    TokenRequest,
)
from ui.api import (
    GUARDED,
    RequestRefused,
    as_json,
    body_of,
    error_response,
    errors,
    identity_of,
    json_body,
    query_int,
    whole_number,
)
from ui.auth.guard import client_address
from ui.panel import Panel

ACTIVITY_MAX_LIMIT = 1000
ACTIVITY_LAST_SEQ = 2**63 - 1
"""The largest seq SQLite can hold, so the largest `after` means anything."""

READ = errors(*GUARDED, 503)
"""What a route that reads appliance.db or the signer may refuse."""
CHANGE = errors(*GUARDED, 404, 409, 422, 503)
"""What a route that asks the supervisor for a change may refuse."""
WITH_BODY = errors(*GUARDED, 409, 415, 422, 503)
"""What a route that takes a JSON body and asks the supervisor may refuse."""


class SessionAnswer(BaseModel):
    """Who is asking and what they may do."""

    name: str
    fingerprint: str
    role: Role | None
    scope: TokenScope | None
    may_control: bool
    owner: bool
    development: bool


class KeyAnswer(BaseModel):
    """An operator key plugged in, and the user it is enrolled for."""

    device: str
    usb_id: str
    serial: str
    product: str
    user: str | None


class KeysAnswer(BaseModel):
    """The operator keys plugged in."""

    keys: list[KeyAnswer]


class UserAnswer(BaseModel):
    """A user as the list shows it: its public key only by fingerprint."""

    name: str
    role: Role
    fingerprint: str
    usb_serial: str
    created: float
    revoked: float | None


class UsersAnswer(BaseModel):
    """Every user, revoked ones too."""

    users: list[UserAnswer]


class TokenAnswer(BaseModel):
    """An API token as the API shows it: never its text nor its hash."""

    id: str
    name: str
    scope: TokenScope
    created: float
    expires: float
    revoked: float | None
    created_by: str


class TokensAnswer(BaseModel):
    """Every API token."""

    tokens: list[TokenAnswer]


class NewToken(BaseModel):
    """A token just made: its text is here and nowhere else, ever."""

    id: str
    name: str
    scope: TokenScope
    expires: float
    token: str


class AllowlistAnswer(BaseModel):
    """The allowlist, and the change waiting for confirmation, if any."""

    cidrs: list[str]
    pending: AllowlistChange | None


class ProposedAllowlist(BaseModel):
    """An allowlist in force until `deadline`, unless its author confirms it."""

    cidrs: list[str]
    deadline: float


class ConfirmedAllowlist(BaseModel):
    """The allowlist kept."""

    cidrs: list[str]


def refusal(exc: AccessRefused | RequestRefused) -> JSONResponse:
    """Return a refusal as the API's error answer."""
    return error_response(exc.status, exc.code, exc.message)


def done(request: Request, change: AccessChange, status: int = 200) -> JSONResponse:
    """Name a change for the guard's activity record and return its answer."""
    request.state.activity = {"action": str(change.action), "detail": change.detail}
    return JSONResponse(as_json(change.answer), status_code=status)


def user_json(user: User) -> dict[str, Any]:
    """Return a user as the API shows it (its public key only by fingerprint)."""
    return {"name": user.name, "role": str(user.role), "fingerprint": user.fingerprint,
            "usb_serial": user.usb_serial, "created": user.created, "revoked": user.revoked}


def token_json(token: ApiToken) -> dict[str, Any]:
    """Return a token as the API shows it: never its text nor its hash."""
    return {"id": token.id, "name": token.name, "scope": str(token.scope),
            "created": token.created, "expires": token.expires, "revoked": token.revoked,
            "created_by": token.created_by}


def without_hash(change: AccessChange) -> AccessChange:
    """Return a token's change with the supervisor's answer shown as the API shows a token."""
    return AccessChange(change.action, change.detail,
                        token_json(ApiToken(**change.answer)))


def access_router(panel: Panel) -> APIRouter:
    """Return the /api routes of access."""
    router = APIRouter(prefix="/api")
    admin = AccessAdmin(panel)

    @router.get("/session", response_model=SessionAnswer, responses=errors(*GUARDED))
    async def session(request: Request) -> JSONResponse:
        """Return who is asking and what they may do."""
        who = identity_of(request)
        return JSONResponse({
            "name": who.name, "fingerprint": who.fingerprint,
            "role": str(who.role) if who.role else None,
            "scope": str(who.scope) if who.scope else None,
            "may_control": who.may_control, "owner": who.is_owner,
            "development": panel.development})

    @router.get("/keys", response_model=KeysAnswer, responses=READ)
    async def keys() -> JSONResponse:
        """Return the operator keys plugged in, with the user each is enrolled for."""
        try:
            plugged = await admin.keys()
        except AccessRefused as exc:
            return refusal(exc)
        return JSONResponse({"keys": [
            {"device": k.device, "usb_id": k.usb_id, "serial": k.serial, "product": k.product,
             "user": user.name if user else None} for k, user in plugged]})

    @router.get("/users", response_model=UsersAnswer, responses=READ)
    async def list_users() -> JSONResponse:
        """Return every user, revoked ones too."""
        try:
            return JSONResponse({"users": [user_json(u) for u in admin.users()]})
        except AccessRefused as exc:
            return refusal(exc)

    @router.post("/users", status_code=201, response_model=User,
                 responses=errors(*GUARDED, 404, 409, 415, 422, 503),
                 openapi_extra=json_body(EnrolRequest))
    async def enrol(request: Request) -> JSONResponse:
        """Enrol the operator key plugged in at `device` for a new user."""
        try:
            return done(request, await admin.enrol(await body_of(request, EnrolRequest)), 201)
        except (AccessRefused, RequestRefused) as exc:
            return refusal(exc)

    @router.delete("/users/{fingerprint}", response_model=User, responses=CHANGE)
    async def revoke_user(fingerprint: str, request: Request) -> JSONResponse:
        """Revoke a user and end their sessions."""
        try:
            return done(request, await admin.revoke_user(fingerprint))
        except AccessRefused as exc:
            return refusal(exc)

    @router.get("/tokens", response_model=TokensAnswer, responses=READ)
    async def list_tokens() -> JSONResponse:
        """Return every API token, without its text."""
        try:
            return JSONResponse({"tokens": [token_json(t) for t in admin.tokens()]})
        except AccessRefused as exc:
            return refusal(exc)

    @router.post("/tokens", status_code=201, response_model=NewToken, responses=WITH_BODY,
                 openapi_extra=json_body(TokenRequest))
    async def create_token(request: Request) -> JSONResponse:
        """Create an API token; its text is in this answer and nowhere else, ever."""
        try:
            change = await admin.create_token(await body_of(request, TokenRequest),
                                              identity_of(request).fingerprint)
        except (AccessRefused, RequestRefused) as exc:
            return refusal(exc)
        answer = done(request, change, 201)
        answer.headers["cache-control"] = "no-store"
        return answer

    @router.delete("/tokens/{token_id}", response_model=TokenAnswer, responses=CHANGE)
    async def revoke_token(token_id: str, request: Request) -> JSONResponse:
        """Revoke an API token."""
        try:
            return done(request, without_hash(await admin.revoke_token(token_id)))
        except AccessRefused as exc:
            return refusal(exc)

    @router.get("/allowlist", response_model=AllowlistAnswer, responses=READ)
    async def allowlist() -> JSONResponse:
        """Return the allowlist and the change waiting for confirmation, if any."""
        try:
            return JSONResponse({"cidrs": admin.allowlist(), "pending": await admin.pending()})
        except AccessRefused as exc:
            return refusal(exc)

    @router.put("/allowlist", response_model=ProposedAllowlist, responses=WITH_BODY,
                openapi_extra=json_body(AllowlistRequest))
    async def propose(request: Request) -> JSONResponse:
        """Replace the allowlist; it reverts unless confirmed within its time."""
        try:
            form = await body_of(request, AllowlistRequest)
            return done(request, await admin.propose_allowlist(
                form, client_address(request.scope), identity_of(request).name))
        except (AccessRefused, RequestRefused) as exc:
            return refusal(exc)

    @router.post("/allowlist/confirm", response_model=ConfirmedAllowlist, responses=CHANGE)
    async def confirm(request: Request) -> JSONResponse:
        """Keep the allowlist change waiting for confirmation."""
        try:
            return done(request, await admin.confirm_allowlist(client_address(request.scope)))
        except AccessRefused as exc:
            return refusal(exc)

    @router.get("/activity", response_model=ActivityPage, responses=errors(*GUARDED, 422, 503),
                openapi_extra={"parameters": [
                    query_int("after", 0, ACTIVITY_LAST_SEQ, 0, "the seq to start after"),
                    query_int("limit", 1, ACTIVITY_MAX_LIMIT, ACTIVITY_LIMIT,
                              "how many records to return")]})
    async def activity(
        after: Annotated[str | None, Query(include_in_schema=False)] = None,
        limit: Annotated[str | None, Query(include_in_schema=False)] = None,
    ) -> JSONResponse:
        """Return the user-activity log from after seq `after`, and whether its chain holds."""
        start = whole_number(after, 0, ACTIVITY_LAST_SEQ, 0)
        count = whole_number(limit, 1, ACTIVITY_MAX_LIMIT, ACTIVITY_LIMIT)
        if start is None or count is None:
            return error_response(422, "invalid_range", f"limit must be 1 to "
                                  f"{ACTIVITY_MAX_LIMIT} and after at least 0")
        try:
            page = admin.activity(start, count)
        except AccessRefused as exc:
            return refusal(exc)
        return JSONResponse(as_json({"records": page.records, "chain": page.chain}))

    return router
