"""Ask the signer for signatures, blocking (ccxt's sign() is synchronous)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from appliance.ipc import IpcError, SyncIpcClient


class SignerError(Exception):
    """The signer refused or failed a request: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"signer: {message} ({code})")
        self.code = code
        self.message = message


class SignerClient:
    """One connection to signer.sock, for one thread at a time."""

    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self._ipc = SyncIpcClient(socket_path, timeout)

    def ping(self) -> None:
        """Check that the signer answers."""
        if self._call("ping") != "pong":
            raise SignerError("bad_reply", "the signer did not answer ping with pong")

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the token key `label`."""
        result = self._call("sign_hmac", label=label, message_b64=_encode(message))
        return _decoded(result, "mac_b64")

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        """Return the Ed25519 signature of message under the token key `label`."""
        result = self._call("sign_eddsa", label=label, message_b64=_encode(message))
        return _decoded(result, "signature_b64")

    def public_key(self, label: str) -> bytes:
        """Return the raw 32-byte Ed25519 public key `label`."""
        return _decoded(self._call("public_key", label=label), "public_key_b64")

    def close(self) -> None:
        """Close the connection; the next call reconnects."""
        self._ipc.close()

    def _call(self, op: str, **args: Any) -> Any:
        try:
            return self._ipc.call(op, **args)
        except IpcError as exc:
            raise SignerError(exc.code, exc.message) from None


def _encode(message: bytes) -> str:
    return base64.b64encode(message).decode()


def _decoded(result: Any, field: str) -> bytes:
    """Return the bytes a result carries in base64 under `field`."""
    encoded = result.get(field) if isinstance(result, dict) else None
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            pass
    raise SignerError("bad_reply", f"the signer's reply has no valid '{field}'")
