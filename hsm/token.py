"""Keep exchange and device keys in a PKCS#11 token and sign with them there.

Keys are created frozen (`MODIFIABLE` false), so nobody holding a session can turn on a use
they were not made for; that freezes their label too. A key is therefore known by its *name*:
its label when created, or the name a rename gave it, kept on the token as a small data
object (application NAME_APPLICATION, label = the new name, value = the key's `ID`).

A credential is a secret an exchange wants sent as it is (a passphrase): the bot reads it
back, so it cannot be a sensitive key. It is a private data object on the token (application
CREDENTIAL_APPLICATION), readable only in a logged-in session, frozen and not copyable;
SoftHSM2 stores it encrypted with the token's key. Credentials share the keys' names: one
label names one key or one credential.

A process holds one `Token` at a time: closing it finalises the PKCS#11 module, so the
next `Token.open` reads the module's configuration afresh (SoftHSM2's `SOFTHSM2_CONF`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    MultipleTokensReturned,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PinLocked,
    PKCS11Error,
)

ED25519_PARAMS = bytes.fromhex("06032b6570")
"""EC_PARAMS for Ed25519: the DER of OID 1.3.101.112."""

HMAC_MIN_KEY = 32
"""HMAC-SHA256 keys are stored at least this long: tokens may refuse shorter ones (SoftHSM2 does).

Padding with zero bytes changes no signature: HMAC pads every key to its block size with zeros.
"""

KEY_ID_BYTES = 16
"""Length of the random `ID` given to each new key (both halves of a pair share it)."""

NAME_APPLICATION = "mmbox key name"
"""The application of the data objects that hold renamed keys' names."""

CREDENTIAL_APPLICATION = "mmbox credential"
"""The application of the data objects that hold credentials (exchange passphrases)."""

_KEY_CLASSES = (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY)
_HMAC_TYPES = frozenset({KeyType.GENERIC_SECRET, KeyType.SHA256_HMAC})
_NAME_RECORD = {Attribute.CLASS: ObjectClass.DATA, Attribute.APPLICATION: NAME_APPLICATION}
_CREDENTIAL = {Attribute.CLASS: ObjectClass.DATA, Attribute.APPLICATION: CREDENTIAL_APPLICATION}
_FROZEN = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}


class KeyKind(StrEnum):
    """What a named key is, as the agent lists it."""

    HMAC = "hmac"
    ED25519 = "ed25519"
    CREDENTIAL = "credential"
    OTHER = "other"


@dataclass(frozen=True)
class KeyInfo:
    """One key on the token: its name, its kind and, for Ed25519, its raw public key."""

    label: str
    kind: KeyKind
    public_key: bytes | None = None


class TokenError(Exception):
    """The token cannot do what was asked; the message says what to do."""


class TokenNotFound(TokenError):
    """No token, or more than one, carries the label asked for."""


class WrongPin(TokenError):
    """The token refused the user PIN."""


class UnknownKey(TokenError):
    """The token holds no key (or credential) of that kind under that label."""


class KeyExists(TokenError):
    """The token already holds a key under that label."""


