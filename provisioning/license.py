"""Issue a box's license: its manifest signed by the vendor's key (see appliance.license)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.license import BoxKind, License, b64, box_kind, canonical, key_id, tier_limits


def issue_license(
    vendor_key: Ed25519PrivateKey, *, serial: str, asset: str, tier: str,
    device_public_key: bytes, issued_at: datetime | None = None,
    kind: str = BoxKind.PRODUCTION,
) -> str:
    """Return the text of a license for one box of `kind`, signed by the vendor key."""
    when = (issued_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = License(serial, asset, tier, tier_limits(tier), device_public_key, when,
                       box_kind(kind)).manifest()
    document = {
        "manifest": manifest,
        "signature": b64(vendor_key.sign(canonical(manifest))),
        "key_id": key_id(vendor_key.public_key()),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
