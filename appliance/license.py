"""The box's license: a manifest signed by the vendor's Ed25519 key.

On disk: `{"manifest": {...}, "signature": b64, "key_id": hex}`. The signature covers the
manifest's canonical JSON (sorted keys, no spaces, ASCII, UTF-8). `key_id` names the vendor
key that signed it (the first 8 bytes of SHA-256 over its raw public key, in hex); it is not
signed and only serves to tell "signed by another vendor key" from "altered".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

RESTORE = "restore the license.json the factory wrote"


class LicenseError(Exception):
    """The license is missing or not valid; the message says what to do."""


@dataclass(frozen=True)
class Limits:
    """What a tier allows."""

    bots: int
    exchanges: int
    users: int


TIERS = {
    "starter": Limits(bots=2, exchanges=1, users=2),
    "pro": Limits(bots=2, exchanges=3, users=5),
}


class BoxKind(StrEnum):
    """What a box is for: sold to a project owner, or run by a developer on the simulator."""

    PRODUCTION = "production"
    """Keeps no PIN on disk; operated with USB keys."""

    DEVELOPMENT = "development"
    """Keeps its PIN on disk and has software operator keys instead of USB ones."""


@dataclass(frozen=True)
class License:
    """A verified license."""

    serial: str
    asset: str
    tier: str
    limits: Limits
    device_public_key: bytes
    issued_at: str
    kind: BoxKind = BoxKind.PRODUCTION
    valid_until: str | None = None
    """When the license ends (UTC, as issued_at is written); None: it does not end (licenses
    issued before they had an end)."""

    def manifest(self) -> dict[str, Any]:
        """Return the manifest as the license file holds it."""
        manifest = {**asdict(self), "device_public_key": b64(self.device_public_key)}
        if self.valid_until is None:
            del manifest["valid_until"]
        return manifest

    def ends_at(self) -> float | None:
        """Return when the license ends, as a Unix time; None when it does not end."""
        return None if self.valid_until is None else license_time(self.valid_until)


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How a license writes its times: UTC, to the second."""


def license_time(text: str) -> float:
    """Return a license's time (TIME_FORMAT) as a Unix time; ValueError when it is not one."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC).timestamp()


def check_validity(license: License, now: float) -> None:
    """Refuse a license past its end, saying when it ended and what to do."""
    ends = license.ends_at()
    if ends is not None and now >= ends:
        raise LicenseError(f"the license of box {license.serial} ended on "
                           f"{license.valid_until}; ask the vendor to renew it and install "
                           "the new license.json")


def tier_limits(tier: str) -> Limits:
    """Return the limits of a tier."""
    if tier not in TIERS:
        raise LicenseError(f"there is no tier '{tier}'; choose one of {', '.join(TIERS)}")
    return TIERS[tier]


def box_kind(kind: str) -> BoxKind:
    """Return the kind of box a license names."""
    try:
        return BoxKind(kind)
    except ValueError:
        raise LicenseError(f"there is no box kind {kind!r}; a license names one of "
                           f"{', '.join(BoxKind)}") from None


def canonical(manifest: dict[str, Any]) -> bytes:
    """Return the bytes the vendor signs: the manifest's canonical JSON."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the short name of a vendor public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def verify_license(source: str | Path, vendor_public_key: Ed25519PublicKey) -> License:
    """Return the license in source (a Path to read, or the text) if the vendor signed it."""
    where = str(source) if isinstance(source, Path) else "the license"
    document = _document(_read(source) if isinstance(source, Path) else source, where)
    manifest, signature = document["manifest"], document["signature"]
    claimed, trusted = document.get("key_id"), key_id(vendor_public_key)
    if claimed is not None and claimed != trusted:
        raise LicenseError(f"{where} was signed by vendor key {claimed}, but this box trusts "
                           f"{trusted}: install the license issued for this image")
    try:
        vendor_public_key.verify(base64.b64decode(signature, validate=True), canonical(manifest))
    except (InvalidSignature, binascii.Error):
        raise LicenseError(f"{where} does not match its signature: it was altered or signed "
                           f"by another vendor; {RESTORE}") from None
    return _license(manifest, where)


def load_vendor_public_key(path: Path) -> Ed25519PublicKey:
    """Return the vendor public key licenses must verify against, from a vendor.pub file."""
    try:
        key = load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise LicenseError(f"there is no vendor public key at {path}; install the vendor's "
                           "vendor.pub there") from None
    except (OSError, ValueError) as exc:
        raise LicenseError(f"{path} is not a PEM public key ({exc}); "
                           "install the vendor's vendor.pub") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LicenseError(f"{path} is not an Ed25519 public key; install the vendor's vendor.pub")
    return key


def _read(path: Path) -> str:
    """Return the text of a license file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LicenseError(f"there is no license at {path}; provision the box, "
                           "or restore license.json from the factory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LicenseError(f"cannot read the license at {path} ({exc}); {RESTORE}") from None


def _document(text: str, where: str) -> dict[str, Any]:
    """Return the license document of a text, checked for shape."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LicenseError(f"{where} is not JSON ({exc.msg}); {RESTORE}") from None
    if (not isinstance(document, dict) or not isinstance(document.get("manifest"), dict)
            or not isinstance(document.get("signature"), str)):
        raise LicenseError(f"{where} is not an MMBox license (it needs 'manifest' and "
                           f"'signature'); {RESTORE}")
    return document


def _license(manifest: dict[str, Any], where: str) -> License:
    """Return the License a signed manifest describes."""
    try:
        limits = Limits(**{name: int(value) for name, value in manifest["limits"].items()})
        return License(
            serial=str(manifest["serial"]), asset=str(manifest["asset"]),
            tier=str(manifest["tier"]), limits=limits,
            device_public_key=base64.b64decode(manifest["device_public_key"], validate=True),
            issued_at=str(manifest["issued_at"]),
            kind=_signed_kind(manifest, where),
            valid_until=_signed_end(manifest, where),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LicenseError(f"{where} is signed but its manifest is incomplete ({exc!r}); "
                           "ask the vendor for a new license") from None


def _signed_end(manifest: dict[str, Any], where: str) -> str | None:
    """Return when a signed manifest says the license ends; None when it names no end."""
    end = manifest.get("valid_until")
    if end is None:
        return None
    try:
        license_time(str(end))
    except ValueError:
        raise LicenseError(f"{where} ends at {end!r}, which is not a time ({TIME_FORMAT}); "
                           "ask the vendor for a new license") from None
    return str(end)


def _signed_kind(manifest: dict[str, Any], where: str) -> BoxKind:
    """Return the box kind a signed manifest names; licenses issued before kinds are production."""
    kind = manifest.get("kind", BoxKind.PRODUCTION)
    try:
        return BoxKind(kind)
    except ValueError:
        raise LicenseError(f"{where} names box kind {kind!r}, which this image does not know "
                           f"(it knows {', '.join(BoxKind)}); ask the vendor for a new "
                           "license") from None


def b64(raw: bytes) -> str:
    """Return bytes as the license's base64 text."""
    return base64.b64encode(raw).decode()
