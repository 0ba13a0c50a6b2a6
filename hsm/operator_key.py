"""Open an operator's USB key as the PKCS#11 token it is, and use the key pair it holds.

The module is loaded once per process and never finalised here: the box's own token may be
served by the same module (SoftHSM2 in development), and finalising would end its session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    DeviceRemoved,
    MultipleTokensReturned,
    NoSuchToken,
    PinExpired,
    PinIncorrect,
    PinInvalid,
    PinLenRange,
    PinLocked,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
)
from pkcs11.util.ec import encode_ec_public_key

from hsm.token import ED25519_PARAMS, raw_ed25519

OperatorPublicKey = EllipticCurvePublicKey | Ed25519PublicKey | RSAPublicKey
"""The kinds of key an operator's key may hold: ECDSA (P-256 and other NIST curves), Ed25519
or RSA."""

ED25519_NAME = b"\x13\x0cedwards25519"
"""EC_PARAMS for Ed25519 as some tokens write it: the curve's name as a PrintableString."""

RSA_MIN_BITS = 2048
"""The smallest RSA key the box accepts for a login."""

_GONE = (DeviceRemoved, TokenNotPresent, SessionClosed, SessionHandleInvalid)
_PIN_REFUSED = (PinIncorrect, PinInvalid, PinLenRange)


class OperatorKeyError(Exception):
    """The operator's key cannot do what was asked; the message says what to do."""


class OperatorKeyAbsent(OperatorKeyError):
    """No token of the module matches: the key is not plugged in, or was pulled out."""


class OperatorPinRefused(OperatorKeyError):
    """The operator's key refused the PIN."""


class OperatorKeyUnusable(OperatorKeyError):
    """The token holds no key pair the box can use, or more than one and none was named."""


@dataclass(frozen=True)
class OperatorTokenRef:
    """Where an operator's key pair lives: a module, a token on it, a key pair on that token.

    The token is named by label or serial (or both); the key pair by its CKA_ID in hex or by
    the label of any of its objects, and may be left unnamed when the token holds only one.
    """

    module: str
    token_label: str | None = None
    token_serial: str | None = None
    key_id: str | None = None
    key_label: str | None = None

    def __post_init__(self) -> None:
        if not (self.token_label or self.token_serial):
            raise OperatorKeyError("name the operator's token by its label or its serial")

    def describe(self) -> str:
        """Return how the token is named, for messages."""
        if self.token_label:
            return f"token '{self.token_label}'"
        return f"token with serial {self.token_serial}"


@dataclass
class KeyPair:
    """The objects of one key pair on a token (private key, public key, certificate) by CKA_ID."""

    key_id: bytes
    objects: dict[ObjectClass, Any] = field(default_factory=dict)

    def labels(self) -> set[str]:
        """Return the labels its objects carry."""
        return {str(obj[Attribute.LABEL]) for obj in self.objects.values()}

    def label(self) -> str:
        """Return the label of its key (private, else public), else of its certificate."""
        return str(next(iter(self.objects.values()))[Attribute.LABEL])

    def named_by(self, ref: OperatorTokenRef) -> bool:
        """Tell whether the reference's key id and key label (where given) name this pair."""
        return ((ref.key_id is None or self.key_id.hex() == ref.key_id.lower())
                and (ref.key_label is None or ref.key_label in self.labels()))


@dataclass(frozen=True)
class OperatorPublic:
    """The public half of an operator's key pair, as its token shows it, and where it lives."""

    public_key: OperatorPublicKey
    certificate: x509.Certificate | None
    token_label: str
    token_serial: str
    key_id: str
    key_label: str


@contextmanager
def operator_session(
    ref: OperatorTokenRef, pin: str | None, reserved: Collection[str] = ()
) -> Iterator[Any]:
    """Open a session on the operator's token, logged in when a PIN is given; close it after.

    A token whose label is in `reserved` (the box's own) is refused before any PIN reaches it.
    """
    library = _load(ref.module)
    with _failures_explained(ref):
        serial = ref.token_serial.encode() if ref.token_serial else None
        token = library.get_token(token_label=ref.token_label, token_serial=serial)
        if token.label in reserved:
            raise OperatorKeyUnusable(f"token '{token.label}' is the box's own; name the "
                                      "operator's key instead")
        session = token.open(user_pin=pin)
    try:
        with _failures_explained(ref):
            yield session
    finally:
        # A pulled key has already dropped the session: there is nothing left to close.
        with suppress(PKCS11Error):
            session.close()


def sign_on_key(
    ref: OperatorTokenRef, pin: str, message: bytes, reserved: Collection[str] = ()
) -> bytes:
    """Sign message with the operator's private key after its PIN, in the key type's usual form.

    ECDSA: SHA-256, then DER (r, s); Ed25519: the 64 raw bytes; RSA: PKCS#1 v1.5 with SHA-256.
    """
    with operator_session(ref, pin, reserved) as session:
        private = _pair(session, ref, ObjectClass.PRIVATE_KEY).objects[ObjectClass.PRIVATE_KEY]
        kind = KeyType(private[Attribute.KEY_TYPE])
        signer = _SIGNERS.get(kind)
        if signer is None:
            raise _kind_unusable(kind.name)
        return signer(private, message)


def read_public(
    ref: OperatorTokenRef, pin: str | None = None, reserved: Collection[str] = ()
) -> OperatorPublic:
    """Return the operator's public key, from its certificate when the token holds one."""
    with operator_session(ref, pin, reserved) as session:
        pair = _pair(session, ref, ObjectClass.PUBLIC_KEY, ObjectClass.CERTIFICATE)
        certificate = _certificate(pair)
        if certificate is not None:
            public = as_operator_key(certificate.public_key())
        else:
            public = public_key_of(pair.objects[ObjectClass.PUBLIC_KEY])
        token = session.token
        return OperatorPublic(public, certificate, str(token.label),
                              _text(token.serial), pair.key_id.hex(), pair.label())


