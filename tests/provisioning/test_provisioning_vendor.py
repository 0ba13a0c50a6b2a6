"""The development vendor key pair is made once and kept private."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.license import load_vendor_public_key, verify_license
from provisioning.license import issue_license
from provisioning.vendor import (
    PRIVATE_FILE,
    PUBLIC_FILE,
    VendorKeyError,
    init_vendor,
    load_vendor_key,
)

REPO = Path(__file__).resolve().parents[2]


def test_init_creates_a_private_key_and_its_public_key(tmp_path: Path) -> None:
    vendor = tmp_path / "vendor"
    assert init_vendor(vendor)
    assert stat.S_IMODE((vendor / PRIVATE_FILE).stat().st_mode) == 0o600
    text = issue_license(load_vendor_key(vendor), serial="s", asset="MTS", tier="starter",
                         device_public_key=bytes(32))
    assert verify_license(text, load_vendor_public_key(vendor / PUBLIC_FILE)).serial == "s"


def test_init_keeps_an_existing_key_and_restores_its_public_key(tmp_path: Path) -> None:
    init_vendor(tmp_path)
    private = (tmp_path / PRIVATE_FILE).read_bytes()
    public = (tmp_path / PUBLIC_FILE).read_bytes()
    (tmp_path / PUBLIC_FILE).unlink()
    assert not init_vendor(tmp_path)
    assert (tmp_path / PRIVATE_FILE).read_bytes() == private
    assert (tmp_path / PUBLIC_FILE).read_bytes() == public


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(VendorKeyError, match=r"python -m provisioning\.vendor init --dir"):
        load_vendor_key(tmp_path)


def test_a_broken_key_is_explained(tmp_path: Path) -> None:
    (tmp_path / PRIVATE_FILE).write_text("not a key")
    with pytest.raises(VendorKeyError, match="is not a PEM private key"):
        load_vendor_key(tmp_path)


def test_cli_init(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "provisioning.vendor", "init", "--dir", str(tmp_path / "v")]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    assert "created" in first.stdout
    assert "already present" in second.stdout
