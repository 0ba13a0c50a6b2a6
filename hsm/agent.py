"""Answer signer requests: rate limit, op table, access rule, audit, in that order.

What the audit log receives: every refusal (the first of each kind — caller, op, label,
outcome — in a flush window at once, and how many there were in all with the window's
counts), every key-management call on its own line, synced before the reply, and successful
signatures as per-caller, per-label counts written every AUDIT_FLUSH_SECONDS — never one line
per signature, since bots sign at high volume. No message, signature or secret is written.

The access policy changes at run time only through ops that declare a `policy_change` (grant,
delete, rename): once such an op succeeds, the agent swaps in the new policy, whole, before
recording it.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from pkcs11.exceptions import PKCS11Error

from appliance.ipc import IpcError, Peer
from appliance.ipc.framing import encode, error_reply, ok_reply, parse_request
from hsm.access import AccessPolicy, is_uid
from hsm.audit import AuditLog, Tally, TallyKey
from hsm.labels import is_label
from hsm.ops import Access, Audit, Call, Op
from hsm.ratelimit import CallerRateLimit
from hsm.token import KeyExists, TokenError, UnknownKey

log = logging.getLogger(__name__)

Reply = bytes | Awaitable[bytes]
"""A framed reply line, or an awaitable of one for an op that waits."""

_RECORD_FIELDS = frozenset({"ts", "event", "uid", "pid", "op", "outcome", "prev"})
"""Fields an audit record of a request has of its own, whatever the op's arguments."""


def _ping(call: Call) -> str:
    return "pong"


