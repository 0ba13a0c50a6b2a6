"""Keys in the token sign like the real algorithms, never come out, and can be renamed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive, KeyUnextractable, PKCS11Error

from appliance.datadir import DataDir
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, token_dir
from hsm.token import (
    KeyExists,
    KeyInfo,
    KeyKind,
    Token,
    TokenError,
    TokenNotFound,
    UnknownKey,
    WrongPin,
)

SECRET = b"an exchange secret of 64 bytes, as Binance hands them out......."
REFLAGS = [
    (Attribute.EXTRACTABLE, True), (Attribute.SENSITIVE, False), (Attribute.SIGN, False),
    (Attribute.VERIFY, True), (Attribute.ENCRYPT, True), (Attribute.DECRYPT, True),
    (Attribute.WRAP, True), (Attribute.UNWRAP, True), (Attribute.DERIVE, True),
    (Attribute.MODIFIABLE, True), (Attribute.PRIVATE, False), (Attribute.LABEL, "stolen"),
]


def plain_session(pin: str) -> Iterator[pkcs11.Session]:
    """Yield a PKCS#11 session opened without Token, then finalise the module."""
    library = pkcs11.lib(SOFTHSM_MODULE)
    with library.get_token(token_label=DEFAULT_TOKEN_LABEL).open(rw=True, user_pin=pin) as s:
        yield s
    library.finalize()


@pytest.fixture
def raw_session(token: Token, user_pin: str) -> Iterator[pkcs11.Session]:
    """Yield a plain PKCS#11 session on a token holding HMAC key 'k' and Ed25519 pair 'e'."""
    token.import_hmac("k", SECRET)
    token.generate_ed25519("e")
    token.close()
    yield from plain_session(user_pin)


def hmac_key(session: pkcs11.Session) -> Any:
    """Return the HMAC key the raw_session fixture imported."""
    return session.get_key(ObjectClass.SECRET_KEY, KeyType.GENERIC_SECRET, label="k")


def ed25519_private(session: pkcs11.Session) -> Any:
    """Return the Ed25519 private key the raw_session fixture generated."""
    return session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS, label="e")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.binary(min_size=1, max_size=160), messages=st.lists(st.binary(max_size=4096),
                                                                      min_size=1, max_size=4))
def test_hmac_matches_python(token: Token, secret: bytes, messages: list[bytes]) -> None:
    label = f"key-{hashlib.sha256(secret).hexdigest()[:12]}"
    if not token.has_key(label):
        token.import_hmac(label, secret)
    for message in messages:
        assert token.sign_hmac(label, message) == hmac.new(secret, message, hashlib.sha256).digest()


def test_imported_secret_value_cannot_be_read(raw_session: pkcs11.Session) -> None:
    with pytest.raises(AttributeSensitive):
        hmac_key(raw_session)[Attribute.VALUE]


def test_imported_secret_cannot_be_wrapped_out(raw_session: pkcs11.Session) -> None:
    wrapper: Any = raw_session.generate_key(KeyType.AES, 256, label="wrapper")
    with pytest.raises(KeyUnextractable):
        wrapper.wrap_key(hmac_key(raw_session))


@pytest.mark.parametrize(("attribute", "value"), REFLAGS, ids=[a.name for a, _ in REFLAGS])
def test_imported_secret_cannot_be_reflagged(
    raw_session: pkcs11.Session, attribute: Attribute, value: object
) -> None:
    key = hmac_key(raw_session)
    before = key[attribute]
    with pytest.raises(PKCS11Error):
        key[attribute] = value
    assert key[attribute] == before


def test_imported_secret_cannot_be_copied_into_a_looser_key(raw_session: pkcs11.Session) -> None:
    with pytest.raises(PKCS11Error):
        hmac_key(raw_session).copy({Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False})


def test_imported_secret_may_only_sign(raw_session: pkcs11.Session) -> None:
    key = hmac_key(raw_session)
    uses = (Attribute.VERIFY, Attribute.ENCRYPT, Attribute.DECRYPT, Attribute.WRAP,
            Attribute.UNWRAP, Attribute.DERIVE)
    assert [key[use] for use in uses] == [False] * len(uses)
    assert key[Attribute.SIGN] is True
    assert key[Attribute.MODIFIABLE] is False


