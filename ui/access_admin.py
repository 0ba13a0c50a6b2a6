"""The owner's work on access: users, API tokens, the allowlist and the activity log.

`AccessAdmin` reads and changes access once, for the owner's REST routes (`ui.api_access`) and
for the Access page alike. Changes are asked of the supervisor, appliance.db's one writer; the
panel reads the results back read-only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.config.pair import problems
from appliance.ipc import UNREACHABLE, IpcError
from appliance.store import access, appliance_db
from appliance.store.access import ActivityRecord, ApiToken, Role, TokenScope, User
from appliance.store.chain import ChainBroken
from appliance.store.database import StoreUnavailable, read_from
from ui.auth.tokens import new_token
from ui.panel import Panel
from ui.signer import PluggedKey

ACCESS_ERRORS = {UNREACHABLE: 503, "bad_args": 422, "not_found": 404, "conflict": 409,
                 "limit": 409, "lockout": 409}
"""The HTTP status of each refusal code of the supervisor's access ops."""

DAY_S = 86_400.0
MAX_TOKEN_DAYS = 366
ACTIVITY_LIMIT = 100

_Read = TypeVar("_Read")
_Form = TypeVar("_Form", bound="Form")


class AccessAction(StrEnum):
    """How the user-activity log names each change to access."""

    USER_ENROL = "user_enrol"
    USER_REVOKE = "user_revoke"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    ALLOWLIST_PROPOSE = "allowlist_propose"
    ALLOWLIST_CONFIRM = "allowlist_confirm"


class Form(BaseModel):
    """A form or JSON body: unknown fields are refused, so a typo never passes silently."""

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


MAX_CIDR = 49
"""The longest text an address or CIDR range takes (an IPv6 address with its prefix)."""


class AllowlistRequest(Form):
    """A new allowlist: addresses and CIDR ranges."""

    cidrs: list[Annotated[str, Field(min_length=1, max_length=MAX_CIDR)]] = Field(
        min_length=1, max_length=64)


class AccessRefused(Exception):
    """A read or change of access that could not be done: its HTTP status, code and a message
    saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AccessChange:
    """A change to access that was made: how the activity log names it, and the answer."""

    action: AccessAction
    detail: dict[str, Any]
    answer: dict[str, Any]


@dataclass(frozen=True)
class ActivityPage:
    """Records of the user-activity log, and whether its whole chain holds."""

    records: list[ActivityRecord]
    chain: str
    """'intact', or 'broken: ' and where."""


def problems_of(exc: ValidationError) -> str:
    """Return what is wrong with a form, field by field."""
    return problems(exc, "body")


def form_of(model: type[_Form], fields: dict[str, Any]) -> _Form:
    """Return a form's fields as `model`, or raise AccessRefused saying what is wrong."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise AccessRefused(422, "invalid_input", problems_of(exc)) from None


def chain_state(db: sqlite_utils.Database) -> str:
    """Return 'intact', or where the activity log's chain breaks."""
    try:
        access.verify_activity(db)
    except ChainBroken as exc:
        return f"broken: {exc}"
    return "intact"


def newest_seq(db: sqlite_utils.Database) -> int:
    """Return the seq of the activity log's newest record, 0 when it has none."""
    row = db.execute("SELECT coalesce(max(seq), 0) FROM activity").fetchone()
    return int(row[0])


