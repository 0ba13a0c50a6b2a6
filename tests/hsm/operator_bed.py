"""Operator keys for the login tests: tokens emulated in SoftHSM2, USB devices from umockdev.

umockdev fakes udev and sysfs for a process only when its preload library was there from the
start, so the tests that plug and pull keys run in a second pytest under `umockdev-wrapper`:
each file holds them in a class marked `needs_umockdev`, and one test marked `spawns_umockdev`
runs that class.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType
from pkcs11.util.ec import encode_named_curve_parameters

from appliance.datadir import DataDir
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import ED25519_PARAMS
from hsm.usb import KeyEvent

REPO = Path(__file__).resolve().parents[2]
PRELOAD = "libumockdev-preload"
INNER_TIMEOUT = 600.0
EVENT_WAIT = 10.0
"""Seconds to wait for an event udev owes us before calling the test stuck."""

OPERATOR_TOKEN = "operator"
OPERATOR_PIN = "operator-pin-1"
OTHER_TOKEN = "other-operator"
KEY_ID = b"\x01"
KEY_LABEL = "PIV AUTH key"
KINDS = ("ecdsa-secp256r1", "ed25519", "rsa-2048")
YUBIKEY = "1050:0407"


def under_umockdev() -> bool:
    """Tell whether this process runs with umockdev's preload (under umockdev-wrapper)."""
    return PRELOAD in os.environ.get("LD_PRELOAD", "")


needs_umockdev = pytest.mark.skipif(
    not under_umockdev(), reason="plugs USB keys: run under umockdev-wrapper by the file's runner"
)

spawns_umockdev: pytest.MarkDecorator = pytest.mark.skipif(
    under_umockdev(), reason="already under umockdev-wrapper: the class runs in this process"
)


def run_under_umockdev(test_file: str, test_class: str) -> None:
    """Run one class of test_file in a pytest under umockdev-wrapper; fail with its output."""
    wrapper = shutil.which("umockdev-wrapper")
    assert wrapper is not None, "umockdev-wrapper is missing; install Debian's umockdev"
    node = f"{Path(test_file).relative_to(REPO)}::{test_class}"
    result = subprocess.run(
        [wrapper, sys.executable, "-m", "pytest", node, "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=INNER_TIMEOUT, check=False,
    )
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    assert result.returncode == 0, output
    assert " passed" in summary and "skipped" not in summary, output


@functools.cache
def _testbed() -> Any:
    """Return the process's one umockdev testbed.

    Freeing a testbed unsets umockdev's redirection even while a newer one is in use, so the
    process keeps one for its whole life and each test takes its devices out again.
    """
    import gi  # type: ignore[import-untyped]

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev  # type: ignore[import-untyped]

    return UMockdev.Testbed.new()


_ports = itertools.count(1)


class UsbBed:
    """Fake USB devices that this whole process sees through udev (needs umockdev's preload)."""

    def __init__(self) -> None:
        self._testbed = _testbed()
        self._plugged: set[str] = set()

    def plug(self, usb_id: str = YUBIKEY, serial: str = "", product: str = "YubiKey") -> str:
        """Plug a USB device in (udev announces it) and return its sysfs path."""
        vendor, product_id = usb_id.split(":")
        attributes = ["idVendor", vendor, "idProduct", product_id, "serial", serial,
                      "product", product]
        path: str = self._testbed.add_device("usb", f"1-{next(_ports)}", None, attributes,
                                             ["DEVTYPE", "usb_device"])
        self._plugged.add(path)
        return path

    def announce_removal(self, path: str) -> None:
        """Send the `remove` event of a device; read it before calling `unplug`."""
        self._testbed.uevent(path, "remove")

    def unplug(self, path: str) -> None:
        """Take the device out of sysfs (after its removal was announced and read)."""
        self._testbed.remove_device(path)
        self._plugged.discard(path)

    def clear(self) -> None:
        """Take out every device still plugged in, so the next test starts with none."""
        for path in sorted(self._plugged):
            self.unplug(path)


async def next_event(events: AsyncIterator[KeyEvent]) -> KeyEvent:
    """Return the next event of a key watch's stream."""
    return await asyncio.wait_for(anext(events), EVENT_WAIT)


def make_tokens(root: Path) -> DataDir:
    """Return a data dir with the box's token and two operator tokens; point SoftHSM2 at it."""
    data = DataDir(root)
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), "box-user-pin")
    for label in (OPERATOR_TOKEN, OTHER_TOKEN):
        init_token(data, label, secrets.token_hex(8), OPERATOR_PIN)
    use_config(data)
    return data


def release_module() -> None:
    """Finalise SoftHSM2 in this process, so it reads the next test's configuration afresh."""
    pkcs11.lib(SOFTHSM_MODULE).finalize()


def generate_pair(token_label: str, kind: str, key_id: bytes = KEY_ID,
                  label: str = KEY_LABEL) -> None:
    """Generate a key pair of `kind` on an operator token, as a PIV key would hold it."""
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=token_label)
    private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
    with token.open(rw=True, user_pin=OPERATOR_PIN) as session:
        if kind.startswith("rsa-"):
            session.generate_keypair(KeyType.RSA, int(kind.removeprefix("rsa-")), id=key_id,
                                     label=label, store=True, private_template=private)
            return
        key_type, mechanism, params = _EC_KINDS[kind]
        session.generate_keypair(key_type, mechanism=mechanism, id=key_id, label=label,
                                 store=True, public_template={Attribute.EC_PARAMS: params},
                                 private_template=private)


def sign_directly(token_label: str, message: bytes, key_id: bytes = KEY_ID) -> bytes:
    """Sign message with the token's private key `key_id`, by plain PKCS#11, in standard form."""
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=token_label)
    with token.open(user_pin=OPERATOR_PIN) as session:
        private: Any = next(session.get_objects({Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                                                 Attribute.ID: key_id}))
        kind = private[Attribute.KEY_TYPE]
        if kind == KeyType.RSA:
            return bytes(private.sign(message, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS))
        if kind == KeyType.EC_EDWARDS:
            return bytes(private.sign(message, mechanism=pkcs11.Mechanism.EDDSA))
        digest = hashlib.sha256(message).digest()
        raw = bytes(private.sign(digest, mechanism=pkcs11.Mechanism.ECDSA))
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        return encode_dss_signature(r, s)


_EC_KINDS: dict[str, tuple[KeyType, Any, bytes]] = {
    "ecdsa-secp256r1": (KeyType.EC, pkcs11.Mechanism.EC_KEY_PAIR_GEN,
                        encode_named_curve_parameters("secp256r1")),
    "ed25519": (KeyType.EC_EDWARDS, pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN, ED25519_PARAMS),
}
