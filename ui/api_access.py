"""The REST routes of access: who is asking, users, API tokens, the allowlist, the activity log.

Everything but `/api/session` is the owner's (the guard refuses the others). Changes are asked
of the supervisor, appliance.db's one writer; the panel reads the results back read-only.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.ipc import UNREACHABLE, IpcError
from appliance.store import access, appliance_db
from appliance.store.access import ApiToken, Role, TokenScope, User
from appliance.store.chain import ChainBroken
from appliance.store.database import StoreUnavailable, open_reader
from ui.api import as_json, error_response
from ui.auth.guard import Identity, client_address
from ui.auth.tokens import new_token
from ui.panel import Panel

ACCESS_ERRORS = {UNREACHABLE: 503, "bad_args": 422, "not_found": 404, "conflict": 409,
                 "limit": 409, "lockout": 409}
"""The HTTP status of each refusal code of the supervisor's access ops."""

DAY_S = 86_400.0
MAX_TOKEN_DAYS = 366
ACTIVITY_LIMIT = 100
ACTIVITY_MAX_LIMIT = 1000


class Form(BaseModel):
    """A JSON body: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenRequest(Form):
    """An API token to create."""

    name: str = Field(min_length=1, max_length=40)
    scope: TokenScope
    days: int = Field(default=90, ge=1, le=MAX_TOKEN_DAYS, description="days until it expires")


class EnrolRequest(Form):
    """An operator key plugged in, to enrol for a new user."""

    device: str = Field(min_length=1, max_length=300, description="as /api/keys lists it")
    name: str = Field(min_length=1, max_length=40)
    role: Role
    pin: str | None = Field(default=None, max_length=64,
                            description="the key's PIN, if it shows its public key only after it")


class AllowlistRequest(Form):
    """A new allowlist: addresses and CIDR ranges."""

    cidrs: list[str] = Field(min_length=1, max_length=64)


def identity_of(request: Request) -> Identity:
    """Return who is asking (the guard let the request through, so someone is)."""
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        raise RuntimeError("an access route was reached without the auth guard")
    return identity


async def body_of(request: Request, model: type[Form]) -> Form | JSONResponse:
    """Return a JSON body as `model`, or the 4xx answer saying what is wrong with it."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return error_response(415, "unsupported_media_type", "send the body as JSON with "
                              "'Content-Type: application/json'")
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        return error_response(422, "invalid_body", problems)


async def asked(answer: Awaitable[dict[str, Any]]) -> dict[str, Any] | JSONResponse:
    """Return the supervisor's answer, or its refusal as an HTTP error."""
    try:
        return await answer
    except IpcError as exc:
        return error_response(ACCESS_ERRORS.get(exc.code, 409), exc.code, exc.message)


def user_json(user: User) -> dict[str, Any]:
    """Return a user as the API shows it (its public key only by fingerprint)."""
    return {"name": user.name, "role": str(user.role), "fingerprint": user.fingerprint,
            "usb_serial": user.usb_serial, "created": user.created, "revoked": user.revoked}


def token_json(token: ApiToken) -> dict[str, Any]:
    """Return a token as the API shows it: never its text nor its hash."""
    return {"id": token.id, "name": token.name, "scope": str(token.scope),
            "created": token.created, "expires": token.expires, "revoked": token.revoked,
            "created_by": token.created_by}


