"""Read the arguments of the supervisor's access ops: each reader returns a checked value or
raises IpcError("bad_args") with a message that says what to send instead.
"""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.ipc import IpcError
from hsm.operator_key import OperatorKeyUnusable, OperatorPublicKey, as_operator_key

NAME_MAX = 40
"""The longest user or token name."""
FIELD_MAX = 128
"""The longest USB serial, token reference, fingerprint or actor."""
DETAIL_MAX = 4096
"""The longest activity detail, as JSON."""
CIDRS_MAX = 64
"""The most networks an allowlist may hold."""
SECRET_KEYS = frozenset({"pin", "so_pin", "password", "secret", "session"})
"""Keys an activity detail may not hold at any depth: their values would be secrets. ("token"
is allowed: the panel names a token's public id so, never its text.)"""

_Member = TypeVar("_Member", bound=StrEnum)


def text(args: dict[str, Any], name: str, meaning: str, *, empty: bool = False,
          limit: int = FIELD_MAX, lines: bool = False) -> str:
    """Return the string args carry under `name`, at most `limit` long, printable on one line
    unless `lines`."""
    value = args.get(name)
    if not isinstance(value, str) or not (value or empty):
        raise IpcError("bad_args", f"args need '{name}', {meaning}")
    if len(value) > limit or not (lines or value.isprintable()):
        raise IpcError("bad_args", f"'{name}' must be printable and at most {limit} "
                       "characters long")
    return value


def optional(args: dict[str, Any], name: str) -> str | None:
    """Return the string args carry under `name`, or None when they leave it out."""
    if args.get(name) is None:
        return None
    return text(args, name, "a string as enrol_read returned it, or left out")


def name_of(args: dict[str, Any], name: str, meaning: str) -> str:
    """Return a name: 1 to 40 printable characters, not starting or ending with a space."""
    value = text(args, name, meaning, limit=NAME_MAX)
    if value != value.strip():
        raise IpcError("bad_args", f"'{name}' must not start or end with a space")
    return value


def choice(args: dict[str, Any], name: str, kind: type[_Member]) -> _Member:
    """Return the member of `kind` args name under `name`."""
    value = args.get(name)
    try:
        return kind(value if isinstance(value, str) else "")
    except ValueError:
        raise IpcError("bad_args", f"'{name}' must be one of "
                       f"{', '.join(member.value for member in kind)}") from None


def number(args: dict[str, Any], name: str, meaning: str,
            default: float | None = None) -> float:
    """Return the number args carry under `name` (or the default when they leave it out)."""
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IpcError("bad_args", f"args need '{name}', {meaning}")
    return float(value)


def public_key(args: dict[str, Any]) -> OperatorPublicKey:
    """Return the public key args carry as PEM, if the box can log in with its kind."""
    pem = text(args, "public_key_pem", "the public key as enrol_read returned it",
                limit=DETAIL_MAX, lines=True)
    try:
        return as_operator_key(load_pem_public_key(pem.encode()))
    except ValueError:
        raise IpcError("bad_args", "'public_key_pem' is not a PEM public key; pass the "
                       "public_key_pem enrol_read returned") from None
    except OperatorKeyUnusable as exc:
        raise IpcError("bad_args", str(exc)) from None


def address_of(args: dict[str, Any]) -> str:
    """Return the client IP address args carry under `address`, as ipaddress writes it."""
    value = text(args, "address", "the IP address of the client making the request", limit=64)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise IpcError("bad_args", f"'address' {value!r} is not an IP address; pass the "
                       "client's address as the panel received it") from None


def networks(value: Any) -> list[str]:
    """Return the CIDRs of a proposed allowlist, each as ipaddress writes it, without repeats."""
    if not isinstance(value, list) or not value:
        raise IpcError("bad_args", "'cidrs' must be a non-empty list of networks such as "
                       "'192.168.1.0/24'; an empty allowlist would lock everyone out")
    if len(value) > CIDRS_MAX:
        raise IpcError("bad_args", f"'cidrs' holds {len(value)} networks; the allowlist holds "
                       f"at most {CIDRS_MAX}, so merge some")
    networks: list[str] = []
    for entry in value:
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except (TypeError, ValueError):
            raise IpcError("bad_args", f"allowlist entry {entry!r} is not a network; write an "
                           "address or a CIDR such as '192.168.1.0/24'") from None
        if network not in networks:
            networks.append(network)
    return networks


def detail_of(value: Any) -> dict[str, Any]:
    """Return an activity detail: a JSON object, short, holding no secret."""
    if not isinstance(value, dict):
        raise IpcError("bad_args", "'detail' must be a JSON object; wrap the value in one")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise IpcError("bad_args", "'detail' must hold only JSON values") from None
    if len(text) > DETAIL_MAX:
        raise IpcError("bad_args", f"'detail' is {len(text)} characters as JSON; keep it "
                       f"under {DETAIL_MAX}")
    secret = _secret_key(value)
    if secret is not None:
        raise IpcError("bad_args", f"'detail' holds a '{secret}': the activity log never "
                       "holds a secret; leave it out")
    return value


def _secret_key(value: Any) -> str | None:
    """Return a key of SECRET_KEYS found at any depth of value, or None."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() in SECRET_KEYS:
                return str(key)
            found = _secret_key(inner)
            if found is not None:
                return found
    if isinstance(value, list):
        return next((k for k in map(_secret_key, value) if k is not None), None)
    return None
