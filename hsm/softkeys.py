"""Software operator keys: SoftHSM2 tokens that stand in for USB keys on the development box.

The development box has no USB bus. Each token of the operator module whose label starts with
DEV_KEY_PREFIX is presented as an operator key plugged in at `soft:<label>`; `plug` and `pull`
put it in and take it out with the same events a USB key gives, so pulling one ends its
logins. The op `dev_key` lets the developer do so through the signer (`python -m hsm.devkey`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import pkcs11
from pkcs11.exceptions import PKCS11Error

from appliance.ipc import IpcError
from hsm.ops import Access, Audit, Call, Op
from hsm.usb import KeyAction, KeyEvent, KeyWatch, UsbId, UsbKey

log = logging.getLogger(__name__)

DEV_KEY_PREFIX = "dev-key-"
"""Tokens whose label starts with this are the development box's software operator keys."""

DEV_KEY_PIN_FILE = "dev-key.pin"
"""The software keys' PIN, in the signer's folder (DataDir.hsm), mode 0600: development only."""

SOFT_DEVICE_PREFIX = "soft:"
SOFT_USB_ID = UsbId("0000", "0000")
SOFT_PRODUCT = "MMBox software key"


class SoftKeyError(Exception):
    """There is no such software key, or the module cannot list them; the message says why."""


def soft_device(label: str) -> str:
    """Return the device a software key on token `label` is plugged in at."""
    return SOFT_DEVICE_PREFIX + label


class SoftKeyWatch(KeyWatch):
    """Present the development box's software keys as operator keys, plugged in until pulled."""

    def __init__(self, module: str) -> None:
        super().__init__([SOFT_USB_ID])
        self._module = module
        self._known: dict[str, UsbKey] = {}

    async def __aenter__(self) -> SoftKeyWatch:
        self.start()
        return self

    def start(self) -> None:
        """Find the software keys on the module; each is plugged in at once."""
        if self._known:
            raise RuntimeError("the software key watch is already running; stop it first")
        try:
            tokens = list(pkcs11.lib(self._module).get_tokens())
        except PKCS11Error as exc:
            raise SoftKeyError(f"cannot list the tokens of {self._module} "
                               f"({type(exc).__name__}); check the module and its config") from None
        for token in tokens:
            label = str(token.label)
            if label.startswith(DEV_KEY_PREFIX):
                key = UsbKey(soft_device(label), SOFT_USB_ID, _text(token.serial), SOFT_PRODUCT)
                self._known[key.device] = key
        self._present.update(self._known)
        log.info("software operator keys: %s", ", ".join(self._known) or "none")

    def stop(self) -> None:
        """Stop presenting the keys and end every event stream."""
        self._known.clear()
        self._present.clear()
        for stream in self._streams:
            stream.put_nowait(None)
        self._streams.clear()

    def keys(self) -> dict[str, bool]:
        """Return every software key's device and whether it is plugged in."""
        return {device: device in self._present for device in sorted(self._known)}

    def plug(self, device: str) -> UsbKey:
        """Plug the software key at `device` in (announced unless it already is)."""
        key = self._key(device)
        if device not in self._present:
            self._present[device] = key
            self._publish(KeyEvent(KeyAction.ADDED, key))
        return key

    def pull(self, device: str) -> UsbKey:
        """Pull the software key at `device` out (announced unless it already is out)."""
        key = self._key(device)
        if self._present.pop(device, None) is not None:
            self._publish(KeyEvent(KeyAction.REMOVED, key))
        return key

    def _key(self, device: str) -> UsbKey:
        key = self._known.get(device)
        if key is None:
            known = ", ".join(sorted(self._known)) or "none"
            raise SoftKeyError(f"there is no software key at {device!r} (this box has: "
                               f"{known}); provision the development box again to make one")
        return key


def dev_key_op(
    watch: SoftKeyWatch, panel_uids: Collection[int], is_admin: Callable[[int], bool]
) -> Op:
    """Return the op `dev_key` for the panel's uids and the admin uids.

    `dev_key {device, plugged}` plugs the key in or pulls it out -> {device, plugged};
    `dev_key {}` lists the keys -> {keys: [{device, plugged}, ...]}.
    """

    def run(call: Call) -> dict[str, Any]:
        uid = call.peer.uid
        if uid not in panel_uids and not is_admin(uid):
            raise IpcError("forbidden", f"uid {uid} may not plug software keys; the panel and "
                           "the admin uids may")
        device, plugged = call.args.get("device"), call.args.get("plugged")
        if device is None and plugged is None:
            return {"keys": [{"device": d, "plugged": p} for d, p in watch.keys().items()]}
        if not isinstance(device, str) or not isinstance(plugged, bool):
            raise IpcError("bad_args", "args need 'device' (soft:LABEL) and 'plugged' (true "
                           "or false), or neither to list the software keys")
        try:
            (watch.plug if plugged else watch.pull)(device)
        except SoftKeyError as exc:
            raise IpcError("unknown_device", str(exc)) from None
        return {"device": device, "plugged": plugged}

    return Op(run, Access.ANYONE, Audit.EACH, audit_args=())


def _text(value: Any) -> str:
    """Return a token field (bytes or text) as text."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text.strip()
