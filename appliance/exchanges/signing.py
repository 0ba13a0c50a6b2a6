"""Route ccxt's request signing to the signer, so no exchange secret lives in a bot.

ccxt calls `self.hmac(request, secret, ...)` from its synchronous `sign()`; the `secret`
ccxt holds here is the key's label in the token, and the signer does the rest.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, Protocol


class Signer(Protocol):
    """What the mixin needs of a signer client."""

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the token key `label`."""
        ...


class UnsupportedSigning(Exception):
    """The exchange asked for a signature the token cannot make."""


class SignerMixin:
    """Put before a ccxt exchange class: its HMAC signatures come from the signer."""

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
        mac = self.signer.sign_hmac(secret.decode(), request)
        if digest == "hex":
            return mac.hex()
        if digest == "base64":
            return base64.b64encode(mac).decode()
        return mac
