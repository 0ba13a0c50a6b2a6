"""The signer's ops as a table: what each op runs, who may call it and how it is audited.

Another module adds ops by handing `SignerAgent(..., extra_ops={"name": Op(...)})`; the agent
applies the rate limit, the access rule and the audit to them like to its own. An op's `run`
takes the `Call` and returns a JSON-able result, or an awaitable of one for an op that waits
(the caller's connection waits; every other connection goes on). It refuses by raising
`IpcError(code, message)`; the agent records every refusal. An op that changes who may use
which key says how in `policy_change`; the agent applies it once the op has succeeded.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.ipc import IpcError, Peer
from hsm.access import UID_MAX, AccessPolicy, is_uid
from hsm.labels import LABEL_RULE, is_label


class Access(StrEnum):
    """Who may call an op."""

    ANYONE = "anyone"
    """Every caller (the op may still refuse by itself)."""

    GRANTED = "granted"
    """A caller whose uid was granted the key named by the `label` argument (--allow, grant)."""

    ADMIN = "admin"
    """Only the admin uids (--admin): key management."""


class Audit(StrEnum):
    """How the audit log records an op that succeeds (every refusal is always recorded)."""

    QUIET = "quiet"
    """Not recorded (ping)."""

    COUNTED = "counted"
    """Counted per caller, op and label; the counts are written every AUDIT_FLUSH_SECONDS."""

    EACH = "each"
    """One record per call, synced to disk before the reply (key management, login)."""


@dataclass(frozen=True)
class Call:
    """One admitted request: the op, its arguments, the caller, and the key label it names."""

    op: str
    args: dict[str, Any]
    peer: Peer
    label: str | None
    """The `label` argument when it is a valid key label (a GRANTED op runs only with one)."""

    def needs_label(self, name: str = "label") -> str:
        """Return argument `name` as a key label, or refuse the call as bad_args."""
        value = self.label if name == "label" else self.args.get(name)
        if not is_label(value):
            raise IpcError("bad_args", f"args need '{name}': {LABEL_RULE}")
        return value

    def needs_uid(self, name: str = "uid") -> int:
        """Return argument `name` as a uid, or refuse the call as bad_args."""
        value = self.args.get(name)
        if not is_uid(value):
            raise IpcError("bad_args", f"args need '{name}', a uid: a whole number from 0 to "
                           f"{UID_MAX}")
        return value

    def needs_bytes(self, name: str) -> bytes:
        """Return argument `name` decoded from base64, or refuse the call as bad_args."""
        encoded = self.args.get(name)
        if not isinstance(encoded, str):
            raise IpcError("bad_args", f"args need '{name}', bytes in base64")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise IpcError("bad_args", f"'{name}' is not valid base64") from None


@dataclass(frozen=True)
class Op:
    """One entry of the op table."""

    run: Callable[[Call], Any]
    access: Access
    audit: Audit
    audit_args: tuple[str, ...] = ("label",)
    """Arguments the audit record names, each only when it is a valid key label or a uid (one
    named like a field of the record, e.g. `uid`, is written as `arg_uid`)."""

    policy_change: Callable[[AccessPolicy, Call], AccessPolicy] | None = None
    """The access policy after the op succeeded, from the one before (None: unchanged)."""
