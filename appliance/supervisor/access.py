"""Change who may reach and use the panel, on the panel's behalf: the supervisor's access ops.

Ops (each `async (args) -> result`; the supervisor has already checked the caller is the panel):
  user_enrol          {name, role, public_key_pem, usb_serial, token_label?, token_serial?,
                       key_id?, key_label?}                       -> user
  user_revoke         {fingerprint}                               -> user
  token_create        {id, name, scope, hash, expires, created_by} -> token
  token_revoke        {id}                                        -> token
  allowlist_propose   {cidrs, address, author, confirm_within?}   -> {cidrs, deadline}
  allowlist_confirm   {address}                                   -> {cidrs}
  allowlist_pending   {}                                          -> change or null
  record_activity     {actor, fingerprint, address, action, outcome, detail} -> {seq}

A refusal is an IpcError (`bad_args`, `not_found`, `conflict`, `limit`, `lockout`) whose
message says what to do, and writes nothing. The panel generates API tokens and sends only
the SHA-256 of their text. An allowlist change must keep its author's own address inside it,
and is undone unless its author confirms it, from inside the new list, before its deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, TypeVar

import sqlite_utils
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.ipc import IpcError
from appliance.store import access
from appliance.store.access import AllowlistChange, ApiToken, Role, TokenScope, User
from appliance.store.appliance_db import allowlist
from hsm.enrol import fingerprint, public_pem
from hsm.operator_key import OperatorKeyUnusable, OperatorPublicKey, as_operator_key

log = logging.getLogger(__name__)

AccessOp = Callable[[dict[str, Any]], Awaitable[Any]]
"""One access op: args -> result, or raise IpcError."""

NAME_MAX = 40
"""The longest user or token name."""
FIELD_MAX = 128
"""The longest USB serial, token reference, fingerprint or actor."""
ACTION_MAX = 200
"""The longest activity action (a method and a path)."""
DETAIL_MAX = 4096
"""The longest activity detail, as JSON."""
CIDRS_MAX = 64
"""The most networks an allowlist may hold."""
CONFIRM_WITHIN = 90.0
"""How long, by default, an allowlist change waits for its author's confirmation (s)."""
CONFIRM_WITHIN_MAX = 3600.0
"""The longest an allowlist change may wait for confirmation (s)."""
TOKEN_LIFETIME_MAX = 366 * 86400.0
"""The furthest ahead an API token may expire (s)."""
SECRET_KEYS = frozenset({"pin", "so_pin", "password", "secret", "session"})
"""Keys an activity detail may not hold at any depth: their values would be secrets. ("token"
is allowed: the panel names a token's public id so, never its text.)"""

_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{4,32}")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,39}")

_Member = TypeVar("_Member", bound=StrEnum)