@pytest.mark.parametrize(("attribute", "value"), REFLAGS, ids=[a.name for a, _ in REFLAGS])
def test_ed25519_private_key_cannot_be_reflagged(
    raw_session: pkcs11.Session, attribute: Attribute, value: object
) -> None:
    key = ed25519_private(raw_session)
    with pytest.raises(PKCS11Error):
        key[attribute] = value


def test_ed25519_private_key_stays_in_the_token(raw_session: pkcs11.Session) -> None:
    private = ed25519_private(raw_session)
    with pytest.raises(AttributeSensitive):
        private[Attribute.VALUE]
    assert private[Attribute.EXTRACTABLE] is False
    wrapper: Any = raw_session.generate_key(KeyType.AES, 256, label="wrapper")
    with pytest.raises(PKCS11Error):
        wrapper.wrap_key(private)


def test_ed25519_signature_verifies_with_the_exported_public_key(token: Token) -> None:
    public = token.generate_ed25519("device")
    message = b"challenge 42"
    signature = token.sign_eddsa("device", message)
    assert len(public) == 32
    assert token.public_key("device") == public
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


def test_labels_and_has_key(token: Token) -> None:
    token.import_hmac("bot-1.sim.hmac", b"x" * 64)
    token.generate_ed25519("device")
    assert token.labels() == ["bot-1.sim.hmac", "device"]
    assert token.has_key("device")
    assert not token.has_key("bot-2.sim.hmac")


def test_key_infos_give_kind_and_ed25519_public_key(token: Token) -> None:
    token.import_hmac("bot-1.sim.hmac", SECRET)
    public = token.generate_ed25519("bot-1.sim.ed25519")
    assert token.key_infos() == [
        KeyInfo("bot-1.sim.ed25519", KeyKind.ED25519, public),
        KeyInfo("bot-1.sim.hmac", KeyKind.HMAC, None),
    ]


def test_a_renamed_hmac_key_signs_under_its_new_label_only(token: Token) -> None:
    token.import_hmac("bot-1.sim.hmac", SECRET)
    token.sign_hmac("bot-1.sim.hmac", b"warm the cache")
    token.rename("bot-1.sim.hmac", "bot-2.sim.hmac")
    expected = hmac.new(SECRET, b"m", hashlib.sha256).digest()
    assert token.sign_hmac("bot-2.sim.hmac", b"m") == expected
    with pytest.raises(UnknownKey):
        token.sign_hmac("bot-1.sim.hmac", b"m")
    assert token.labels() == ["bot-2.sim.hmac"]


def test_a_renamed_pair_keeps_both_halves_together(token: Token) -> None:
    public = token.generate_ed25519("a")
    token.rename("a", "b")
    token.rename("b", "c")
    Ed25519PublicKey.from_public_bytes(token.public_key("c")).verify(
        token.sign_eddsa("c", b"m"), b"m")
    assert token.key_infos() == [KeyInfo("c", KeyKind.ED25519, public)]


def test_the_old_label_of_a_renamed_key_is_free_again(token: Token) -> None:
    token.import_hmac("k", SECRET)
    token.rename("k", "k-old")
    token.import_hmac("k", b"another secret of at least 32 bytes....")
    assert token.labels() == ["k", "k-old"]
    assert token.sign_hmac("k-old", b"m") == hmac.new(SECRET, b"m", hashlib.sha256).digest()


def test_renames_survive_a_new_session(token: Token, user_pin: str) -> None:
    token.import_hmac("k", SECRET)
    token.rename("k", "renamed")
    token.close()
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin) as again:
        assert again.labels() == ["renamed"]


def test_rename_refuses_a_taken_or_missing_label(token: Token) -> None:
    token.import_hmac("a", SECRET)
    token.generate_ed25519("b")
    with pytest.raises(KeyExists):
        token.rename("a", "b")
    with pytest.raises(UnknownKey):
        token.rename("absent", "c")


