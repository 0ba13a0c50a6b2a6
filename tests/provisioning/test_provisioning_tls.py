"""The panel's TLS key stays private; its certificate names the box and can be checked."""

from __future__ import annotations

import ipaddress
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.datadir import DataDir
from provisioning.factory import BoxSpec, provision
from provisioning.tls import PanelKeyExists, certificate_fingerprint, make_panel_certificate

HOSTS = ["127.0.0.1", "localhost", "::1", "mmbox.lan"]


def mode(path: Path) -> int:
    """Return the permission bits of path."""
    return stat.S_IMODE(path.stat().st_mode)


def certificate(data: DataDir) -> x509.Certificate:
    """Return the panel certificate of data."""
    return x509.load_pem_x509_certificate(data.panel_cert.read_bytes())


def openssl_fingerprint(path: Path) -> str:
    """Return the SHA-256 fingerprint openssl prints for the certificate at path."""
    done = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-fingerprint",
                           "-sha256"], capture_output=True, text=True, check=True)
    return done.stdout.strip().split("=", 1)[1]


def test_only_the_owner_may_read_the_key(tmp_path: Path) -> None:
    data = DataDir(tmp_path)

    make_panel_certificate(data, HOSTS)

    assert (mode(data.tls_dir), mode(data.panel_key), mode(data.panel_cert)) == (
        0o700, 0o600, 0o644)
    key = serialization.load_pem_private_key(data.panel_key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert key.public_key() == certificate(data).public_key()
    assert sorted(p.name for p in data.tls_dir.iterdir()) == ["panel.crt", "panel.key"]


def test_the_certificate_names_each_host_as_an_address_or_a_name(tmp_path: Path) -> None:
    data = DataDir(tmp_path)

    make_panel_certificate(data, HOSTS, serial="MMB-0A1B2C3D")

    cert = certificate(data)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "mmbox.lan"]
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "MMBox panel MMB-0A1B2C3D"
    assert cert.issuer == cert.subject


def test_the_certificate_serves_a_tls_server_for_ten_years_and_signs_nothing(
    tmp_path: Path
) -> None:
    data = DataDir(tmp_path)

    make_panel_certificate(data, ["127.0.0.1"])

    cert = certificate(data)
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "MMBox panel 127.0.0.1"
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign and not usage.key_encipherment
    purposes = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(purposes) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 3650 <= lifetime.days <= 3651


def test_the_fingerprint_is_the_one_openssl_and_browsers_show(tmp_path: Path) -> None:
    data = DataDir(tmp_path)

    made = make_panel_certificate(data, HOSTS)

    assert made == certificate_fingerprint(data.panel_cert) == openssl_fingerprint(
        data.panel_cert)
    assert len(made.split(":")) == 32
    assert made == made.upper()


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    make_panel_certificate(data, HOSTS)
    key, cert = data.panel_key.read_bytes(), data.panel_cert.read_bytes()

    with pytest.raises(PanelKeyExists, match=r"does not rotate.*delete both"):
        make_panel_certificate(data, HOSTS)

    assert (data.panel_key.read_bytes(), data.panel_cert.read_bytes()) == (key, cert)


def test_a_certificate_without_hosts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one host"):
        make_panel_certificate(DataDir(tmp_path), [])
    assert not DataDir(tmp_path).tls_dir.exists()


def test_the_factory_makes_the_certificate_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = DataDir(tmp_path / "box")
    spec = BoxSpec(exchange_url="http://127.0.0.1:9")

    box = provision(data, spec, Ed25519PrivateKey.generate(), "factory-tls-pin", [])

    assert box.fingerprint == certificate_fingerprint(data.panel_cert)
    names = certificate(data).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert mode(data.panel_key) == 0o600
    assert capsys.readouterr() == ("", "")
