"""Keys in the token sign like the real algorithms and never come out."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Iterator
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive, KeyUnextractable, PKCS11Error

from appliance.datadir import DataDir
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE
from hsm.token import KeyExists, Token, TokenError, TokenNotFound, UnknownKey, WrongPin


def plain_session(pin: str) -> Iterator[pkcs11.Session]:
    """Yield a PKCS#11 session opened without Token, then finalise the module."""
    library = pkcs11.lib(SOFTHSM_MODULE)
    with library.get_token(token_label=DEFAULT_TOKEN_LABEL).open(rw=True, user_pin=pin) as s:
        yield s
    library.finalize()


@pytest.fixture
def raw_session(token: Token, user_pin: str) -> Iterator[pkcs11.Session]:
    """Yield a plain PKCS#11 session on a token holding one imported HMAC key, 'k'."""
    token.import_hmac("k", b"s" * 40)
    token.close()
    yield from plain_session(user_pin)


def hmac_key(session: pkcs11.Session) -> Any:
    """Return the HMAC key the raw_session fixture imported."""
    return session.get_key(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, label="k")


def test_hmac_matches_python_for_random_secrets_and_messages(token: Token) -> None:
    rng = random.Random(7)
    for n in range(40):
        secret = rng.randbytes(rng.choice([1, 16, 31, 32, 33, 64, 65, 128]))
        token.import_hmac(f"key-{n}", secret)
        for _ in range(5):
            message = rng.randbytes(rng.randrange(0, 2048))
            expected = hmac.new(secret, message, hashlib.sha256).digest()
            assert token.sign_hmac(f"key-{n}", message) == expected


def test_imported_secret_value_cannot_be_read(raw_session: pkcs11.Session) -> None:
    with pytest.raises(AttributeSensitive):
        hmac_key(raw_session)[Attribute.VALUE]


def test_imported_secret_cannot_be_wrapped_out(raw_session: pkcs11.Session) -> None:
    wrapper: Any = raw_session.generate_key(KeyType.AES, 256, label="wrapper")
    with pytest.raises(KeyUnextractable):
        wrapper.wrap_key(hmac_key(raw_session))


def test_imported_secret_cannot_be_made_extractable(raw_session: pkcs11.Session) -> None:
    key = hmac_key(raw_session)
    with pytest.raises(PKCS11Error):
        key[Attribute.EXTRACTABLE] = True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.SENSITIVE] is True


def test_ed25519_signature_verifies_with_the_exported_public_key(token: Token) -> None:
    public = token.generate_ed25519("device")
    message = b"challenge 42"
    signature = token.sign_eddsa("device", message)
    assert len(public) == 32
    assert token.public_key("device") == public
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


def test_ed25519_private_key_stays_in_the_token(token: Token, user_pin: str) -> None:
    token.generate_ed25519("device")
    token.close()
    for session in plain_session(user_pin):
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS, label="device")
        with pytest.raises(AttributeSensitive):
            private[Attribute.VALUE]
        assert private[Attribute.EXTRACTABLE] is False


def test_labels_and_has_key(token: Token) -> None:
    token.import_hmac("bot-1.sim.hmac", b"x" * 64)
    token.generate_ed25519("device")
    assert token.labels() == ["bot-1.sim.hmac", "device"]
    assert token.has_key("device")
    assert not token.has_key("bot-2.sim.hmac")


def test_unknown_label_is_refused_by_kind(token: Token) -> None:
    token.generate_ed25519("device")
    with pytest.raises(UnknownKey, match="no HMAC key labelled 'device'"):
        token.sign_hmac("device", b"m")
    with pytest.raises(UnknownKey, match="no Ed25519 key labelled 'absent'"):
        token.sign_eddsa("absent", b"m")


def test_a_label_is_used_once(token: Token) -> None:
    token.import_hmac("k", b"x" * 32)
    with pytest.raises(KeyExists, match="choose another label"):
        token.import_hmac("k", b"y" * 32)
    with pytest.raises(KeyExists):
        token.generate_ed25519("k")


def test_empty_secret_is_refused(token: Token) -> None:
    with pytest.raises(TokenError, match="empty"):
        token.import_hmac("k", b"")
    assert not token.has_key("k")


def test_wrong_pin_is_refused(data: DataDir) -> None:
    with pytest.raises(WrongPin, match="refused the user PIN"):
        Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, "not-the-pin")


def test_unknown_token_label_is_refused(data: DataDir, user_pin: str) -> None:
    with pytest.raises(TokenNotFound, match="no token labelled 'other'"):
        Token.open(SOFTHSM_MODULE, "other", user_pin)