def test_delete_destroys_the_key_and_its_name(token: Token) -> None:
    token.import_hmac("a", SECRET)
    token.rename("a", "b")
    token.generate_ed25519("e")
    token.sign_hmac("b", b"warm the cache")
    token.delete("b")
    token.delete("e")
    assert token.labels() == []
    with pytest.raises(UnknownKey):
        token.sign_hmac("b", b"m")
    with pytest.raises(UnknownKey):
        token.delete("b")


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


PASSPHRASE = b"okx-passphrase: Tr0ub4dor&3 unique-marker"


def test_a_credential_reads_back_as_stored_and_outlives_the_session(
    token: Token, user_pin: str
) -> None:
    token.import_credential("bot-1.okx.passphrase", bytearray(PASSPHRASE))
    assert token.read_credential("bot-1.okx.passphrase") == PASSPHRASE
    token.close()
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin) as again:
        assert again.read_credential("bot-1.okx.passphrase") == PASSPHRASE
        assert again.key_infos() == [KeyInfo("bot-1.okx.passphrase", KeyKind.CREDENTIAL)]


def test_a_credential_is_private_frozen_and_not_kept_in_clear(
    token: Token, data: DataDir, user_pin: str
) -> None:
    token.import_credential("bot-1.okx.passphrase", PASSPHRASE)
    token.close()
    stored = [path for path in token_dir(data).rglob("*") if path.is_file()]
    assert stored
    for path in stored:
        assert PASSPHRASE not in path.read_bytes(), path
    library = pkcs11.lib(SOFTHSM_MODULE)
    try:
        slot = library.get_token(token_label=DEFAULT_TOKEN_LABEL)
        with slot.open() as public_session:
            assert list(public_session.get_objects({Attribute.CLASS: ObjectClass.DATA})) == []
        with slot.open(rw=True, user_pin=user_pin) as session:
            (record,) = session.get_objects({Attribute.CLASS: ObjectClass.DATA})
            assert (record[Attribute.PRIVATE], record[Attribute.TOKEN]) == (True, True)
            for attribute, value in [(Attribute.VALUE, b"changed"), (Attribute.LABEL, "other"),
                                     (Attribute.PRIVATE, False)]:
                with pytest.raises(PKCS11Error):
                    record[attribute] = value
            with pytest.raises(PKCS11Error):
                record.copy({Attribute.PRIVATE: False})
            assert bytes(record[Attribute.VALUE]) == PASSPHRASE
    finally:
        library.finalize()


def test_a_key_label_is_never_read_as_a_credential(token: Token) -> None:
    token.import_hmac("bot-1.okx.hmac", SECRET)
    with pytest.raises(UnknownKey, match="is a key, not a credential"):
        token.read_credential("bot-1.okx.hmac")
    with pytest.raises(UnknownKey, match="no credential labelled 'absent'"):
        token.read_credential("absent")


def test_a_credential_is_no_key(token: Token) -> None:
    token.import_credential("bot-1.okx.passphrase", PASSPHRASE)
    with pytest.raises(UnknownKey):
        token.sign_hmac("bot-1.okx.passphrase", b"m")
    with pytest.raises(UnknownKey):
        token.public_key("bot-1.okx.passphrase")


def test_keys_and_credentials_share_one_set_of_labels(token: Token) -> None:
    token.import_hmac("k", SECRET)
    token.import_credential("c", PASSPHRASE)
    assert token.labels() == ["c", "k"]
    with pytest.raises(KeyExists):
        token.import_credential("k", PASSPHRASE)
    with pytest.raises(KeyExists):
        token.import_hmac("c", SECRET)
    with pytest.raises(KeyExists):
        token.rename("k", "c")
    with pytest.raises(KeyExists):
        token.import_credential("c", b"another value")
    assert token.read_credential("c") == PASSPHRASE


def test_a_credential_is_deleted_but_not_renamed(token: Token) -> None:
    token.import_credential("c", PASSPHRASE)
    with pytest.raises(TokenError, match="cannot be renamed; import it again"):
        token.rename("c", "d")
    token.delete("c")
    assert token.labels() == []
    with pytest.raises(UnknownKey):
        token.read_credential("c")


def test_an_empty_credential_is_refused(token: Token) -> None:
    with pytest.raises(TokenError, match="empty"):
        token.import_credential("c", b"")
    assert not token.has_key("c")
