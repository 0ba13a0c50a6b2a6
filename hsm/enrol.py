"""Read an operator key's public key (or certificate) for the box to store and log in against."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hsm.operator_key import OperatorPublicKey, OperatorTokenRef, read_public


@dataclass(frozen=True)
class Enrolment:
    """What the box stores to know an operator's key again: the key and where it lives."""

    public_key_pem: str
    certificate_pem: str | None
    fingerprint: str
    algorithm: str
    token_label: str
    token_serial: str
    key_id: str
    key_label: str

    def as_dict(self) -> dict[str, str | None]:
        """Return the enrolment as the agent reports it."""
        return asdict(self)


def read_enrolment(
    ref: OperatorTokenRef, pin: str | None = None, reserved: Collection[str] = ()
) -> Enrolment:
    """Read the operator's public key from their token, with its certificate if there is one."""
    public = read_public(ref, pin, reserved)
    certificate = public.certificate
    return Enrolment(
        public_key_pem=public_pem(public.public_key),
        certificate_pem=certificate.public_bytes(Encoding.PEM).decode() if certificate else None,
        fingerprint=fingerprint(public.public_key),
        algorithm=algorithm(public.public_key),
        token_label=public.token_label,
        token_serial=public.token_serial,
        key_id=public.key_id,
        key_label=public.key_label,
    )


def public_pem(public: OperatorPublicKey) -> str:
    """Return the public key as PEM (SubjectPublicKeyInfo)."""
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(public: OperatorPublicKey) -> str:
    """Return `sha256:` and the hex SHA-256 of the key's SubjectPublicKeyInfo DER."""
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def algorithm(public: OperatorPublicKey) -> str:
    """Name the key's algorithm and size: `ecdsa-secp256r1`, `ed25519` or `rsa-2048`."""
    if isinstance(public, EllipticCurvePublicKey):
        return f"ecdsa-{public.curve.name}"
    if isinstance(public, Ed25519PublicKey):
        return "ed25519"
    return f"rsa-{public.key_size}"
