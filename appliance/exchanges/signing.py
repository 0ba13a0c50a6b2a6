"""Route ccxt's request signing to the signer, so no exchange secret lives in a bot.

ccxt calls `self.hmac(request, secret, ...)` or `self.eddsa(request, secret, ...)` from its
synchronous `sign()` (and ccxt.pro from its websocket subscriptions); the `secret` ccxt holds
here is the key's label in the token, and the signer does the rest. Exchanges such as Binance
pick Ed25519 when the secret reads like a private key, so an Ed25519 label carries that mark.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import ccxt

from hsm.client import SignerError

ED25519_MARK = "PRIVATE KEY:"
"""Put before an Ed25519 key's label in ccxt's secret: ccxt then asks for `eddsa`."""
ED25519 = "ed25519"
PASSING_TROUBLE = ("unreachable", "rate_limited")
"""Signer errors that pass: the request was not sent and can be tried again."""


class Signer(Protocol):
    """What the mixin needs of a signer client."""

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the token key `label`."""
        ...

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        """Return the Ed25519 signature of message under the token key `label`."""
        ...


class UnsupportedSigning(Exception):
    """The exchange asked for a signature the token cannot make."""


class SignerUnavailable(ccxt.NetworkError):  # type: ignore[misc]
    """The signer did not sign in time; the request was not sent and can be tried again."""


def _signed(sign: Callable[[str, bytes], bytes], label: str, message: bytes) -> bytes:
    """Return `sign(label, message)`; a signer that does not answer is network trouble."""
    try:
        return sign(label, message)
    except SignerError as exc:
        if exc.code in PASSING_TROUBLE:
            raise SignerUnavailable(f"request not sent: {exc.message}") from None
        raise


def ccxt_secret(label: str, kind: str) -> str:
    """Return the secret ccxt holds for token key `label` of `kind` (hmac or ed25519)."""
    return ED25519_MARK + label if kind == ED25519 else label


def key_label(secret: str | bytes) -> str:
    """Return the token key label that ccxt's `secret` stands for."""
    text = secret.decode() if isinstance(secret, bytes) else secret
    return text.removeprefix(ED25519_MARK)


class SignerMixin:
    """Put before a ccxt exchange class: its HMAC and Ed25519 signatures come from the signer."""

    signer: Signer

    def hmac(
        self,
        request: bytes,
        secret: bytes,
        algorithm: Callable[..., Any] = hashlib.sha256,
        digest: str = "hex",
    ) -> str | bytes:
        """Return the signature ccxt asked for, made inside the token."""
        if algorithm is not hashlib.sha256:
            raise UnsupportedSigning(
                f"the exchange wants HMAC with {getattr(algorithm, '__name__', algorithm)}; "
                "the box signs HMAC-SHA256 only — use an exchange that accepts it"
            )
        mac = _signed(self.signer.sign_hmac, key_label(secret), request)
        if digest == "hex":
            return mac.hex()
        if digest == "base64":
            return base64.b64encode(mac).decode()
        return mac

    def eddsa(
        self, request: bytes, secret: str | bytes, curve: str = ED25519, url_encode: bool = False
    ) -> str:
        """Return the Ed25519 signature ccxt asked for, made inside the token, in base64."""
        if curve != ED25519:
            raise UnsupportedSigning(
                f"the exchange wants an EdDSA signature on {curve}; the box signs Ed25519 "
                "only — register an Ed25519 or HMAC key with the exchange"
            )
        signature = _signed(self.signer.sign_eddsa, key_label(secret), request)
        if url_encode:
            return base64.urlsafe_b64encode(signature).decode().rstrip("=")
        return base64.b64encode(signature).decode()
