"""The panel's own TLS certificate: a P-256 key made on the box and a self-signed certificate.

No authority vouches for a box on a LAN, so the box vouches for itself and the factory prints
the certificate's SHA-256 fingerprint; the operator compares it with what the browser shows
the first time, then trusts the certificate. The private key is written once, mode 0600, and
never printed nor logged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.datadir import DataDir
from appliance.store.atomic import write_atomic

VALIDITY: Final = timedelta(days=3650)
CLOCK_SKEW: Final = timedelta(hours=1)
"""How far back the certificate's validity starts, so a client whose clock lags accepts it."""


class PanelKeyExists(FileExistsError):
    """The box already has a panel key; making another would silently change its identity."""


def make_panel_certificate(data: DataDir, hosts: Sequence[str], *, serial: str | None = None
                           ) -> str:
    """Make the panel's key and certificate for hosts; return the certificate's fingerprint.

    The certificate is named after the box's serial, or its first host without one.
    """
    if not hosts:
        raise ValueError("the panel certificate needs at least one host name or address")
    for path in (data.panel_key, data.panel_cert):
        if path.exists():
            raise PanelKeyExists(
                f"{path} exists; this version does not rotate the panel's certificate: delete "
                f"both {data.panel_key} and {data.panel_cert} deliberately to make new ones")
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(key, f"MMBox panel {serial or hosts[0]}", hosts)
    data.tls_dir.mkdir(exist_ok=True)
    data.tls_dir.chmod(0o700)
    write_atomic(data.panel_key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    write_atomic(data.panel_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return fingerprint(certificate)


def self_signed(key: ec.EllipticCurvePrivateKey, common_name: str, hosts: Sequence[str]
                ) -> x509.Certificate:
    """Return a 10-year server certificate for hosts, signed by its own key."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([alt_name(host) for host in hosts]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )


def alt_name(host: str) -> x509.GeneralName:
    """Return host as an IP address when it parses as one, else as a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def fingerprint(certificate: x509.Certificate) -> str:
    """Return the certificate's SHA-256 fingerprint as browsers show it: AB:CD:…, upper case."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def certificate_fingerprint(path: Path) -> str:
    """Return the SHA-256 fingerprint of the PEM certificate at path."""
    return fingerprint(x509.load_pem_x509_certificate(path.read_bytes()))
