"""Enrolment reads an operator key's public key (or certificate) from its PKCS#11 token."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from pkcs11 import Attribute, CertificateType, ObjectClass

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.enrol import read_enrolment
from hsm.login import verify_signature
from hsm.login_ops import LoginOp, LoginOps
from hsm.operator_key import (
    OperatorKeyAbsent,
    OperatorKeyError,
    OperatorKeyUnusable,
    OperatorTokenRef,
    as_operator_key,
)
from hsm.pinguard import PinGuard
from hsm.softhsm import SOFTHSM_MODULE
from hsm.usb import YUBIKEY_5, KeyWatch
from tests.hsm.operator_bed import (
    KEY_ID,
    KEY_LABEL,
    KINDS,
    OPERATOR_PIN,
    OPERATOR_TOKEN,
    generate_pair,
    make_tokens,
    release_module,
    sign_directly,
)

REF = OperatorTokenRef(SOFTHSM_MODULE, token_label=OPERATOR_TOKEN)
PANEL = Peer(pid=1, uid=6200, gid=6200)


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[DataDir]:
    """Yield a data dir holding the box's token and two empty operator tokens."""
    yield make_tokens(tmp_path / "data")
    release_module()


def token_serial(label: str) -> str:
    """Return a token's serial as PKCS#11 reports it."""
    return bytes(pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label).serial).decode()


def put_certificate(label: str, subject: str) -> x509.Certificate:
    """Write on the token a certificate, issued by a throwaway CA, for its key pair KEY_ID."""
    public = as_operator_key(load_pem_public_key(read_enrolment(REF).public_key_pem.encode()))
    issuer = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
        .sign(issuer, hashes.SHA256())
    )
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label)
    with token.open(rw=True, user_pin=OPERATOR_PIN) as session:
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.ID: KEY_ID,
            Attribute.LABEL: "Certificate for PIV Authentication",
            Attribute.SUBJECT: name.public_bytes(),
            Attribute.VALUE: certificate.public_bytes(Encoding.DER),
        })
    return certificate


def drop_public_key(label: str) -> None:
    """Delete the public key object, leaving the private key and certificate (as on a PIV card)."""
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label)
    with token.open(rw=True, user_pin=OPERATOR_PIN) as session:
        for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY})):
            obj.destroy()


@pytest.mark.parametrize("kind", KINDS)
def test_enrolment_reads_the_key_the_token_signs_with(tokens: DataDir, kind: str) -> None:
    generate_pair(OPERATOR_TOKEN, kind)
    enrolment = read_enrolment(REF)
    public = as_operator_key(load_pem_public_key(enrolment.public_key_pem.encode()))
    verify_signature(public, b"enrol me", sign_directly(OPERATOR_TOKEN, b"enrol me"))
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert enrolment.fingerprint == "sha256:" + hashlib.sha256(der).hexdigest()
    assert enrolment.algorithm == kind
    assert enrolment.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert (enrolment.token_label, enrolment.token_serial, enrolment.key_id,
            enrolment.key_label, enrolment.certificate_pem) == (
        OPERATOR_TOKEN, token_serial(OPERATOR_TOKEN), KEY_ID.hex(), KEY_LABEL, None)


