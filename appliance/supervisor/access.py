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
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import sqlite_utils

from appliance.ipc import IpcError
from appliance.store import access
from appliance.store.access import AllowlistChange, ApiToken, Role, TokenScope, User
from appliance.store.appliance_db import allowlist
from appliance.supervisor.access_args import (
    FIELD_MAX,
    address_of,
    choice,
    detail_of,
    name_of,
    networks,
    number,
    optional,
    public_key,
    text,
)
from hsm.enrol import fingerprint, public_pem

log = logging.getLogger(__name__)

AccessOp = Callable[[dict[str, Any]], Awaitable[Any]]
"""One access op: args -> result, or raise IpcError."""

ACTION_MAX = 200
"""The longest activity action (a method and a path)."""
CONFIRM_WITHIN = 90.0
"""How long, by default, an allowlist change waits for its author's confirmation (s)."""
CONFIRM_WITHIN_MAX = 3600.0
"""The longest an allowlist change may wait for confirmation (s)."""
TOKEN_LIFETIME_MAX = 366 * 86400.0
"""The furthest ahead an API token may expire (s)."""

_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{4,32}")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,39}")

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
        name = name_of(args, "name", "the user's name")
        role = choice(args, "role", Role)
        key = public_key(args)
        new = User(
            fingerprint(key), name, role, public_pem(key),
            text(args, "usb_serial", "the key's serial as usb_keys lists it", empty=True),
            optional(args, "token_label"), optional(args, "token_serial"),
            optional(args, "key_id"), optional(args, "key_label"), self._clock())
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
        key = text(args, "fingerprint", "the user's key fingerprint", limit=FIELD_MAX)
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
        token_id = text(args, "id", "the token's public id", limit=32)
        if not _TOKEN_ID.fullmatch(token_id):
            raise IpcError("bad_args", "'id' must be 4 to 32 letters, digits, '-' or '_'")
        name = name_of(args, "name", "the token's name")
        scope = choice(args, "scope", TokenScope)
        digest = text(args, "hash", "the hex SHA-256 of the token's text", limit=64)
        if not _SHA256_HEX.fullmatch(digest):
            raise IpcError("bad_args", "'hash' must be the hex SHA-256 of the token's text "
                           "(64 hex digits); never send the token itself")
        expires = number(args, "expires", "when the token expires, in seconds since the epoch")
        if not now < expires <= now + TOKEN_LIFETIME_MAX:
            raise IpcError("bad_args", "'expires' must lie between now and 366 days ahead; "
                           "choose another expiry")
        creator = text(args, "created_by", "the fingerprint of the user creating it",
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
        token_id = text(args, "id", "the token's public id", limit=32)
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
        cidrs = networks(args.get("cidrs"))
        address = address_of(args)
        author = name_of(args, "author", "the name of the user making the change")
        within = number(args, "confirm_within", "seconds to wait for confirmation",
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
        address = address_of(args)
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
        actor = text(args, "actor", "the user or token name, '' if unknown", empty=True,
                      limit=FIELD_MAX)
        key = text(args, "fingerprint", "the user's key fingerprint or the token id, "
                    "'' if unknown", empty=True, limit=FIELD_MAX)
        address = text(args, "address", "the client's IP address", empty=True, limit=64)
        action = text(args, "action", "what was asked, e.g. 'login' or 'POST /api/...'",
                       limit=ACTION_MAX)
        outcome = text(args, "outcome", "'ok', 'refused', 'failed' or an error code",
                        limit=40)
        if not _OUTCOME.fullmatch(outcome):
            raise IpcError("bad_args", "'outcome' must be 'ok', 'refused', 'failed' or an "
                           "error code (lower-case letters, digits and '_')")
        detail = detail_of(args.get("detail", {}))
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
