"""The signer's login ops, as the panel calls them: the panel never opens a token itself.

The signer lists the operator keys plugged in, signs a fresh challenge on the chosen key after
its PIN, keeps the login session that opens, and ends it when the key is pulled out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.ipc import IpcError, call_once
from appliance.store.access import User

SIGNER_TIMEOUT = 10.0
"""How long the panel waits for one signer answer: signing on a USB key takes a moment."""


@dataclass(frozen=True)
class PluggedKey:
    """An operator key plugged into the box, as the signer lists it."""

    device: str
    usb_id: str
    serial: str
    product: str


@dataclass(frozen=True)
class SignerLogin:
    """A login session the signer opened: its id stays inside the panel's memory."""

    session: str
    device: str
    fingerprint: str


class Signer:
    """Ask the signer, one short connection per call, so a restarted one is found again."""

    def __init__(self, sock: Path, timeout: float = SIGNER_TIMEOUT) -> None:
        self.sock = sock
        self._timeout = timeout

    async def plugged_keys(self) -> list[PluggedKey]:
        """Return the operator keys plugged in now."""
        result = await self._call("usb_keys")
        keys = result.get("keys") if isinstance(result, dict) else None
        if not isinstance(keys, list):
            raise IpcError("bad_reply", "the signer's usb_keys answer holds no key list")
        return [PluggedKey(str(k.get("device", "")), str(k.get("usb_id", "")),
                           str(k.get("serial", "")), str(k.get("product", "")))
                for k in keys if isinstance(k, dict)]

    async def log_in(self, device: str, pin: str, user: User) -> SignerLogin:
        """Sign a fresh challenge on the key at `device` after its PIN; verify it against `user`."""
        challenge = await self._call("login_challenge", device=device)
        refs = {name: value for name, value in (
            ("token_label", user.token_label), ("token_serial", user.token_serial),
            ("key_id", user.key_id), ("key_label", user.key_label)) if value}
        result = await self._call(
            "login_verify", challenge_id=str(challenge.get("challenge_id", "")), pin=pin,
            public_key_pem=user.public_key_pem, **refs)
        return SignerLogin(str(result.get("session", "")), str(result.get("device", "")),
                           str(result.get("fingerprint", "")))

    async def is_open(self, session: str) -> bool:
        """Return whether the signer still holds a login session (key in, not logged out)."""
        result = await self._call("login_session", session=session)
        return bool(result.get("open"))

    async def log_out(self, session: str) -> None:
        """End a login session at the signer."""
        await self._call("logout", session=session)

    async def status(self) -> dict[str, Any]:
        """Return the signer's status: whether the box token is still locked."""
        result: dict[str, Any] = await self._call("status")
        return result

    async def unlock(self, pin: str) -> dict[str, Any]:
        """Log the signer in to the box token with its PIN."""
        result: dict[str, Any] = await self._call("unlock", pin=pin)
        return result

    async def enrolment(self, refs: dict[str, str], pin: str | None) -> dict[str, Any]:
        """Read the public key of an operator key to enrol it."""
        args: dict[str, Any] = dict(refs)
        if pin is not None:
            args["pin"] = pin
        result: dict[str, Any] = await self._call("enrol_read", **args)
        return result

    async def switch_dev_key(self, device: str, plugged: bool) -> dict[str, Any]:
        """Plug in or pull out a software operator key (a development box only)."""
        result: dict[str, Any] = await self._call("dev_key", device=device, plugged=plugged)
        return result

    async def dev_keys(self) -> dict[str, bool]:
        """Return each software operator key's device and whether it is plugged in."""
        result = await self._call("dev_key")
        keys = result.get("keys")
        if not isinstance(keys, list):
            raise IpcError("bad_reply", "the signer's dev_key answer holds no key list")
        return {str(k.get("device")): bool(k.get("plugged")) for k in keys if isinstance(k, dict)}

    async def _call(self, op: str, **args: Any) -> Any:
        result = await call_once(self.sock, op, self._timeout, **args)
        if not isinstance(result, dict):
            raise IpcError("bad_reply", f"the signer answered '{op}' with no object")
        return result
