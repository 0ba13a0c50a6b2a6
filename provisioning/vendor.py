"""The vendor's Ed25519 key pair that signs licenses.

A vendor folder holds `vendor.key` (PKCS#8 PEM, unencrypted, mode 0600) and `vendor.pub`
(SubjectPublicKeyInfo PEM, the file an image bakes in to verify licenses). Development uses
`.devvendor/` in the repository: `python -m provisioning.vendor init --dir .devvendor`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from appliance.license import key_id
from appliance.store.atomic import write_atomic

PRIVATE_FILE = "vendor.key"
PUBLIC_FILE = "vendor.pub"
DEV_VENDOR_DIR = Path(__file__).resolve().parent.parent / ".devvendor"


class VendorKeyError(Exception):
    """The vendor key cannot be loaded; the message says what to do."""


def init_vendor(directory: Path) -> bool:
    """Create the vendor key pair in directory unless it is there; tell whether it was created."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = directory / PRIVATE_FILE
    created = not private_path.exists()
    if created:
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        write_atomic(private_path, pem, 0o600)
    if not (directory / PUBLIC_FILE).exists():
        public = load_vendor_key(directory).public_key()
        write_atomic(directory / PUBLIC_FILE, _public_pem(public), 0o644)
    return created


def load_vendor_key(directory: Path) -> Ed25519PrivateKey:
    """Return the vendor's private key from directory."""
    path = directory / PRIVATE_FILE
    try:
        key = load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise VendorKeyError(f"{path} is not a PEM private key ({exc}); "
                             "restore it from the vendor's backup") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VendorKeyError(f"{path} is not an Ed25519 key; "
                             "move it away and run init again")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise VendorKeyError(f"there is no vendor key at {path}; create one with "
                             f"`python -m provisioning.vendor init --dir {path.parent}`") from None


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def main(argv: list[str] | None = None) -> int:
    """Run `python -m provisioning.vendor init --dir DIR`."""
    parser = argparse.ArgumentParser(prog="python -m provisioning.vendor",
                                     description="Manage the vendor key that signs licenses.")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the vendor key pair if it is absent")
    init.add_argument("--dir", type=Path, default=DEV_VENDOR_DIR, help="the vendor folder")
    args = parser.parse_args(argv)
    try:
        created = init_vendor(args.dir)
        name = key_id(load_vendor_key(args.dir).public_key())
    except VendorKeyError as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 1
    state = "created" if created else "already present"
    print(f"vendor key {name} {state} in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
