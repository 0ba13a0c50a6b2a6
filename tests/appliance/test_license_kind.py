"""The license says which kind of box it is, under the vendor's signature."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.license import BoxKind, LicenseError, b64, canonical, verify_license
from provisioning.license import issue_license

DEVICE_KEY = bytes(range(32))


@pytest.fixture
def vendor_key() -> Ed25519PrivateKey:
    """Return a fresh vendor key."""
    return Ed25519PrivateKey.generate()


def issued(vendor_key: Ed25519PrivateKey, kind: str | None = None) -> str:
    """Return a license for an MTS box, of `kind` or of the default kind."""
    if kind is None:
        return issue_license(vendor_key, serial="MMB-0001", asset="MTS", tier="starter",
                             device_public_key=DEVICE_KEY)
    return issue_license(vendor_key, serial="MMB-0001", asset="MTS", tier="starter",
                         device_public_key=DEVICE_KEY, kind=kind)


def resigned(vendor_key: Ed25519PrivateKey, license_text: str, **changes: object) -> str:
    """Return the license with its manifest changed (None removes a field), signed again."""
    document = json.loads(license_text)
    for field, value in changes.items():
        if value is None:
            del document["manifest"][field]
        else:
            document["manifest"][field] = value
    document["signature"] = b64(vendor_key.sign(canonical(document["manifest"])))
    return json.dumps(document)


def test_a_license_is_production_unless_issued_for_development(
    vendor_key: Ed25519PrivateKey,
) -> None:
    public = vendor_key.public_key()
    assert verify_license(issued(vendor_key), public).kind is BoxKind.PRODUCTION
    development = issued(vendor_key, kind="development")
    assert json.loads(development)["manifest"]["kind"] == "development"
    assert verify_license(development, public).kind is BoxKind.DEVELOPMENT


def test_the_kind_is_signed(vendor_key: Ed25519PrivateKey) -> None:
    document = json.loads(issued(vendor_key))
    document["manifest"]["kind"] = "development"
    with pytest.raises(LicenseError, match="altered"):
        verify_license(json.dumps(document), vendor_key.public_key())


def test_a_license_issued_before_kinds_reads_as_production(
    vendor_key: Ed25519PrivateKey,
) -> None:
    older = resigned(vendor_key, issued(vendor_key), kind=None)
    assert "kind" not in json.loads(older)["manifest"]
    assert verify_license(older, vendor_key.public_key()).kind is BoxKind.PRODUCTION


def test_an_unknown_kind_is_refused_and_explained(vendor_key: Ed25519PrivateKey) -> None:
    unknown = resigned(vendor_key, issued(vendor_key), kind="demo")
    with pytest.raises(LicenseError, match=r"names box kind 'demo', which this image does not "
                                           r"know \(it knows production, development\); ask "
                                           r"the vendor for a new license"):
        verify_license(unknown, vendor_key.public_key())
    with pytest.raises(LicenseError, match="there is no box kind 'demo'; a license names one "
                                           "of production, development"):
        issued(vendor_key, kind="demo")
