"""A license verifies only as the vendor signed it, and says what to do when it does not."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.license import TIERS, LicenseError, canonical, check_validity, verify_license
from provisioning.license import issue_license

DEVICE_KEY = bytes(range(32))


@pytest.fixture
def vendor_key() -> Ed25519PrivateKey:
    """Return a fresh vendor key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def license_text(vendor_key: Ed25519PrivateKey) -> str:
    """Return a license for an MTS box signed by vendor_key."""
    return issue_license(vendor_key, serial="MMB-0001", asset="MTS", tier="starter",
                         device_public_key=DEVICE_KEY,
                         issued_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_round_trip(vendor_key: Ed25519PrivateKey, license_text: str, tmp_path: Path) -> None:
    path = tmp_path / "license.json"
    path.write_text(license_text)
    for source in (license_text, path):
        box = verify_license(source, vendor_key.public_key())
        assert (box.serial, box.asset, box.tier) == ("MMB-0001", "MTS", "starter")
        assert box.limits == TIERS["starter"]
        assert box.device_public_key == DEVICE_KEY
        assert box.issued_at == "2025-01-02T03:04:05Z"


def test_the_signature_covers_the_canonical_manifest(
    vendor_key: Ed25519PrivateKey, license_text: str
) -> None:
    document = json.loads(license_text)
    manifest = document["manifest"]
    compact = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    assert canonical(manifest) == compact.encode()
    assert set(manifest) == {"serial", "asset", "tier", "limits", "device_public_key", "issued_at",
                             "kind", "valid_until"}
    assert manifest["limits"] == {"bots": 2, "exchanges": 1, "users": 2}


@pytest.mark.parametrize("field, value", [
    ("asset", "BTC"), ("tier", "pro"), ("device_public_key", "AAAA"), ("serial", "MMB-0002"),
    ("valid_until", "2099-01-01T00:00:00Z"),
])
def test_a_tampered_manifest_is_refused(
    vendor_key: Ed25519PrivateKey, license_text: str, field: str, value: str
) -> None:
    document = json.loads(license_text)
    document["manifest"][field] = value
    with pytest.raises(LicenseError, match=r"altered.*restore the license\.json"):
        verify_license(json.dumps(document), vendor_key.public_key())


def test_another_vendors_license_is_named_as_such(license_text: str) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(LicenseError, match=r"signed by vendor key .* install the license issued"):
        verify_license(license_text, other)


def test_another_vendor_without_key_id_still_fails(license_text: str) -> None:
    document = json.loads(license_text)
    del document["key_id"]
    with pytest.raises(LicenseError, match="altered or signed by another vendor"):
        verify_license(json.dumps(document), Ed25519PrivateKey.generate().public_key())


def test_a_garbage_file_is_not_json(vendor_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "license.json"
    path.write_bytes(b"\x00garbage{")
    with pytest.raises(LicenseError, match=rf"{path} is not JSON .* restore the license\.json"):
        verify_license(path, vendor_key.public_key())


def test_json_that_is_no_license_is_refused(vendor_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LicenseError, match="not an MMBox license"):
        verify_license('{"serial": "x"}', vendor_key.public_key())


def test_a_missing_file_says_to_provision(vendor_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    with pytest.raises(LicenseError, match=r"there is no license at .* provision the box"):
        verify_license(tmp_path / "license.json", vendor_key.public_key())


def test_an_unknown_tier_is_refused(vendor_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LicenseError, match="there is no tier 'gold'; choose one of starter"):
        issue_license(vendor_key, serial="s", asset="MTS", tier="gold",
                      device_public_key=DEVICE_KEY)


def test_a_license_ends_a_year_after_its_issue_and_is_then_refused(
    vendor_key: Ed25519PrivateKey, license_text: str,
) -> None:
    box = verify_license(license_text, vendor_key.public_key())
    assert box.valid_until == "2026-01-02T03:04:05Z"
    ends = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    check_validity(box, ends - 1)
    with pytest.raises(LicenseError, match="ended on 2026-01-02T03:04:05Z; ask the vendor to "
                                           "renew it"):
        check_validity(box, ends)


def test_a_license_issued_before_licenses_ended_does_not_end(
    vendor_key: Ed25519PrivateKey,
) -> None:
    text = issue_license(vendor_key, serial="MMB-0002", asset="MTS", tier="starter",
                         device_public_key=DEVICE_KEY, valid_days=None)
    assert "valid_until" not in json.loads(text)["manifest"]
    box = verify_license(text, vendor_key.public_key())
    assert box.valid_until is None and box.ends_at() is None
    check_validity(box, datetime(2100, 1, 1, tzinfo=UTC).timestamp())


def test_a_signed_end_that_is_no_time_is_refused(vendor_key: Ed25519PrivateKey) -> None:
    document = json.loads(issue_license(vendor_key, serial="s", asset="MTS", tier="starter",
                                        device_public_key=DEVICE_KEY))
    document["manifest"]["valid_until"] = "next spring"
    document["signature"] = base64.b64encode(
        vendor_key.sign(canonical(document["manifest"]))).decode()
    with pytest.raises(LicenseError, match="ends at 'next spring', which is not a time"):
        verify_license(json.dumps(document), vendor_key.public_key())