def public_key_of(obj: Any) -> OperatorPublicKey:
    """Return a PKCS#11 public key object as a `cryptography` public key."""
    kind = KeyType(obj[Attribute.KEY_TYPE])
    if kind == KeyType.RSA:
        exponent = int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big")
        modulus = int.from_bytes(obj[Attribute.MODULUS], "big")
        return as_operator_key(RSAPublicNumbers(exponent, modulus).public_key())
    if kind == KeyType.EC:
        return as_operator_key(load_der_public_key(encode_ec_public_key(obj)))
    if kind == KeyType.EC_EDWARDS and obj[Attribute.EC_PARAMS] in (ED25519_PARAMS, ED25519_NAME):
        return Ed25519PublicKey.from_public_bytes(raw_ed25519(obj[Attribute.EC_POINT]))
    raise _kind_unusable(kind.name)


def as_operator_key(public: Any) -> OperatorPublicKey:
    """Return public if it is a kind of key, and strong enough, for the box to log in with."""
    if isinstance(public, RSAPublicKey) and public.key_size < RSA_MIN_BITS:
        raise OperatorKeyUnusable(f"the operator's RSA key has {public.key_size} bits; the box "
                                  f"logs in with RSA keys of {RSA_MIN_BITS} bits or more")
    if isinstance(public, EllipticCurvePublicKey | Ed25519PublicKey | RSAPublicKey):
        return public
    raise _kind_unusable(type(public).__name__)


def _sign_ecdsa(private: Any, message: bytes) -> bytes:
    """Sign with raw CKM_ECDSA over SHA-256 (SoftHSM2 has no ECDSA_SHA256); return DER."""
    raw = bytes(private.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA))
    r, s = raw[: len(raw) // 2], raw[len(raw) // 2 :]
    return encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))


def _sign_eddsa(private: Any, message: bytes) -> bytes:
    return bytes(private.sign(message, mechanism=Mechanism.EDDSA))


def _sign_rsa(private: Any, message: bytes) -> bytes:
    return bytes(private.sign(message, mechanism=Mechanism.SHA256_RSA_PKCS))


_SIGNERS: dict[KeyType, Callable[[Any, bytes], bytes]] = {
    KeyType.EC: _sign_ecdsa,
    KeyType.EC_EDWARDS: _sign_eddsa,
    KeyType.RSA: _sign_rsa,
}


def _load(module: str) -> Any:
    """Load (or reuse) the PKCS#11 module at `module`."""
    try:
        return pkcs11.lib(module)
    except PKCS11Error as exc:
        raise OperatorKeyError(f"cannot load the operator keys' PKCS#11 module {module}: "
                               f"{exc}; install it or configure its path") from None


@contextmanager
def _failures_explained(ref: OperatorTokenRef) -> Iterator[None]:
    """Turn the module's failures into errors that tell the operator what to do."""
    try:
        yield
    except (NoSuchToken, *_GONE):
        raise OperatorKeyAbsent(f"no {ref.describe()} in {ref.module}; plug in the operator's "
                                "key and try again") from None
    except MultipleTokensReturned:
        raise OperatorKeyUnusable(f"more than one {ref.describe()} is plugged in; leave "
                                  "only the operator's key in") from None
    except _PIN_REFUSED:
        raise OperatorPinRefused(f"{ref.describe()} refused the PIN; type the key's PIN "
                                 "again") from None
    except (PinLocked, PinExpired):
        raise OperatorPinRefused(f"{ref.describe()} has locked or expired its PIN; unblock it "
                                 "with its PUK or reset it") from None
    except PKCS11Error as exc:
        raise OperatorKeyError(f"{ref.describe()} failed ({type(exc).__name__}); pull the key "
                               "out, plug it in and try again") from None


def _pair(session: Any, ref: OperatorTokenRef, *needed: ObjectClass) -> KeyPair:
    """Return the one key pair the reference names that has an object of a `needed` class."""
    pairs: dict[bytes, KeyPair] = {}
    for kind in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY, ObjectClass.CERTIFICATE):
        for obj in session.get_objects({Attribute.CLASS: kind}):
            key_id = bytes(obj[Attribute.ID])
            pairs.setdefault(key_id, KeyPair(key_id)).objects.setdefault(kind, obj)
    chosen = [pair for pair in pairs.values()
              if pair.named_by(ref) and any(kind in pair.objects for kind in needed)]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise OperatorKeyUnusable(f"{ref.describe()} holds no such key pair; enrol the "
                                  "operator's key again")
    ids = ", ".join(sorted(pair.key_id.hex() or "''" for pair in chosen))
    raise OperatorKeyUnusable(f"{ref.describe()} holds {len(chosen)} key pairs (ids {ids}); "
                              "name the login key by its key id")


def _certificate(pair: KeyPair) -> x509.Certificate | None:
    """Return the pair's X.509 certificate, if the token holds one."""
    obj = pair.objects.get(ObjectClass.CERTIFICATE)
    if obj is None:
        return None
    try:
        return x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
    except ValueError:
        raise OperatorKeyUnusable("the certificate on the operator's key is not valid X.509; "
                                  "write the key's certificate again") from None


def _kind_unusable(kind: str) -> OperatorKeyUnusable:
    """Return the error for a key of a kind the box does not log in with."""
    return OperatorKeyUnusable(f"the operator's key is of type {kind}; the box logs in with "
                               "ECDSA, Ed25519 or RSA keys")


def _text(value: Any) -> str:
    """Return a token field (bytes or text) as text."""
    return value.decode(errors="replace").strip() if isinstance(value, bytes) else str(value)