class AccessOps:
    """Enrol and revoke users, issue and revoke API tokens, change the allowlist, log activity."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        user_cap: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Serve ops on appliance.db's writer `db`, for at most `user_cap` users not revoked.

        An allowlist change left unconfirmed past its deadline (the box was off) is undone at
        once; call `start` from the running loop to undo one still waiting at its deadline.
        """
        self._db = db
        self._user_cap = user_cap
        self._clock = clock
        self._revert: asyncio.TimerHandle | None = None
        change = access.allowlist_change(db)
        if change is not None and change.deadline <= clock():
            self._revert_change(change)

    def table(self) -> dict[str, AccessOp]:
        """Return the ops by name."""
        return {
            "user_enrol": self.user_enrol,
            "user_revoke": self.user_revoke,
            "token_create": self.token_create,
            "token_revoke": self.token_revoke,
            "allowlist_propose": self.allowlist_propose,
            "allowlist_confirm": self.allowlist_confirm,
            "allowlist_pending": self.allowlist_pending,
            "record_activity": self.record_activity,
        }

    def start(self) -> None:
        """Schedule the undoing of the allowlist change still waiting (call it in the loop)."""
        change = access.allowlist_change(self._db)
        if change is not None:
            self._schedule(change.deadline)

    def close(self) -> None:
        """Stop waiting for a deadline; the change stays recorded for the next start."""
        if self._revert is not None:
            self._revert.cancel()
            self._revert = None

    async def user_enrol(self, args: dict[str, Any]) -> dict[str, Any]:
        """Enrol a user's USB key, as the signer's enrol_read reported it."""
        name = _name(args, "name", "the user's name")
        role = _choice(args, "role", Role)
        key = _public_key(args)
        new = User(
            fingerprint(key), name, role, public_pem(key),
            _text(args, "usb_serial", "the key's serial as usb_keys lists it", empty=True),
            _optional(args, "token_label"), _optional(args, "token_serial"),
            _optional(args, "key_id"), _optional(args, "key_label"), self._clock())
        if new.token_label is None and new.token_serial is None:
            raise IpcError("bad_args", "args need 'token_label' or 'token_serial', as "
                           "enrol_read returned them, so login finds the key's token")
        with access.transaction(self._db):
            enrolled = access.users(self._db)
            if any(u.fingerprint == new.fingerprint for u in enrolled):
                raise IpcError("conflict", "this key is enrolled already; revoke its user "
                               "first to enrol it under another name")
            if any(u.name == name for u in enrolled):
                raise IpcError("conflict", f"a user named '{name}' is enrolled already; "
                               "choose another name")
            if len(enrolled) >= self._user_cap:
                raise IpcError("limit", f"the license allows {self._user_cap} users and "
                               f"{len(enrolled)} are enrolled; revoke one or upgrade the tier")
            access.put_user(self._db, new)
        return new.as_dict()

    async def user_revoke(self, args: dict[str, Any]) -> dict[str, Any]:
        """Revoke a user: their key no longer logs in."""
        key = _text(args, "fingerprint", "the user's key fingerprint", limit=FIELD_MAX)
        with access.transaction(self._db):
            found = access.user(self._db, key)
            if found is None or found.revoked is not None:
                raise IpcError("not_found", f"no enrolled user has the key {key}; "
                               "list the users and pick one of theirs")
            owners = [u for u in access.users(self._db) if u.role is Role.OWNER]
            if owners == [found]:
                raise IpcError("conflict", f"{found.name} is the box's last owner; enrol "
                               "another owner before revoking this one")
            when = self._clock()
            access.revoke_user(self._db, key, when)
        return replace(found, revoked=when).as_dict()

    async def token_create(self, args: dict[str, Any]) -> dict[str, Any]:
        """Store a new API token the panel generated, as the SHA-256 of its text."""
        now = self._clock()
        token_id = _text(args, "id", "the token's public id", limit=32)
        if not _TOKEN_ID.fullmatch(token_id):
            raise IpcError("bad_args", "'id' must be 4 to 32 letters, digits, '-' or '_'")
        name = _name(args, "name", "the token's name")
        scope = _choice(args, "scope", TokenScope)
        digest = _text(args, "hash", "the hex SHA-256 of the token's text", limit=64)
        if not _SHA256_HEX.fullmatch(digest):
            raise IpcError("bad_args", "'hash' must be the hex SHA-256 of the token's text "
                           "(64 hex digits); never send the token itself")
        expires = _number(args, "expires", "when the token expires, in seconds since the epoch")
        if not now < expires <= now + TOKEN_LIFETIME_MAX:
            raise IpcError("bad_args", "'expires' must lie between now and 366 days ahead; "
                           "choose another expiry")
        creator = _text(args, "created_by", "the fingerprint of the user creating it",
                        limit=FIELD_MAX)
        token = ApiToken(token_id, name, scope, digest.lower(), now, expires, creator)
        with access.transaction(self._db):
            author = access.user(self._db, creator)
            if author is None or author.revoked is not None:
                raise IpcError("not_found", f"'created_by' names no enrolled user ({creator}); "
                               "pass the fingerprint of the user logged in")
            if access.api_token(self._db, token_id) is not None:
                raise IpcError("conflict", f"a token with id '{token_id}' exists already; "
                               "generate another token")
            if token.hash in {t.hash for t in access.api_tokens(self._db)}:
                raise IpcError("conflict", "a token with this hash exists already; "
                               "generate another token")
            access.put_api_token(self._db, token)
        return token.as_dict()

    async def token_revoke(self, args: dict[str, Any]) -> dict[str, Any]:
        """Revoke an API token: it no longer opens the API."""
        token_id = _text(args, "id", "the token's public id", limit=32)
        with access.transaction(self._db):
            found = access.api_token(self._db, token_id)
            if found is None or found.revoked is not None:
                raise IpcError("not_found", f"there is no token '{token_id}' to revoke; "
                               "list the tokens and pick one")
            when = self._clock()
            access.revoke_api_token(self._db, token_id, when)
        return replace(found, revoked=when).as_dict()

    async def allowlist_propose(self, args: dict[str, Any]) -> dict[str, Any]:
        """Put a new allowlist in force until its author confirms it or its deadline passes."""
        cidrs = _networks(args.get("cidrs"))
        address = _address(args)
        author = _name(args, "author", "the name of the user making the change")
        within = _number(args, "confirm_within", "seconds to wait for confirmation",
                         CONFIRM_WITHIN)
        if not 0 < within <= CONFIRM_WITHIN_MAX:
            raise IpcError("bad_args", f"'confirm_within' must be above 0 and at most "
                           f"{CONFIRM_WITHIN_MAX:.0f} s")
        if not inside(address, cidrs):
            raise IpcError("lockout", f"{address}, the address making this change, is in none "
                           "of the proposed networks: a change can never lock out the address "
                           "making it; add a network holding it")
        deadline = self._clock() + within
        with access.transaction(self._db):
            pending = access.allowlist_change(self._db)
            previous = allowlist(self._db) if pending is None else pending.previous
            access.put_allowlist(self._db, cidrs)
            access.put_allowlist_change(self._db, AllowlistChange(
                previous, tuple(cidrs), author, address, deadline))
        self._schedule(deadline)
        return {"cidrs": cidrs, "deadline": deadline}

    async def allowlist_confirm(self, args: dict[str, Any]) -> dict[str, Any]:
        """Keep the allowlist change waiting, confirmed from an address inside the new list."""
        address = _address(args)
        with access.transaction(self._db):
            if access.allowlist_change(self._db) is None:
                raise IpcError("not_found", "no allowlist change is waiting for confirmation; "
                               "it was confirmed already, or its deadline passed and the "
                               "previous list is back")
            cidrs = list(allowlist(self._db))
            if not inside(address, cidrs):
                raise IpcError("lockout", f"{address} is outside the new allowlist; confirm "
                               "from an address inside it, or let the change lapse")
            access.clear_allowlist_change(self._db)
        self.close()
        return {"cidrs": cidrs}

    async def allowlist_pending(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """Return the allowlist change waiting for confirmation, or None."""
        change = access.allowlist_change(self._db)
        return None if change is None else change.as_dict()

    async def record_activity(self, args: dict[str, Any]) -> dict[str, int]:
        """Append one record to the user-activity log."""
        actor = _text(args, "actor", "the user or token name, '' if unknown", empty=True,
                      limit=FIELD_MAX)
        key = _text(args, "fingerprint", "the user's key fingerprint or the token id, "
                    "'' if unknown", empty=True, limit=FIELD_MAX)
        address = _text(args, "address", "the client's IP address", empty=True, limit=64)
        action = _text(args, "action", "what was asked, e.g. 'login' or 'POST /api/...'",
                       limit=ACTION_MAX)
        outcome = _text(args, "outcome", "'ok', 'refused', 'failed' or an error code",
                        limit=40)
        if not _OUTCOME.fullmatch(outcome):
            raise IpcError("bad_args", "'outcome' must be 'ok', 'refused', 'failed' or an "
                           "error code (lower-case letters, digits and '_')")
        detail = _detail(args.get("detail", {}))
        with access.transaction(self._db):
            seq = access.append_activity(self._db, self._clock(), actor, key, address,
                                         action, outcome, detail)
        return {"seq": seq}

    def _schedule(self, deadline: float) -> None:
        """Undo the allowlist change waiting at `deadline`, unless it is confirmed before."""
        self.close()
        delay = max(0.0, deadline - self._clock())
        self._revert = asyncio.get_running_loop().call_later(delay, self._on_deadline)

    def _on_deadline(self) -> None:
        self._revert = None
        change = access.allowlist_change(self._db)
        if change is None:
            return
        if change.deadline > self._clock():
            self._schedule(change.deadline)
        else:
            self._revert_change(change)

    def _revert_change(self, change: AllowlistChange) -> None:
        """Restore the allowlist in force before an unconfirmed change, and log it."""
        with access.transaction(self._db):
            access.put_allowlist(self._db, change.previous)
            access.clear_allowlist_change(self._db)
            access.append_activity(
                self._db, self._clock(), "box", "", "", "allowlist_reverted", "ok",
                {"author": change.author, "address": change.address,
                 "restored": list(change.previous), "unconfirmed": list(change.proposed)})
        log.warning("%s did not confirm the allowlist change from %s by its deadline; "
                    "restored %s", change.author, change.address, ", ".join(change.previous))


def inside(address: str, cidrs: Sequence[str]) -> bool:
    """Return whether an IP address (an IPv4-mapped IPv6 one too) lies in one of the CIDRs."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _text(args: dict[str, Any], name: str, meaning: str, *, empty: bool = False,
          limit: int = FIELD_MAX, lines: bool = False) -> str:
    """Return the string args carry under `name`, at most `limit` long, printable on one line
    unless `lines`."""
    value = args.get(name)
    if not isinstance(value, str) or not (value or empty):
        raise IpcError("bad_args", f"args need '{name}', {meaning}")
    if len(value) > limit or not (lines or value.isprintable()):
        raise IpcError("bad_args", f"'{name}' must be printable and at most {limit} "
                       "characters long")
    return value


def _optional(args: dict[str, Any], name: str) -> str | None:
    """Return the string args carry under `name`, or None when they leave it out."""
    if args.get(name) is None:
        return None
    return _text(args, name, "a string as enrol_read returned it, or left out")


def _name(args: dict[str, Any], name: str, meaning: str) -> str:
    """Return a name: 1 to 40 printable characters, not starting or ending with a space."""
    value = _text(args, name, meaning, limit=NAME_MAX)
    if value != value.strip():
        raise IpcError("bad_args", f"'{name}' must not start or end with a space")
    return value


def _choice(args: dict[str, Any], name: str, kind: type[_Member]) -> _Member:
    """Return the member of `kind` args name under `name`."""
    value = args.get(name)
    try:
        return kind(value if isinstance(value, str) else "")
    except ValueError:
        raise IpcError("bad_args", f"'{name}' must be one of "
                       f"{', '.join(member.value for member in kind)}") from None


def _number(args: dict[str, Any], name: str, meaning: str,
            default: float | None = None) -> float:
    """Return the number args carry under `name` (or the default when they leave it out)."""
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IpcError("bad_args", f"args need '{name}', {meaning}")
    return float(value)


def _public_key(args: dict[str, Any]) -> OperatorPublicKey:
    """Return the public key args carry as PEM, if the box can log in with its kind."""
    pem = _text(args, "public_key_pem", "the public key as enrol_read returned it",
                limit=DETAIL_MAX, lines=True)
    try:
        return as_operator_key(load_pem_public_key(pem.encode()))
    except ValueError:
        raise IpcError("bad_args", "'public_key_pem' is not a PEM public key; pass the "
                       "public_key_pem enrol_read returned") from None
    except OperatorKeyUnusable as exc:
        raise IpcError("bad_args", str(exc)) from None


def _address(args: dict[str, Any]) -> str:
    """Return the client IP address args carry under `address`, as ipaddress writes it."""
    value = _text(args, "address", "the IP address of the client making the request", limit=64)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise IpcError("bad_args", f"'address' {value!r} is not an IP address; pass the "
                       "client's address as the panel received it") from None


def _networks(value: Any) -> list[str]:
    """Return the CIDRs of a proposed allowlist, each as ipaddress writes it, without repeats."""
    if not isinstance(value, list) or not value:
        raise IpcError("bad_args", "'cidrs' must be a non-empty list of networks such as "
                       "'192.168.1.0/24'; an empty allowlist would lock everyone out")
    if len(value) > CIDRS_MAX:
        raise IpcError("bad_args", f"'cidrs' holds {len(value)} networks; the allowlist holds "
                       f"at most {CIDRS_MAX}, so merge some")
    networks: list[str] = []
    for entry in value:
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except (TypeError, ValueError):
            raise IpcError("bad_args", f"allowlist entry {entry!r} is not a network; write an "
                           "address or a CIDR such as '192.168.1.0/24'") from None
        if network not in networks:
            networks.append(network)
    return networks


def _detail(value: Any) -> dict[str, Any]:
    """Return an activity detail: a JSON object, short, holding no secret."""
    if not isinstance(value, dict):
        raise IpcError("bad_args", "'detail' must be a JSON object; wrap the value in one")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise IpcError("bad_args", "'detail' must hold only JSON values") from None
    if len(text) > DETAIL_MAX:
        raise IpcError("bad_args", f"'detail' is {len(text)} characters as JSON; keep it "
                       f"under {DETAIL_MAX}")
    secret = _secret_key(value)
    if secret is not None:
        raise IpcError("bad_args", f"'detail' holds a '{secret}': the activity log never "
                       "holds a secret; leave it out")
    return value


def _secret_key(value: Any) -> str | None:
    """Return a key of SECRET_KEYS found at any depth of value, or None."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() in SECRET_KEYS:
                return str(key)
            found = _secret_key(inner)
            if found is not None:
                return found
    if isinstance(value, list):
        return next((k for k in map(_secret_key, value) if k is not None), None)
    return None
