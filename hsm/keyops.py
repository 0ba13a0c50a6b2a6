"""The token's ops: sign and read credentials for granted callers, key management and grants
for the admin uids."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.ipc import IpcError
from hsm.access import AccessPolicy
from hsm.const import PROTECTED_KEY_LABELS
from hsm.ops import Access, Audit, Call, Op
from hsm.token import KeyKind, Token, UnknownKey


def ed25519_pem(raw: bytes) -> str:
    """Return a raw Ed25519 public key as PEM SubjectPublicKeyInfo (what Binance asks for)."""
    public = Ed25519PublicKey.from_public_bytes(raw)
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


LOCKED_MESSAGE = ("the box is locked: the token opens when an owner unlocks the box from the "
                  "panel; try again then")
"""The answer to every token op while the box is locked (error code `locked`)."""


class TokenOps:
    """Answer the key ops from the box token, once it is open (logged in).

    A box that keeps no PIN starts with `token` None: every op then answers `locked` until the
    token is opened and set.
    """

    def __init__(self, token: Token | None = None) -> None:
        self.token = token

    @property
    def _token(self) -> Token:
        """Return the open token (the ops are refused before they run while it is not)."""
        if self.token is None:
            raise IpcError("locked", LOCKED_MESSAGE)
        return self.token

    def table(self) -> dict[str, Op]:
        """Return the ops, with their access rule and audit."""
        signing = {
            "sign_hmac": Op(self.sign_hmac, Access.GRANTED, Audit.COUNTED),
            "sign_eddsa": Op(self.sign_eddsa, Access.GRANTED, Audit.COUNTED),
            "public_key": Op(self.public_key, Access.GRANTED, Audit.COUNTED),
            "read_credential": Op(self.read_credential, Access.GRANTED, Audit.EACH),
        }
        managing = {
            "import_hmac": Op(self.import_hmac, Access.ADMIN, Audit.EACH),
            "generate_ed25519": Op(self.generate_ed25519, Access.ADMIN, Audit.EACH),
            "import_credential": Op(self.import_credential, Access.ADMIN, Audit.EACH),
            "list_keys": Op(self.list_keys, Access.ADMIN, Audit.EACH),
            "rename_key": Op(self.rename_key, Access.ADMIN, Audit.EACH, ("label", "new_label"),
                             policy_change=_revoked),
            "delete_key": Op(self.delete_key, Access.ADMIN, Audit.EACH, policy_change=_revoked),
            "grant": Op(self.grant, Access.ADMIN, Audit.EACH, ("uid", "label"),
                        policy_change=_granted),
        }
        return {name: replace(op, run=self._when_open(op.run))
                for name, op in (signing | managing).items()}

    def _when_open(self, run: Callable[[Call], Any]) -> Callable[[Call], Any]:
        """Return `run` refused as `locked` before anything else while the box is locked."""

        def checked(call: Call) -> Any:
            if self.token is None:
                raise IpcError("locked", LOCKED_MESSAGE)
            return run(call)

        return checked

    def sign_hmac(self, call: Call) -> dict[str, str]:
        """Return HMAC-SHA256 of `message_b64` under key `label`."""
        mac = self._token.sign_hmac(call.needs_label(), call.needs_bytes("message_b64"))
        return {"mac_b64": base64.b64encode(mac).decode()}

    def sign_eddsa(self, call: Call) -> dict[str, str]:
        """Return the Ed25519 signature of `message_b64` under key `label`."""
        signature = self._token.sign_eddsa(call.needs_label(), call.needs_bytes("message_b64"))
        return {"signature_b64": base64.b64encode(signature).decode()}

    def public_key(self, call: Call) -> dict[str, str]:
        """Return Ed25519 public key `label`, raw in base64 and as PEM."""
        raw = self._token.public_key(call.needs_label())
        return {"public_key_b64": base64.b64encode(raw).decode(),
                "public_key_pem": ed25519_pem(raw)}

    def import_hmac(self, call: Call) -> dict[str, str]:
        """Store `secret_b64` as HMAC key `label`; write it nowhere, keep no reference to it.

        The mutable copies the agent owns are wiped: the request's bytes in the connection
        buffer, the decoded secret here, the padded key value in Token. Python's immutable
        copies (the request line, the base64 text, the decoded bytes) cannot be wiped; nothing
        refers to them once the call returns.
        """
        label = call.needs_label()
        secret = bytearray(call.needs_bytes("secret_b64"))
        try:
            self._token.import_hmac(label, secret)
        finally:
            secret[:] = bytes(len(secret))
        return {"label": label, "kind": KeyKind.HMAC}

    def read_credential(self, call: Call) -> dict[str, str]:
        """Return credential `label` (an exchange passphrase) in base64; never a key's value."""
        return {"value_b64": base64.b64encode(self._token.read_credential(call.needs_label()))
                .decode()}

    def import_credential(self, call: Call) -> dict[str, str]:
        """Store `value_b64` as credential `label`; write it nowhere, keep no reference to it.

        The decoded value is wiped here as import_hmac wipes a secret (see there).
        """
        label = call.needs_label()
        value = bytearray(call.needs_bytes("value_b64"))
        try:
            self._token.import_credential(label, value)
        finally:
            value[:] = bytes(len(value))
        return {"label": label, "kind": KeyKind.CREDENTIAL}

    def grant(self, call: Call) -> dict[str, Any]:
        """Let `uid` use key or credential `label` from now on (see `_granted`).

        The label must be on the token, so a mistyped or deleted label is refused rather than
        granted to no effect (and to a key someone may later create under it). The grant lives
        in the running signer only; its next start grants what --allow says.
        """
        uid = call.needs_uid()
        label = _unprotected(call.needs_label(), "granted while the signer runs (--allow only)")
        if not self._token.has_key(label):
            raise UnknownKey(f"the token holds no key or credential labelled '{label}'; import "
                             "or generate it first, then grant it")
        return {"uid": uid, "label": label}

    def generate_ed25519(self, call: Call) -> dict[str, str]:
        """Generate Ed25519 pair `label` on the token and return its public key as PEM."""
        label = call.needs_label()
        raw = self._token.generate_ed25519(label)
        return {"label": label, "kind": KeyKind.ED25519, "public_key_pem": ed25519_pem(raw)}

    def list_keys(self, call: Call) -> dict[str, list[dict[str, Any]]]:
        """Return every key's and credential's label and kind, with the public key of Ed25519
        keys as PEM (never a credential's value)."""
        return {"keys": [
            {"label": info.label, "kind": info.kind,
             "public_key_pem": None if info.public_key is None else ed25519_pem(info.public_key)}
            for info in self._token.key_infos()
        ]}

    def rename_key(self, call: Call) -> dict[str, str]:
        """Make key `label` go by `new_label`."""
        label = _unprotected(call.needs_label(), "renamed or deleted")
        new_label = call.needs_label("new_label")
        self._token.rename(label, new_label)
        return {"label": new_label}

    def delete_key(self, call: Call) -> dict[str, str]:
        """Destroy key or credential `label`."""
        label = _unprotected(call.needs_label(), "renamed or deleted")
        self._token.delete(label)
        return {"label": label}


def _unprotected(label: str, never: str) -> str:
    """Return label unless it is a key the agent never lets be `never` (renamed, granted...)."""
    if label in PROTECTED_KEY_LABELS:
        raise IpcError("protected_key", f"key '{label}' is bound to the box's license; it is "
                       f"never {never}")
    return label


def _granted(policy: AccessPolicy, call: Call) -> AccessPolicy:
    """Return the policy after a grant: `uid` may use `label` too."""
    return policy.granted(call.needs_uid(), call.needs_label())


def _revoked(policy: AccessPolicy, call: Call) -> AccessPolicy:
    """Return the policy after `label` was deleted or renamed: no uid may use that label.

    Otherwise a key or credential created later under the label would be usable by the uids
    granted the old one without anyone granting it.
    """
    return policy.without_label(call.needs_label())