def access_router(panel: Panel) -> APIRouter:
    """Return the /api routes of access."""
    router = APIRouter(prefix="/api")
    db_path = panel.accounts.path

    def read(work: Any) -> Any:
        db = open_reader(db_path)
        try:
            return work(db)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read {db_path}: {exc}") from None
        finally:
            db.close()

    @router.get("/session")
    async def session(request: Request) -> JSONResponse:
        """Return who is asking and what they may do."""
        who = identity_of(request)
        return JSONResponse({
            "name": who.name, "fingerprint": who.fingerprint,
            "role": str(who.role) if who.role else None,
            "scope": str(who.scope) if who.scope else None,
            "may_control": who.may_control, "owner": who.is_owner,
            "development": panel.development})

    @router.get("/keys")
    async def keys() -> JSONResponse:
        """Return the operator keys plugged in, with the user each is enrolled for."""
        try:
            plugged = await panel.signer.plugged_keys()
            users = {u.usb_serial: u for u in panel.accounts.users()}
        except IpcError as exc:
            return error_response(503, exc.code, exc.message)
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse({"keys": [
            {"device": k.device, "usb_id": k.usb_id, "serial": k.serial, "product": k.product,
             "user": users[k.serial].name if k.serial in users else None} for k in plugged]})

    @router.get("/users")
    async def list_users() -> JSONResponse:
        """Return every user, revoked ones too."""
        try:
            users = read(lambda db: access.users(db, include_revoked=True))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse({"users": [user_json(u) for u in users]})

    @router.post("/users")
    async def enrol(request: Request) -> JSONResponse:
        """Enrol the operator key plugged in at `device` for a new user."""
        form = await body_of(request, EnrolRequest)
        if isinstance(form, JSONResponse):
            return form
        assert isinstance(form, EnrolRequest)
        try:
            plugged = {k.device: k for k in await panel.signer.plugged_keys()}
        except IpcError as exc:
            return error_response(503, exc.code, exc.message)
        key = plugged.get(form.device)
        if key is None:
            return error_response(404, "key_absent", f"no operator key is plugged in at "
                                  f"{form.device}; plug it in and pick it from /api/keys")
        try:
            enrolment = await panel.signer.enrolment({"token_serial": key.serial}, form.pin)
        except IpcError as exc:
            return error_response(422, exc.code, exc.message)
        answer = await asked(panel.supervisor.ask(
            "user_enrol", name=form.name, role=str(form.role),
            public_key_pem=enrolment["public_key_pem"], usb_serial=key.serial,
            token_label=enrolment.get("token_label"), token_serial=enrolment.get("token_serial"),
            key_id=enrolment.get("key_id"), key_label=enrolment.get("key_label")))
        if isinstance(answer, JSONResponse):
            return answer
        request.state.activity = {"action": "user_enrol", "detail": {
            "user": form.name, "role": str(form.role), "key_serial": key.serial}}
        return JSONResponse(as_json(answer), status_code=201)

    @router.delete("/users/{fingerprint}")
    async def revoke_user(fingerprint: str, request: Request) -> JSONResponse:
        """Revoke a user and end their sessions."""
        answer = await asked(panel.supervisor.ask("user_revoke", fingerprint=fingerprint))
        if isinstance(answer, JSONResponse):
            return answer
        for ended in panel.sessions.of_user(fingerprint):
            await panel.watch.end(ended, "user revoked")
        request.state.activity = {"action": "user_revoke",
                                  "detail": {"user_fingerprint": fingerprint}}
        return JSONResponse(as_json(answer))

    @router.get("/tokens")
    async def list_tokens() -> JSONResponse:
        """Return every API token, without its text."""
        try:
            tokens = read(access.api_tokens)
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse({"tokens": [token_json(t) for t in tokens]})

    @router.post("/tokens")
    async def create_token(request: Request) -> JSONResponse:
        """Create an API token; its text is in this answer and nowhere else, ever."""
        form = await body_of(request, TokenRequest)
        if isinstance(form, JSONResponse):
            return form
        assert isinstance(form, TokenRequest)
        made = new_token()
        expires = time.time() + form.days * DAY_S
        answer = await asked(panel.supervisor.ask(
            "token_create", id=made.id, name=form.name, scope=str(form.scope), hash=made.hash,
            expires=expires, created_by=identity_of(request).fingerprint))
        if isinstance(answer, JSONResponse):
            return answer
        request.state.activity = {"action": "token_create", "detail": {
            "token": made.id, "name": form.name, "scope": str(form.scope)}}
        return JSONResponse({"id": made.id, "name": form.name, "scope": str(form.scope),
                             "expires": expires, "token": made.text}, status_code=201,
                            headers={"cache-control": "no-store"})

    @router.delete("/tokens/{token_id}")
    async def revoke_token(token_id: str, request: Request) -> JSONResponse:
        """Revoke an API token."""
        answer = await asked(panel.supervisor.ask("token_revoke", id=token_id))
        if isinstance(answer, JSONResponse):
            return answer
        request.state.activity = {"action": "token_revoke", "detail": {"token": token_id}}
        return JSONResponse(as_json(answer))

    @router.get("/allowlist")
    async def allowlist() -> JSONResponse:
        """Return the allowlist and the change waiting for confirmation, if any."""
        try:
            cidrs = read(appliance_db.allowlist)
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        pending = await asked(panel.supervisor.ask("allowlist_pending"))
        if isinstance(pending, JSONResponse):
            return pending
        return JSONResponse({"cidrs": list(cidrs), "pending": pending.get("result", pending)})

    @router.put("/allowlist")
    async def propose(request: Request) -> JSONResponse:
        """Replace the allowlist; it reverts unless confirmed within its time."""
        form = await body_of(request, AllowlistRequest)
        if isinstance(form, JSONResponse):
            return form
        assert isinstance(form, AllowlistRequest)
        answer = await asked(panel.supervisor.ask(
            "allowlist_propose", cidrs=form.cidrs, address=client_address(request.scope),
            author=identity_of(request).name))
        if isinstance(answer, JSONResponse):
            return answer
        request.state.activity = {"action": "allowlist_propose", "detail": {"cidrs": form.cidrs}}
        return JSONResponse(as_json(answer))

    @router.post("/allowlist/confirm")
    async def confirm(request: Request) -> JSONResponse:
        """Keep the allowlist change waiting for confirmation."""
        answer = await asked(panel.supervisor.ask(
            "allowlist_confirm", address=client_address(request.scope)))
        if isinstance(answer, JSONResponse):
            return answer
        request.state.activity = {"action": "allowlist_confirm"}
        return JSONResponse(as_json(answer))

    @router.get("/activity")
    async def activity(after: int = 0, limit: int = ACTIVITY_LIMIT) -> JSONResponse:
        """Return the user-activity log from after seq `after`, and whether its chain holds."""
        if not 1 <= limit <= ACTIVITY_MAX_LIMIT or after < 0:
            return error_response(422, "invalid_range", f"limit must be 1 to "
                                  f"{ACTIVITY_MAX_LIMIT} and after at least 0")
        try:
            records = read(lambda db: access.activity(db, after_seq=after, limit=limit))
            chain = read(_chain_state)
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse(as_json({"records": records, "chain": chain}))

    return router


def _chain_state(db: Any) -> str:
    """Return 'intact', or where the activity log's chain breaks."""
    try:
        access.verify_activity(db)
    except ChainBroken as exc:
        return f"broken: {exc}"
    return "intact"
