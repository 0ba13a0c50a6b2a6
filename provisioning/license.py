"""Issue a box's license: its manifest signed by the vendor's key (see appliance.license)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.license import (
    TIME_FORMAT,
    BoxKind,
    License,
    b64,
    box_kind,
    canonical,
    key_id,
    tier_limits,
)

VALID_DAYS = 365
"""How long a license runs unless the vendor says otherwise."""


def issue_license(
    vendor_key: Ed25519PrivateKey, *, serial: str, asset: str, tier: str,
    device_public_key: bytes, issued_at: datetime | None = None,
    kind: str = BoxKind.PRODUCTION, valid_days: int | None = VALID_DAYS,
) -> str:
    """Return the text of a license for one box of `kind`, signed by the vendor key, valid
    for `valid_days` from its issue (None: without end)."""
    issued = (issued_at or datetime.now(UTC)).astimezone(UTC)
    until = None if valid_days is None else (issued + timedelta(days=valid_days)).strftime(
        TIME_FORMAT)
    manifest = License(serial, asset, tier, tier_limits(tier), device_public_key,
                       issued.strftime(TIME_FORMAT), box_kind(kind), until).manifest()
    document = {
        "manifest": manifest,
        "signature": b64(vendor_key.sign(canonical(manifest))),
        "key_id": key_id(vendor_key.public_key()),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