class SignerAgent:
    """Check each request against the rate limit and the access policy, run it, audit it."""

    def __init__(
        self, ops: Mapping[str, Op], policy: AccessPolicy, audit: AuditLog,
        rate_limit: CallerRateLimit, *, extra_ops: Mapping[str, Op] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ops = {"ping": Op(_ping, Access.ANYONE, Audit.QUIET), **ops, **(extra_ops or {})}
        self._policy = policy
        self._audit = audit
        self._rate_limit = rate_limit
        self._clock = clock
        self._tally = Tally.start(clock())

    def answer(self, line: bytes, peer: Peer) -> Reply:
        """Return the reply line to one request line."""
        try:
            request = parse_request(line)
        except IpcError as exc:
            self._refused(peer, None, None, exc)
            return _frame(error_reply(None, exc))
        try:
            result = self.call(request.op, request.args, peer)
        except IpcError as exc:
            return _frame(error_reply(request.id, exc))
        if inspect.isawaitable(result):
            return self._framed_later(request.id, result)
        return _frame(ok_reply(request.id, result))

    def call(self, op_name: str, args: dict[str, Any], peer: Peer) -> Any:
        """Run one request and return its result (or an awaitable), or raise IpcError."""
        label = args.get("label")
        label = label if is_label(label) else None
        if not self._rate_limit.allow(peer.uid):
            raise self._refused(peer, op_name, label, IpcError(
                "rate_limited", "too many requests from this uid; slow down and retry"))
        op = self._ops.get(op_name)
        if op is None:
            raise self._refused(peer, op_name, label, IpcError(
                "unknown_op", "the signer answers only " + ", ".join(self._ops)))
        call = Call(op_name, args, peer, label)
        try:
            self._admit(op, call)
            result = op.run(call)
        except Exception as exc:
            raise self._failed(op, call, exc) from None
        if inspect.isawaitable(result):
            return self._settled(op, call, result)
        self._succeeded(op, call)
        return result

    def refuse(self, peer: Peer, code: str, message: str) -> bytes:
        """Record a refusal the server makes by itself and return its error line."""
        return _frame(error_reply(None, self._refused(peer, None, None, IpcError(code, message))))

    def flush(self) -> None:
        """Write the counts gathered since the last flush to the audit log."""
        tally, self._tally = self._tally, Tally.start(self._clock())
        if tally.counts:
            self._audit.record("tally", tally.as_fields(), sync=True)

    def _admit(self, op: Op, call: Call) -> None:
        """Refuse the call unless its caller passes the op's access rule."""
        uid = call.peer.uid
        if op.access is Access.ADMIN and not self._policy.is_admin(uid):
            raise IpcError("forbidden", f"uid {uid} may not manage keys; only the admin uids "
                           "may (--admin when starting the signer)")
        if op.access is Access.GRANTED:
            label = call.needs_label()
            if not self._policy.allows(uid, label):
                raise IpcError("forbidden", f"uid {uid} may not use key '{label}'; an admin "
                               "grants it (op grant, or --allow when starting the signer)")

    async def _settled(self, op: Op, call: Call, pending: Awaitable[Any]) -> Any:
        try:
            result = await pending
        except Exception as exc:
            raise self._failed(op, call, exc) from None
        self._succeeded(op, call)
        return result

    async def _framed_later(self, request_id: Any, pending: Awaitable[Any]) -> bytes:
        try:
            return _frame(ok_reply(request_id, await pending))
        except IpcError as exc:
            return _frame(error_reply(request_id, exc))

    def _succeeded(self, op: Op, call: Call) -> None:
        if op.policy_change is not None:
            self._policy = op.policy_change(self._policy, call)
        if op.audit is Audit.COUNTED:
            self._tally.add(TallyKey(call.peer.uid, call.peer.pid, call.op, call.label, "ok"))
        elif op.audit is Audit.EACH:
            self._audit.record("request", {**_who(call.peer), "op": call.op,
                                           **_named_args(op, call), "outcome": "ok"}, sync=True)

    def _failed(self, op: Op, call: Call, exc: Exception) -> IpcError:
        """Return the error reply for an op that raised, recording the refusal."""
        error = _as_ipc_error(exc, call.op)
        return self._refused(call.peer, call.op, call.label, error, _named_args(op, call))

    def _refused(
        self, peer: Peer, op: str | None, label: str | None, error: IpcError,
        named: dict[str, str | int] | None = None,
    ) -> IpcError:
        """Record a refusal (at once if it is the first of its kind this window) and return it.

        An op name is recorded only when it is a plain short name: a caller chooses it.
        """
        op = op if op in self._ops or is_label(op) else None
        if self._tally.add(TallyKey(peer.uid, peer.pid, op or "", label, error.code)) == 1:
            log.warning("refused uid %d (pid %d) op %s label %r: %s",
                        peer.uid, peer.pid, op, label, error.code)
            fields = {**_who(peer), "op": op, "label": label, **(named or {}),
                      "outcome": error.code}
            self._audit.record("refusal", fields)
        return error


def _who(peer: Peer) -> dict[str, int]:
    return {"uid": peer.uid, "pid": peer.pid}


def _named_args(op: Op, call: Call) -> dict[str, str | int]:
    """Return the op's audited arguments that are key labels or uids (nothing else is written).

    An argument named like a field of the record itself (`uid`: the caller's) is written as
    `arg_<name>`, so no argument can stand in for who called or how it ended.
    """
    return {f"arg_{name}" if name in _RECORD_FIELDS else name: value for name in op.audit_args
            if is_label(value := call.args.get(name)) or is_uid(value)}


def _as_ipc_error(exc: Exception, op: str) -> IpcError:
    """Return the error reply for an exception an op raised."""
    if isinstance(exc, IpcError):
        return exc
    if isinstance(exc, UnknownKey):
        return IpcError("unknown_key", str(exc))
    if isinstance(exc, KeyExists):
        return IpcError("key_exists", str(exc))
    if isinstance(exc, TokenError):
        return IpcError("token_failed", str(exc))
    if isinstance(exc, PKCS11Error):
        log.error("token failed on op %s: %s", op, type(exc).__name__)
        return IpcError("token_failed", f"the token failed on '{op}' ({type(exc).__name__}); "
                        "see the signer log")
    log.exception("op %s failed", op)
    return IpcError("internal", f"'{op}' failed inside the signer; see the signer log")


def _frame(reply: dict[str, Any]) -> bytes:
    """Return a reply as one line (orjson for speed; json for what orjson refuses)."""
    try:
        return orjson.dumps(reply, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return encode(reply)

