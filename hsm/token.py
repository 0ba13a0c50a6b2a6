"""Keep exchange and device keys in a PKCS#11 token and sign with them there.

A process holds one `Token` at a time: closing it finalises the PKCS#11 module, so the
next `Token.open` reads the module's configuration afresh (SoftHSM2's `SOFTHSM2_CONF`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    MultipleTokensReturned,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PKCS11Error,
)

ED25519_PARAMS = bytes.fromhex("06032b6570")
"""EC_PARAMS for Ed25519: the DER of OID 1.3.101.112."""

HMAC_MIN_KEY = 32
"""SoftHSM2 refuses HMAC-SHA256 keys shorter than this many bytes."""

_HMAC = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.GENERIC_SECRET}
_EDDSA_PRIVATE = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS}
_EDDSA_PUBLIC = {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS}


class TokenError(Exception):
    """The token cannot do what was asked; the message says what to do."""


class TokenNotFound(TokenError):
    """No token, or more than one, carries the label asked for."""


class WrongPin(TokenError):
    """The token refused the user PIN."""


class UnknownKey(TokenError):
    """The token holds no key of that kind under that label."""


class KeyExists(TokenError):
    """The token already holds a key under that label."""


class Token:
    """A logged-in read/write session on one token."""

    def __init__(self, library: Any, session: Any) -> None:
        self._library = library
        self._session = session
        self._keys: dict[tuple[str, ObjectClass], Any] = {}
        self._open = True

    @classmethod
    def open(cls, module: str, label: str, pin: str) -> Token:
        """Load the module, find token `label` and log in with the user PIN."""
        try:
            library = pkcs11.lib(module)
        except PKCS11Error as exc:
            raise TokenError(f"cannot load the PKCS#11 module {module}: {exc}") from None
        try:
            token = library.get_token(token_label=label)
            return cls(library, token.open(rw=True, user_pin=pin))
        except PKCS11Error as exc:
            library.finalize()
            raise _refusal(exc, module, label) from None

    def __enter__(self) -> Token:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Log out, close the session and finalise the module (once)."""
        if not self._open:
            return
        self._open = False
        self._keys.clear()
        self._session.close()
        self._library.finalize()

    def import_hmac(self, label: str, secret: bytes) -> None:
        """Store an HMAC-SHA256 secret as a sensitive, non-extractable signing key; keep no copy.

        A secret shorter than HMAC_MIN_KEY is stored padded with zero bytes: HMAC pads every
        key up to its block size (64 bytes) with zeros, so the signatures are the same.
        """
        if not secret:
            raise TokenError(f"the secret for '{label}' is empty; copy it again from the exchange")
        self._refuse_existing(label)
        self._session.create_object({
            **_HMAC,
            Attribute.LABEL: label,
            Attribute.VALUE: secret.ljust(HMAC_MIN_KEY, b"\0"),
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.MODIFIABLE: False,
            Attribute.SIGN: True,
            Attribute.VERIFY: False,
            Attribute.ENCRYPT: False,
            Attribute.DECRYPT: False,
            Attribute.WRAP: False,
            Attribute.UNWRAP: False,
            Attribute.DERIVE: False,
        })

    def generate_ed25519(self, label: str) -> bytes:
        """Generate an Ed25519 pair on the token and return its raw 32-byte public key."""
        self._refuse_existing(label)
        public, _ = self._session.generate_keypair(
            KeyType.EC_EDWARDS,
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            label=label,
            store=True,
            public_template={Attribute.EC_PARAMS: ED25519_PARAMS, Attribute.VERIFY: True},
            private_template={
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
            },
        )
        return raw_ed25519(public[Attribute.EC_POINT])

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the secret key `label`."""
        key = self._key(label, _HMAC, "HMAC")
        return bytes(key.sign(message, mechanism=Mechanism.SHA256_HMAC))

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        """Return the Ed25519 signature of message under the private key `label`."""
        key = self._key(label, _EDDSA_PRIVATE, "Ed25519")
        return bytes(key.sign(message, mechanism=Mechanism.EDDSA))

    def public_key(self, label: str) -> bytes:
        """Return the raw 32-byte Ed25519 public key `label`."""
        key = self._key(label, _EDDSA_PUBLIC, "Ed25519 public")
        return raw_ed25519(key[Attribute.EC_POINT])

    def has_key(self, label: str) -> bool:
        """Tell whether any object on the token carries `label`."""
        return label in self.labels()

    def labels(self) -> list[str]:
        """Return the labels of the keys on the token, sorted, each once."""
        objects = self._session.get_objects({Attribute.TOKEN: True})
        return sorted({str(obj[Attribute.LABEL]) for obj in objects})

    def _key(self, label: str, attrs: dict[Attribute, Any], name: str) -> Any:
        kind = attrs[Attribute.CLASS]
        cached = self._keys.get((label, kind))
        if cached is not None:
            return cached
        try:
            key = next(self._session.get_objects({**attrs, Attribute.LABEL: label}))
        except StopIteration:
            raise UnknownKey(f"the token holds no {name} key labelled '{label}'") from None
        self._keys[(label, kind)] = key
        return key

    def _refuse_existing(self, label: str) -> None:
        if self.has_key(label):
            raise KeyExists(f"the token already holds a key labelled '{label}'; "
                            "choose another label")


def _refusal(exc: PKCS11Error, module: str, label: str) -> TokenError:
    """Return the error a user should see when the token cannot be opened."""
    if isinstance(exc, NoSuchToken):
        return TokenNotFound(f"no token labelled '{label}' in {module}; "
                             "provision the box or pass the right --token")
    if isinstance(exc, MultipleTokensReturned):
        return TokenNotFound(f"more than one token is labelled '{label}' in {module}; "
                             "remove the duplicate")
    if isinstance(exc, (PinIncorrect, PinLenRange)):
        return WrongPin(f"token '{label}' refused the user PIN; supply the PIN "
                        "the box was provisioned with")
    return TokenError(f"cannot log in to token '{label}' ({type(exc).__name__}); "
                      "check the token and its module")


def raw_ed25519(ec_point: bytes) -> bytes:
    """Return the 32 raw bytes of an Ed25519 EC_POINT (a DER OCTET STRING, or already raw)."""
    if len(ec_point) == 34 and ec_point[:2] == b"\x04\x20":
        return ec_point[2:]
    if len(ec_point) == 32:
        return ec_point
    raise TokenError(f"the token returned an Ed25519 point of {len(ec_point)} bytes, not 32")