class AccessAdmin:
    """Who may reach and use the box, as an owner reads and changes it through the panel."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    def users(self) -> list[User]:
        """Return every user, revoked ones too."""
        return self._read(lambda db: access.users(db, include_revoked=True))

    def tokens(self) -> list[ApiToken]:
        """Return every API token (the box keeps no token's text)."""
        return self._read(access.api_tokens)

    def allowlist(self) -> list[str]:
        """Return the networks allowed to reach the panel now."""
        return list(self._read(appliance_db.allowlist))

    async def pending(self) -> dict[str, Any] | None:
        """Return the allowlist change waiting for confirmation, or None."""
        answer = await self._ask("allowlist_pending")
        pending: dict[str, Any] | None = answer.get("result", answer)
        return pending

    def activity(self, after: int, limit: int) -> ActivityPage:
        """Return up to `limit` records of the activity log after seq `after`, oldest first."""
        return self._read(lambda db: ActivityPage(
            access.activity(db, after_seq=after, limit=limit), chain_state(db)))

    def newest_activity(self, limit: int) -> ActivityPage:
        """Return the newest `limit` records of the activity log, oldest first."""
        return self._read(lambda db: ActivityPage(
            access.activity(db, after_seq=max(0, newest_seq(db) - limit), limit=limit),
            chain_state(db)))

    async def keys(self) -> list[tuple[PluggedKey, User | None]]:
        """Return the operator keys plugged in, each with the user it is enrolled for."""
        try:
            plugged = await self.panel.signer.plugged_keys()
            users = {u.usb_serial: u for u in self.panel.accounts.users()}
        except IpcError as exc:
            raise AccessRefused(503, exc.code, exc.message) from None
        except StoreUnavailable as exc:
            raise AccessRefused(503, "store_unavailable", str(exc)) from None
        return [(key, users.get(key.serial)) for key in plugged]

    async def enrol(self, form: EnrolRequest) -> AccessChange:
        """Enrol the operator key plugged in at `form.device` for a new user."""
        try:
            plugged = {k.device: k for k in await self.panel.signer.plugged_keys()}
        except IpcError as exc:
            raise AccessRefused(503, exc.code, exc.message) from None
        key = plugged.get(form.device)
        if key is None:
            raise AccessRefused(404, "key_absent", f"no operator key is plugged in at "
                                f"{form.device}; plug it in and pick it from /api/keys")
        try:
            enrolment = await self.panel.signer.enrolment({"token_serial": key.serial}, form.pin)
        except IpcError as exc:
            raise AccessRefused(422, exc.code, exc.message) from None
        answer = await self._ask(
            "user_enrol", name=form.name, role=str(form.role),
            public_key_pem=enrolment["public_key_pem"], usb_serial=key.serial,
            token_label=enrolment.get("token_label"), token_serial=enrolment.get("token_serial"),
            key_id=enrolment.get("key_id"), key_label=enrolment.get("key_label"))
        return AccessChange(AccessAction.USER_ENROL, {
            "user": form.name, "role": str(form.role), "key_serial": key.serial}, answer)

    async def revoke_user(self, fingerprint: str) -> AccessChange:
        """Revoke a user and end their sessions."""
        answer = await self._ask("user_revoke", fingerprint=fingerprint)
        for ended in self.panel.sessions.of_user(fingerprint):
            await self.panel.watch.end(ended, "user revoked")
        return AccessChange(AccessAction.USER_REVOKE, {"user_fingerprint": fingerprint}, answer)

    async def create_token(self, form: TokenRequest, creator: str) -> AccessChange:
        """Create an API token for the user of fingerprint `creator`.

        The answer holds the token's text, which the box keeps nowhere: show it once.
        """
        made = new_token()
        expires = time.time() + form.days * DAY_S
        await self._ask("token_create", id=made.id, name=form.name, scope=str(form.scope),
                        hash=made.hash, expires=expires, created_by=creator)
        return AccessChange(
            AccessAction.TOKEN_CREATE,
            {"token": made.id, "name": form.name, "scope": str(form.scope)},
            {"id": made.id, "name": form.name, "scope": str(form.scope), "expires": expires,
             "token": made.text})

    async def revoke_token(self, token_id: str) -> AccessChange:
        """Revoke an API token."""
        answer = await self._ask("token_revoke", id=token_id)
        return AccessChange(AccessAction.TOKEN_REVOKE, {"token": token_id}, answer)

    async def propose_allowlist(
        self, form: AllowlistRequest, address: str, author: str
    ) -> AccessChange:
        """Replace the allowlist, asked from `address`; it reverts unless confirmed in time."""
        answer = await self._ask("allowlist_propose", cidrs=form.cidrs, address=address,
                                 author=author)
        return AccessChange(AccessAction.ALLOWLIST_PROPOSE, {"cidrs": form.cidrs}, answer)

    async def confirm_allowlist(self, address: str) -> AccessChange:
        """Keep the allowlist change waiting for confirmation, confirmed from `address`."""
        answer = await self._ask("allowlist_confirm", address=address)
        return AccessChange(AccessAction.ALLOWLIST_CONFIRM, {}, answer)

    async def _ask(self, op: str, **args: Any) -> dict[str, Any]:
        """Return the supervisor's answer to an access op, or raise its refusal."""
        try:
            return await self.panel.supervisor.ask(op, **args)
        except IpcError as exc:
            raise AccessRefused(ACCESS_ERRORS.get(exc.code, 409), exc.code, exc.message) from None

    def _read(self, work: Callable[[sqlite_utils.Database], _Read]) -> _Read:
        """Return what `work` reads from appliance.db, or raise AccessRefused."""
        try:
            return read_from(self.panel.accounts.path, work)
        except StoreUnavailable as exc:
            raise AccessRefused(503, "store_unavailable", str(exc)) from None