@dataclass(frozen=True)
class _Named:
    """A key or credential object on the token and the name it goes by."""

    name: str
    kind: KeyKind
    object_class: ObjectClass
    key_id: bytes
    key: Any


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

    def import_hmac(self, label: str, secret: bytes | bytearray) -> None:
        """Store an HMAC-SHA256 secret as a sensitive, non-extractable signing key; keep no copy.

        A secret shorter than HMAC_MIN_KEY is stored padded with zero bytes (same signatures).
        The padded copy is a bytearray wiped once the token has it; wiping `secret` is the
        caller's part. (The PKCS#11 binding copies the value into bytes of its own, which Python
        frees but cannot wipe.)
        """
        if not secret:
            raise TokenError(f"the secret for '{label}' is empty; copy it again from the exchange")
        self._refuse_existing(label)
        value = bytearray(secret)
        value.extend(bytes(max(0, HMAC_MIN_KEY - len(value))))
        try:
            self._session.create_object({
                **_FROZEN,
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
                Attribute.LABEL: label,
                Attribute.ID: secrets.token_bytes(KEY_ID_BYTES),
                Attribute.VALUE: value,
                Attribute.VERIFY: False,
                Attribute.ENCRYPT: False,
                Attribute.WRAP: False,
            })
        finally:
            value[:] = bytes(len(value))
        self._keys.clear()

    def generate_ed25519(self, label: str) -> bytes:
        """Generate an Ed25519 pair on the token and return its raw 32-byte public key."""
        self._refuse_existing(label)
        public, _ = self._session.generate_keypair(
            KeyType.EC_EDWARDS,
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            label=label,
            id=secrets.token_bytes(KEY_ID_BYTES),
            store=True,
            public_template={Attribute.EC_PARAMS: ED25519_PARAMS, Attribute.VERIFY: True,
                             Attribute.MODIFIABLE: False},
            private_template=_FROZEN,
        )
        self._keys.clear()
        return raw_ed25519(public[Attribute.EC_POINT])

    def import_credential(self, label: str, value: bytes | bytearray) -> None:
        """Store a credential (an exchange passphrase) as a private, frozen data object.

        Wiping `value` is the caller's part (the PKCS#11 binding copies it into bytes of its
        own, which Python frees but cannot wipe).
        """
        if not value:
            raise TokenError(f"the credential for '{label}' is empty; copy it again from the "
                             "exchange")
        self._refuse_existing(label)
        self._session.create_object({
            **_CREDENTIAL,
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.MODIFIABLE: False,
            Attribute.COPYABLE: False,
            Attribute.LABEL: label,
            Attribute.VALUE: value,
        })

    def read_credential(self, label: str) -> bytes:
        """Return the value of credential `label`; a key's value is never read."""
        records = list(self._session.get_objects({**_CREDENTIAL, Attribute.LABEL: label}))
        if records:
            return bytes(records[0][Attribute.VALUE])
        if self.has_key(label):
            raise UnknownKey(f"'{label}' is a key, not a credential: a key's value never "
                             "leaves the token")
        raise UnknownKey(f"the token holds no credential labelled '{label}'")

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        """Return HMAC-SHA256 of message under the secret key `label`."""
        key = self._key(label, ObjectClass.SECRET_KEY, KeyKind.HMAC, "HMAC")
        return bytes(key.sign(message, mechanism=Mechanism.SHA256_HMAC))

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        """Return the Ed25519 signature of message under the private key `label`."""
        key = self._key(label, ObjectClass.PRIVATE_KEY, KeyKind.ED25519, "Ed25519")
        return bytes(key.sign(message, mechanism=Mechanism.EDDSA))

    def public_key(self, label: str) -> bytes:
        """Return the raw 32-byte Ed25519 public key `label`."""
        key = self._key(label, ObjectClass.PUBLIC_KEY, KeyKind.ED25519, "Ed25519 public")
        return raw_ed25519(key[Attribute.EC_POINT])

    def has_key(self, label: str) -> bool:
        """Tell whether any key or credential on the token goes by `label`."""
        return label in self.labels()

    def labels(self) -> list[str]:
        """Return the names of the keys and credentials on the token, sorted, each once."""
        return sorted({named.name for named in self._named()})

    def key_infos(self) -> list[KeyInfo]:
        """Return every key and credential on the token by name and kind (no value), with
        Ed25519 public keys."""
        found: dict[tuple[str, KeyKind], KeyInfo] = {}
        for named in self._named():
            public = None
            if named.kind is KeyKind.ED25519 and named.object_class is ObjectClass.PUBLIC_KEY:
                public = raw_ed25519(named.key[Attribute.EC_POINT])
            known = found.get((named.name, named.kind))
            if known is None or public is not None:
                found[(named.name, named.kind)] = KeyInfo(named.name, named.kind, public)
        return sorted(found.values(), key=lambda info: (info.label, info.kind))

    def rename(self, label: str, new_label: str) -> None:
        """Make the key `label` go by `new_label` (both halves of a pair)."""
        keys = self._named_as(label)
        if any(named.kind is KeyKind.CREDENTIAL for named in keys):
            raise TokenError(f"credential '{label}' cannot be renamed; import it again under "
                             "the new label, then delete this one")
        self._refuse_existing(new_label)
        key_ids = {named.key_id for named in keys}
        if len(key_ids) != 1 or b"" in key_ids:
            raise TokenError(f"key '{label}' has no single ID on the token, so it cannot be "
                             "renamed; create a key under the new label instead")
        (key_id,) = key_ids
        self._forget_names(key_id)
        self._session.create_object({
            **_NAME_RECORD, Attribute.TOKEN: True, Attribute.PRIVATE: True,
            Attribute.LABEL: new_label, Attribute.VALUE: key_id,
        })
        self._keys.clear()

    def delete(self, label: str) -> None:
        """Destroy the key `label` (both halves of a pair) and its name, or credential `label`."""
        for named in self._named_as(label):
            if named.key_id:
                self._forget_names(named.key_id)
            named.key.destroy()
        self._keys.clear()

    def _key(self, label: str, object_class: ObjectClass, kind: KeyKind, name: str) -> Any:
        cached = self._keys.get((label, object_class))
        if cached is not None:
            return cached
        for named in self._named():
            if named.name == label and named.object_class is object_class and named.kind is kind:
                self._keys[(label, object_class)] = named.key
                return named.key
        raise UnknownKey(f"the token holds no {name} key labelled '{label}'")

    def _named_as(self, label: str) -> list[_Named]:
        keys = [named for named in self._named() if named.name == label]
        if not keys:
            raise UnknownKey(f"the token holds no key or credential labelled '{label}'")
        return keys

    def _named(self) -> Iterator[_Named]:
        """Yield every key and credential object on the token with the name it goes by."""
        names = {bytes(record[Attribute.VALUE]): str(record[Attribute.LABEL])
                 for record in self._session.get_objects(_NAME_RECORD)}
        for object_class in _KEY_CLASSES:
            for key in self._session.get_objects({Attribute.CLASS: object_class}):
                key_id = bytes(key[Attribute.ID])
                name = names.get(key_id) if key_id else None
                yield _Named(name or str(key[Attribute.LABEL]), _kind(object_class, key),
                             object_class, key_id, key)
        for record in self._session.get_objects(_CREDENTIAL):
            yield _Named(str(record[Attribute.LABEL]), KeyKind.CREDENTIAL, ObjectClass.DATA, b"",
                         record)

    def _forget_names(self, key_id: bytes) -> None:
        for record in list(self._session.get_objects({**_NAME_RECORD, Attribute.VALUE: key_id})):
            record.destroy()

    def _refuse_existing(self, label: str) -> None:
        if self.has_key(label):
            raise KeyExists(f"the token already holds a key or credential labelled '{label}'; "
                            "choose another label")