def test_the_token_may_be_named_by_serial_and_read_after_its_pin(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    by_label = read_enrolment(REF)
    by_serial = OperatorTokenRef(SOFTHSM_MODULE, token_serial=token_serial(OPERATOR_TOKEN))
    assert read_enrolment(by_serial) == by_label
    assert read_enrolment(REF, OPERATOR_PIN) == by_label


def test_a_certificate_on_the_token_is_returned_and_its_key_used(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1")
    from_public_key = read_enrolment(REF)
    certificate = put_certificate(OPERATOR_TOKEN, "operator one")
    drop_public_key(OPERATOR_TOKEN)
    enrolment = read_enrolment(REF)
    assert enrolment.certificate_pem == certificate.public_bytes(Encoding.PEM).decode()
    assert enrolment.fingerprint == from_public_key.fingerprint
    assert enrolment.key_id == from_public_key.key_id


def test_a_token_not_plugged_in_is_explained(tokens: DataDir) -> None:
    absent = OperatorTokenRef(SOFTHSM_MODULE, token_label="not-plugged-in")
    with pytest.raises(OperatorKeyAbsent, match="plug in the operator's key"):
        read_enrolment(absent)


def test_a_token_without_a_key_pair_is_explained(tokens: DataDir) -> None:
    with pytest.raises(OperatorKeyUnusable, match="holds no such key pair"):
        read_enrolment(REF)


def test_several_key_pairs_need_the_login_key_named(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1", key_id=b"\x02", label="second key")
    with pytest.raises(OperatorKeyUnusable, match=r"holds 2 key pairs \(ids 01, 02\)"):
        read_enrolment(REF)
    by_id = read_enrolment(OperatorTokenRef(SOFTHSM_MODULE, OPERATOR_TOKEN, key_id="02"))
    by_label = read_enrolment(
        OperatorTokenRef(SOFTHSM_MODULE, OPERATOR_TOKEN, key_label="second key"))
    assert by_id == by_label
    assert (by_id.key_id, by_id.key_label, by_id.algorithm) == (
        "02", "second key", "ecdsa-secp256r1")


def test_a_weak_rsa_key_is_refused(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "rsa-1024")
    with pytest.raises(OperatorKeyUnusable, match="RSA keys of 2048 bits or more"):
        read_enrolment(REF)


def test_the_box_token_is_never_read_as_an_operator_key(tokens: DataDir) -> None:
    box = OperatorTokenRef(SOFTHSM_MODULE, token_label=DEFAULT_TOKEN_LABEL)
    with pytest.raises(OperatorKeyUnusable, match="is the box's own"):
        read_enrolment(box, reserved={DEFAULT_TOKEN_LABEL})


def test_a_token_must_be_named() -> None:
    with pytest.raises(OperatorKeyError, match="by its label or its serial"):
        OperatorTokenRef(SOFTHSM_MODULE, key_id="01")


def enrol_op(guard: PinGuard) -> LoginOp:
    """Return the enrol_read op as the signer would serve it to the panel."""
    ops = LoginOps(KeyWatch([YUBIKEY_5]), SOFTHSM_MODULE, [PANEL.uid], guard,
                   [DEFAULT_TOKEN_LABEL])
    return ops.table()["enrol_read"]


async def test_the_panel_reads_an_enrolment_through_the_agent_op(
    tokens: DataDir, tmp_path: Path
) -> None:
    generate_pair(OPERATOR_TOKEN, "rsa-2048")
    enrol = enrol_op(PinGuard(tmp_path / "operator-pin-guard.json"))
    assert await enrol({"token_label": OPERATOR_TOKEN}, PANEL) == read_enrolment(REF).as_dict()
    with pytest.raises(IpcError) as box:
        await enrol({"token_label": DEFAULT_TOKEN_LABEL}, PANEL)
    assert box.value.code == "key_unusable"
    with pytest.raises(IpcError) as unnamed:
        await enrol({"key_id": "01"}, PANEL)
    assert unnamed.value.code == "bad_args"


async def test_wrong_pins_for_operator_keys_are_limited(tokens: DataDir, tmp_path: Path) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    guard = PinGuard(tmp_path / "operator-pin-guard.json", allowed=2, clock=lambda: 1000.0)
    enrol = enrol_op(guard)
    named = {"token_label": OPERATOR_TOKEN}
    assert (await enrol({**named, "pin": OPERATOR_PIN}, PANEL))["key_id"] == KEY_ID.hex()
    for _ in range(2):
        with pytest.raises(IpcError) as wrong:
            await enrol({**named, "pin": "0000"}, PANEL)
        assert wrong.value.code == "wrong_pin"
    with pytest.raises(IpcError) as locked:
        await enrol({**named, "pin": OPERATOR_PIN}, PANEL)
    assert locked.value.code == "locked_out"
    assert guard.state().failures == 2
    assert (await enrol(named, PANEL))["key_id"] == KEY_ID.hex()
