"""Answer signing requests on signer.sock, each for a caller allowed the key it names."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pkcs11.exceptions import PKCS11Error

from appliance.ipc import IpcError, Peer, serve_unix
from hsm.access import AccessPolicy
from hsm.token import Token, UnknownKey

log = logging.getLogger(__name__)

SOCKET_MODE = 0o666
"""Anyone may connect: the caller's uid (SO_PEERCRED) decides what it may sign."""

Operation = Callable[[str, dict[str, Any]], dict[str, str]]


class SignerAgent:
    """Check each request against the access policy and sign it in the token."""

    def __init__(self, token: Token, policy: AccessPolicy) -> None:
        self._token = token
        self._policy = policy
        self._operations: dict[str, Operation] = {
            "sign_hmac": self._sign_hmac,
            "sign_eddsa": self._sign_eddsa,
            "public_key": self._public_key,
        }

    async def handle(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer one request, or raise IpcError with a code the caller can act on."""
        if op == "ping":
            return "pong"
        operation = self._operations.get(op)
        if operation is None:
            raise IpcError("unknown_op", f"the signer has no op '{op}'; use ping, "
                           + ", ".join(self._operations))
        label = _label(args)
        if not self._policy.allows(peer.uid, label):
            log.warning("refused uid %d op %s label %r: not allowed", peer.uid, op, label)
            raise IpcError("forbidden", f"uid {peer.uid} may not use key '{label}'; "
                           "grant it with --allow when starting the signer")
        try:
            return operation(label, args)
        except UnknownKey as exc:
            raise IpcError("unknown_key", str(exc)) from None
        except PKCS11Error as exc:
            log.error("token failed on op %s label %r: %s", op, label, type(exc).__name__)
            raise IpcError("token_failed", "the token failed to sign; see the signer log") from None

    def _sign_hmac(self, label: str, args: dict[str, Any]) -> dict[str, str]:
        mac = self._token.sign_hmac(label, _message(args))
        return {"mac_b64": base64.b64encode(mac).decode()}

    def _sign_eddsa(self, label: str, args: dict[str, Any]) -> dict[str, str]:
        signature = self._token.sign_eddsa(label, _message(args))
        return {"signature_b64": base64.b64encode(signature).decode()}

    def _public_key(self, label: str, args: dict[str, Any]) -> dict[str, str]:
        return {"public_key_b64": base64.b64encode(self._token.public_key(label)).decode()}


def _label(args: dict[str, Any]) -> str:
    """Return the key label a request names."""
    label = args.get("label")
    if not isinstance(label, str) or not label:
        raise IpcError("bad_args", "args need 'label', the key's label in the token")
    return label


def _message(args: dict[str, Any]) -> bytes:
    """Return the bytes a request asks to sign."""
    encoded = args.get("message_b64")
    if not isinstance(encoded, str):
        raise IpcError("bad_args", "args need 'message_b64', the message in base64")
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise IpcError("bad_args", "'message_b64' is not valid base64") from None


async def serve_signer(agent: SignerAgent, socket_path: Path) -> None:
    """Serve the agent on socket_path until SIGTERM or SIGINT, then remove the socket."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await serve_unix(socket_path, agent.handle, mode=SOCKET_MODE)
    log.info("signer serving %s", socket_path)
    try:
        await stop.wait()
    finally:
        server.close()
        socket_path.unlink(missing_ok=True)
        log.info("signer stopped")
