"""Serve the panel's USB-key login through the signer, so the panel never opens a token itself.

Ops (each `async (args, peer) -> result`, for the panel's uids only), where TOKEN is
`token_label` and/or `token_serial`, and optionally `key_id` and `key_label`, as enrolled:
  usb_keys         {}                          -> {keys: [key, ...]}
  login_challenge  {device}                    -> {challenge_id, challenge_b64, expires_in}
  login_verify     {challenge_id, pin, public_key_pem, TOKEN}
                                               -> {session, device, fingerprint}
  login_session    {session}                   -> {open, device?, fingerprint?}
  logout           {session}                   -> {ended}
  enrol_read       {TOKEN, pin?}               -> enrolment
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.ipc import IpcError, Peer
from hsm.enrol import read_enrolment
from hsm.login import (
    ChallengeExpired,
    ChallengeUnknown,
    KeyRemoved,
    LoginDesk,
    LoginError,
    SignatureInvalid,
)
from hsm.operator_key import (
    OperatorKeyAbsent,
    OperatorKeyError,
    OperatorKeyUnusable,
    OperatorPinRefused,
    OperatorPublicKey,
    OperatorTokenRef,
    as_operator_key,
    sign_on_key,
)
from hsm.pinguard import LockedOut, PinGuard
from hsm.usb import KeyAction, KeyEvent, KeyWatch

log = logging.getLogger(__name__)

LoginOp = Callable[[dict[str, Any], Peer], Awaitable[Any]]
"""One agent op: (args, peer) -> result, or raise IpcError."""

_Result = TypeVar("_Result")

_ERROR_CODES: tuple[tuple[type[Exception], str], ...] = (
    (ChallengeUnknown, "challenge_unknown"),
    (ChallengeExpired, "challenge_expired"),
    (KeyRemoved, "key_removed"),
    (SignatureInvalid, "bad_signature"),
    (OperatorKeyAbsent, "key_absent"),
    (OperatorPinRefused, "wrong_pin"),
    (OperatorKeyUnusable, "key_unusable"),
    (LockedOut, "locked_out"),
)
"""The error code a caller gets for each failure; any other is `token_failed`."""

_REF_FIELDS = ("token_label", "token_serial", "key_id", "key_label")


class LoginOps:
    """Present keys, login challenges and their answers, enrolment: the panel's ops."""

    def __init__(
        self,
        watch: KeyWatch,
        module: str,
        panel_uids: Collection[int],
        pin_guard: PinGuard,
        reserved_tokens: Collection[str] = (),
        desk: LoginDesk | None = None,
    ) -> None:
        """Serve keys seen by `watch` whose tokens `module` opens, to `panel_uids` only.

        Wrong PINs typed for operator keys are limited by `pin_guard` (a software token never
        locks). Tokens labelled in `reserved_tokens` (the box's own) are never opened here.
        """
        self._watch = watch
        self._module = module
        self._pin_guard = pin_guard
        self._panel_uids = frozenset(panel_uids)
        self._reserved = frozenset(reserved_tokens)
        self._desk = desk or LoginDesk()
        self._token_lock = asyncio.Lock()
        self._unsubscribe = watch.subscribe(self._on_key_event)

    def table(self) -> dict[str, LoginOp]:
        """Return the ops by name, each refusing any caller but the panel."""
        ops: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "usb_keys": self.usb_keys,
            "login_challenge": self.login_challenge,
            "login_verify": self.login_verify,
            "login_session": self.login_session,
            "logout": self.logout,
            "enrol_read": self.enrol_read,
        }
        return {name: self._for_panel(name, op) for name, op in ops.items()}

    def close(self) -> None:
        """Stop following the key watch."""
        self._unsubscribe()

    async def usb_keys(self, args: dict[str, Any]) -> dict[str, Any]:
        """List the operator keys plugged in."""
        return {"keys": [key.as_dict() for key in self._watch.present()]}

    async def login_challenge(self, args: dict[str, Any]) -> dict[str, Any]:
        """Issue a challenge for the key plugged in at args' `device`."""
        device = _text(args, "device", "the key's device path, as usb_keys lists it")
        if self._watch.find(device) is None:
            raise OperatorKeyAbsent(f"no operator key is plugged in at {device}; plug it in "
                                    "and pick it from usb_keys")
        challenge = self._desk.issue(device, time.monotonic())
        return {"challenge_id": challenge.id,
                "challenge_b64": base64.b64encode(challenge.nonce).decode(),
                "expires_in": round(challenge.expires - time.monotonic())}

    async def login_verify(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sign the challenge on the operator's key after its PIN; open a session if it verifies."""
        challenge_id = _text(args, "challenge_id", "the id login_challenge returned")
        pin = _text(args, "pin", "the PIN of the operator's key")
        enrolled = _enrolled_key(args)
        ref = self._ref(args)
        challenge = self._desk.claim(challenge_id, time.monotonic())
        try:
            signature = await self._with_pin(pin, sign_on_key, ref, pin, challenge.message,
                                             self._reserved)
        except (OperatorKeyError, LockedOut):
            self._desk.abandon(challenge)
            raise
        session = self._desk.complete(challenge, signature, enrolled, time.monotonic())
        log.info("operator logged in with key %s at %s", session.fingerprint, session.device)
        return {"session": session.id, "device": session.device,
                "fingerprint": session.fingerprint}

    async def login_session(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tell whether a session is still open (its key still in, not logged out)."""
        session = self._desk.session(_text(args, "session", "the id login_verify returned"))
        if session is None:
            return {"open": False}
        return {"open": True, "device": session.device, "fingerprint": session.fingerprint}

    async def logout(self, args: dict[str, Any]) -> dict[str, Any]:
        """End a session."""
        ended = self._desk.end(_text(args, "session", "the id login_verify returned"))
        if ended is not None:
            log.info("operator with key %s logged out", ended.fingerprint)
        return {"ended": ended is not None}

    async def enrol_read(self, args: dict[str, Any]) -> dict[str, Any]:
        """Read the public key (and certificate) of an operator's key for enrolment."""
        pin = args.get("pin")
        if pin is not None and not isinstance(pin, str):
            raise IpcError("bad_args", "'pin' must be a string, or left out")
        enrolment = await self._with_pin(pin, read_enrolment, self._ref(args), pin,
                                         self._reserved)
        return enrolment.as_dict()

    def _on_key_event(self, event: KeyEvent) -> None:
        """End the logins of a key pulled out."""
        if event.action != KeyAction.REMOVED:
            return
        for session in self._desk.key_removed(event.key.device):
            log.info("operator with key %s logged out: key pulled out", session.fingerprint)

    def _ref(self, args: dict[str, Any]) -> OperatorTokenRef:
        """Return where args say the operator's key pair is, on the configured module."""
        fields = {name: args.get(name) for name in _REF_FIELDS}
        if any(value is not None and not isinstance(value, str) for value in fields.values()):
            raise IpcError("bad_args", ", ".join(_REF_FIELDS) + " must be strings")
        try:
            return OperatorTokenRef(self._module, **fields)
        except OperatorKeyError as exc:
            raise IpcError("bad_args", f"{exc} (args token_label or token_serial)") from None

    async def _with_pin(
        self, pin: str | None, work: Callable[..., _Result], *args: Any
    ) -> _Result:
        """Run one token operation off the loop, one at a time, counting wrong PINs."""
        async with self._token_lock:
            if pin is None:
                return await asyncio.to_thread(work, *args)
            self._pin_guard.check()
            try:
                result = await asyncio.to_thread(work, *args)
            except OperatorPinRefused:
                self._pin_guard.failed()
                raise
            self._pin_guard.succeeded()
            return result

    def _for_panel(self, name: str, op: Callable[[dict[str, Any]], Awaitable[Any]]) -> LoginOp:
        """Wrap op so only the panel may call it and its failures reach the caller as codes."""

        async def guarded(args: dict[str, Any], peer: Peer) -> Any:
            if peer.uid not in self._panel_uids:
                log.warning("refused uid %d op %s: not the panel", peer.uid, name)
                raise IpcError("forbidden", f"uid {peer.uid} may not use '{name}'; only the "
                               "panel logs operators in")
            try:
                return await op(args)
            except (LoginError, OperatorKeyError, LockedOut) as exc:
                code = _code(exc)
                log.info("op %s failed: %s", name, code)
                raise IpcError(code, str(exc)) from None

        return guarded


def _code(exc: Exception) -> str:
    """Return the error code for a login failure."""
    return next((code for kind, code in _ERROR_CODES if isinstance(exc, kind)), "token_failed")


def _text(args: dict[str, Any], name: str, meaning: str) -> str:
    """Return the non-empty string args carry under `name`."""
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise IpcError("bad_args", f"args need '{name}', {meaning}")
    return value


def _enrolled_key(args: dict[str, Any]) -> OperatorPublicKey:
    """Return the enrolled public key args carry as PEM."""
    pem = _text(args, "public_key_pem", "the enrolled public key as enrol_read returned it")
    try:
        return as_operator_key(load_pem_public_key(pem.encode()))
    except ValueError:
        raise IpcError("bad_args", "'public_key_pem' is not a PEM public key; pass the "
                       "public_key_pem enrol_read returned") from None