def _kind(object_class: ObjectClass, key: Any) -> KeyKind:
    """Return what a key object is, from its class and type."""
    try:
        key_type = key[Attribute.KEY_TYPE]
    except (ValueError, PKCS11Error):  # a vendor-defined or unreadable type
        return KeyKind.OTHER
    if object_class is ObjectClass.SECRET_KEY and key_type in _HMAC_TYPES:
        return KeyKind.HMAC
    if object_class is not ObjectClass.SECRET_KEY and key_type is KeyType.EC_EDWARDS:
        return KeyKind.ED25519
    return KeyKind.OTHER


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
    if isinstance(exc, PinLocked):
        return TokenError(f"token '{label}' has locked its user PIN; unblock it with the "
                          "security officer PIN using the token's own tools")
    return TokenError(f"cannot log in to token '{label}' ({type(exc).__name__}); "
                      "check the token and its module")


def raw_ed25519(ec_point: bytes) -> bytes:
    """Return the 32 raw bytes of an Ed25519 EC_POINT (a DER OCTET STRING, or already raw)."""
    if len(ec_point) == 34 and ec_point[:2] == b"\x04\x20":
        return ec_point[2:]
    if len(ec_point) == 32:
        return ec_point
    raise TokenError(f"the token returned an Ed25519 point of {len(ec_point)} bytes, not 32")
