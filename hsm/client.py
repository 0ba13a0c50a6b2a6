"""Ask the signer for signatures and key management, blocking (ccxt's sign() is synchronous)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.ipc import IpcError, SyncIpcClient


class SignerError(Exception):
    """The signer refused or failed a request: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"signer: {message} ({code})")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class KeyEntry:
    """One key or credential the signer lists: its label, kind and, for Ed25519, its public key
    as PEM."""

    label: str
    kind: str
    public_key_pem: str | None


class SignerClient:
    """One connection to signer.sock, for one thread at a time."""

    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self._ipc = SyncIpcClient(socket_path, timeout)

    def ping(self) -> None:
        """Check that the signer answers."""
        if self.call("ping") != "pong":
            raise SignerError("bad_reply", "the signer did not answer ping with pong")

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the token key `label`."""
        result = self.call("sign_hmac", label=label, message_b64=_encode(message))
        return _decoded(result, "mac_b64")

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        """Return the Ed25519 signature of message under the token key `label`."""
        result = self.call("sign_eddsa", label=label, message_b64=_encode(message))
        return _decoded(result, "signature_b64")

    def public_key(self, label: str) -> bytes:
        """Return the raw 32-byte Ed25519 public key `label`."""
        return _decoded(self.call("public_key", label=label), "public_key_b64")

    def public_key_pem(self, label: str) -> str:
        """Return the Ed25519 public key `label` as PEM SubjectPublicKeyInfo."""
        return _text(self.call("public_key", label=label), "public_key_pem")

    def import_hmac(self, label: str, secret: bytes) -> None:
        """Store an exchange's HMAC secret in the token as key `label` (admin uids only)."""
        self.call("import_hmac", label=label, secret_b64=_encode(secret))

    def generate_ed25519(self, label: str) -> str:
        """Generate Ed25519 key `label` on the token; return its public key as PEM (admin)."""
        return _text(self.call("generate_ed25519", label=label), "public_key_pem")

    def import_credential(self, label: str, value: bytes) -> None:
        """Store an exchange's passphrase in the token as credential `label` (admin uids only)."""
        self.call("import_credential", label=label, value_b64=_encode(value))

    def read_credential(self, label: str) -> bytes:
        """Return credential `label`, e.g. the passphrase ccxt sends (granted uids only)."""
        return _decoded(self.call("read_credential", label=label), "value_b64")

    def grant(self, uid: int, label: str) -> None:
        """Let `uid` use key or credential `label` from now on (admin uids only).

        The grant lasts until the label is deleted or renamed, or the signer stops: a signer
        starts with its --allow entries only, so pass the grant there too for the next start.
        """
        self.call("grant", uid=uid, label=label)

    def list_keys(self) -> list[KeyEntry]:
        """Return the keys on the token (admin uids only)."""
        result = self.call("list_keys")
        keys = result.get("keys") if isinstance(result, dict) else None
        if not isinstance(keys, list):
            raise SignerError("bad_reply", "the signer's reply has no key list")
        return [_key_entry(key) for key in keys]

    def rename_key(self, label: str, new_label: str) -> None:
        """Make key `label` go by `new_label` (admin uids only)."""
        self.call("rename_key", label=label, new_label=new_label)

    def delete_key(self, label: str) -> None:
        """Destroy key `label` on the token (admin uids only)."""
        self.call("delete_key", label=label)

    def call(self, op: str, **args: Any) -> Any:
        """Send one request and return its result, or raise SignerError."""
        try:
            return self._ipc.call(op, **args)
        except IpcError as exc:
            raise SignerError(exc.code, exc.message) from None

    def close(self) -> None:
        """Close the connection; the next call reconnects."""
        self._ipc.close()


def _encode(message: bytes) -> str:
    return base64.b64encode(message).decode()


def _key_entry(raw: Any) -> KeyEntry:
    """Return one entry of the signer's key list."""
    if not isinstance(raw, dict) or not all(isinstance(raw.get(f), str) for f in ("label", "kind")):
        raise SignerError("bad_reply", "the signer listed a key without a label or kind")
    pem = raw.get("public_key_pem")
    return KeyEntry(raw["label"], raw["kind"], pem if isinstance(pem, str) else None)


def _text(result: Any, field: str) -> str:
    """Return the text a result carries under `field`."""
    text = result.get(field) if isinstance(result, dict) else None
    if not isinstance(text, str):
        raise SignerError("bad_reply", f"the signer's reply has no '{field}'")
    return text


def _decoded(result: Any, field: str) -> bytes:
    """Return the bytes a result carries in base64 under `field`."""
    try:
        return base64.b64decode(_text(result, field), validate=True)
    except binascii.Error:
        raise SignerError("bad_reply", f"the signer's reply has no valid '{field}'") from None
