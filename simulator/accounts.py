"""Trading accounts of the simulator: names, API keys and starting balances, kept on disk."""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.store.atomic import write_atomic
from simulator.const import (
    ACCOUNTS_FILE,
    ACCOUNTS_FILE_VERSION,
    API_KEY_LENGTH,
    ASSET_DECIMALS,
    ASSET_SCALE,
)
from simulator.errors import BinanceError
from simulator.orders import SelfTradePrevention

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
ASSET_PATTERN = re.compile(r"[A-Z0-9]{1,20}")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,20}(\.[0-9]{1,8})?")
KEY_ALPHABET = string.ascii_letters + string.digits


class AccountFileError(Exception):
    """The accounts file cannot be read; its message says how to recover."""


@dataclass(frozen=True)
class Account:
    """A trading account: its name, its keys, its starting balances and default STP mode.

    Its first API key signs with HMAC-SHA256 under `secret_key`; each key of `ed25519_keys`
    (API key to PEM public key) signs with Ed25519, as Binance's Ed25519 API keys do.
    `create_times` holds when each API key was made (ms); `enable_withdrawals` is whether its
    keys may withdraw, as `GET /sapi/v1/account/apiRestrictions` reports.
    """

    name: str
    api_key: str
    secret_key: str
    balances: Mapping[str, Decimal]
    ed25519_keys: Mapping[str, str] = field(default_factory=dict)
    stp_mode: SelfTradePrevention | None = None
    create_times: Mapping[str, int] = field(default_factory=dict)
    enable_withdrawals: bool = False

    def starting_units(self) -> dict[str, int]:
        """Return the starting balances in 1e-8 units."""
        return {asset: int(amount * ASSET_SCALE) for asset, amount in self.balances.items()}

    def to_json(self) -> dict[str, Any]:
        """Return the account as the accounts file stores it."""
        stored: dict[str, Any] = {
            "name": self.name,
            "apiKey": self.api_key,
            "secretKey": self.secret_key,
            "balances": {asset: str(amount) for asset, amount in self.balances.items()},
            "ed25519Keys": dict(self.ed25519_keys),
            "createTimes": dict(self.create_times),
            "enableWithdrawals": self.enable_withdrawals,
        }
        if self.stp_mode is not None:
            stored["selfTradePreventionMode"] = self.stp_mode.value
        return stored


@dataclass(frozen=True)
class ApiKey:
    """One API key and how its requests are signed: HMAC secret or Ed25519 public key."""

    api_key: str
    account: str
    secret: str | None
    public_key: Ed25519PublicKey | None
    create_time: int


def parse_public_key(pem: object) -> Ed25519PublicKey:
    """Return an Ed25519 public key from its PEM text, or refuse it."""
    refusal = BinanceError(
        -1130,
        "Data sent for parameter 'ed25519_public_key' is not valid; send an Ed25519 public key "
        "in PEM ('-----BEGIN PUBLIC KEY-----').",
    )
    if not isinstance(pem, str):
        raise refusal
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise refusal from None
    if not isinstance(key, Ed25519PublicKey):
        raise refusal
    return key


def parse_stp_mode(raw: object) -> SelfTradePrevention | None:
    """Return an account's default self-trade prevention mode, None when not given."""
    if raw is None:
        return None
    try:
        return SelfTradePrevention(str(raw))
    except ValueError:
        modes = ", ".join(mode.value for mode in SelfTradePrevention)
        raise BinanceError(
            -1130,
            "Data sent for parameter 'self_trade_prevention_mode' is not valid; "
            f"use one of {modes}.",
        ) from None


def parse_withdrawals(raw: object) -> bool:
    """Return whether an account's keys may withdraw; False when not given."""
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise BinanceError(
            -1130, "Data sent for parameter 'enable_withdrawals' is not valid; send true or false."
        )
    return raw


def check_name(name: object) -> str:
    """Return a valid account name, or refuse it."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BinanceError(
            -1130,
            "Data sent for parameter 'name' is not valid; "
            "use 1 to 64 letters, digits, '.', '_' or '-'.",
        )
    return name


def parse_balances(raw: object) -> dict[str, Decimal]:
    """Return starting balances from `{"ASSET": "amount"}`, or refuse them."""
    if not isinstance(raw, dict):
        raise BinanceError(
            -1130, "Data sent for parameter 'balances' is not valid; send an object."
        )
    balances: dict[str, Decimal] = {}
    for asset, amount in raw.items():
        if not ASSET_PATTERN.fullmatch(asset):
            raise BinanceError(
                -1130, f"Asset '{asset}' in 'balances' is not valid; use 1 to 20 A-Z or 0-9."
            )
        balances[asset] = _parse_amount(asset, amount)
    return balances


def _parse_amount(asset: str, amount: object) -> Decimal:
    """Return a starting balance from a decimal string or whole number."""
    text = str(amount) if isinstance(amount, int) and not isinstance(amount, bool) else amount
    if not isinstance(text, str) or not AMOUNT_PATTERN.fullmatch(text):
        raise BinanceError(
            -1130,
            f"Balance of '{asset}' is not valid; send a non-negative decimal string with at most "
            f"{ASSET_DECIMALS} decimals.",
        )
    return Decimal(text)


def new_key() -> str:
    """Return a fresh random key like Binance's: 64 letters and digits."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


class AccountStore:
    """The accounts of one state directory, saved atomically to a file only the owner reads."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / ACCOUNTS_FILE
        self._by_name: dict[str, Account] = {}
        self._by_key: dict[str, ApiKey] = {}

    @classmethod
    def open(cls, state_dir: Path) -> AccountStore:
        """Return the store of a state directory, creating the directory when missing."""
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise AccountFileError(
                f"cannot create the state directory {state_dir} ({exc}); choose a writable --state"
            ) from None
        store = cls(state_dir)
        if store.path.exists():
            for account in store._read():
                store._add(account)
        return store

    def __iter__(self) -> Iterator[Account]:
        """Yield the accounts in the order they were created."""
        return iter(list(self._by_name.values()))

    def by_name(self, name: str) -> Account | None:
        """Return the account of a name, or None."""
        return self._by_name.get(name)

    def by_api_key(self, api_key: str) -> ApiKey | None:
        """Return an API key with how it signs, or None for a key no account holds."""
        return self._by_key.get(api_key)

    def uid(self, name: str) -> int:
        """Return an account's user id: its place in creation order, counting from 1."""
        return list(self._by_name).index(name) + 1

    def create(
        self,
        name: str,
        balances: Mapping[str, Decimal],
        now_ms: int,
        stp_mode: SelfTradePrevention | None = None,
        enable_withdrawals: bool = False,
    ) -> Account:
        """Create an account with a fresh HMAC key pair made at `now_ms` and save the store."""
        api_key = new_key()
        account = Account(
            name,
            api_key,
            new_key(),
            dict(balances),
            stp_mode=stp_mode,
            create_times={api_key: now_ms},
            enable_withdrawals=enable_withdrawals,
        )
        self._add(account)
        self._save()
        return account

    def add_ed25519_key(self, name: str, public_key_pem: str, now_ms: int) -> str:
        """Register an Ed25519 public key for an account; return its new API key."""
        parse_public_key(public_key_pem)
        account = self._by_name[name]
        if public_key_pem in account.ed25519_keys.values():
            raise BinanceError(
                -1130, "This Ed25519 public key is already registered; use its API key.", 409
            )
        api_key = new_key()
        self._add(
            replace(
                account,
                ed25519_keys={**account.ed25519_keys, api_key: public_key_pem},
                create_times={**account.create_times, api_key: now_ms},
            )
        )
        self._save()
        return api_key

    def set_withdrawals(self, name: str, enabled: bool) -> Account:
        """Allow or forbid withdrawals with an account's API keys and save the store."""
        account = replace(self._by_name[name], enable_withdrawals=enabled)
        self._add(account)
        self._save()
        return account

    def _add(self, account: Account) -> None:
        """Index an account by name and each of its API keys."""
        self._by_name[account.name] = account
        times = account.create_times
        self._by_key[account.api_key] = ApiKey(
            account.api_key, account.name, account.secret_key, None, times[account.api_key]
        )
        for api_key, pem in account.ed25519_keys.items():
            self._by_key[api_key] = ApiKey(
                api_key, account.name, None, parse_public_key(pem), times[api_key]
            )

    def _read(self) -> list[Account]:
        """Return the accounts of the file, or refuse a file that is not one."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document.get("version") != ACCOUNTS_FILE_VERSION:
                raise ValueError(f"version is not {ACCOUNTS_FILE_VERSION}")
            saved_ms = int(self.path.stat().st_mtime * 1000)
            return [_account_from_json(entry, saved_ms) for entry in document["accounts"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, BinanceError) as exc:
            raise AccountFileError(
                f"{self.path} cannot be read ({exc}); restore it from a backup, or delete it to "
                "start the simulator with no accounts"
            ) from None

    def _save(self) -> None:
        """Write every account, atomically and durably, to a file only the owner reads."""
        document = {
            "version": ACCOUNTS_FILE_VERSION,
            "accounts": [account.to_json() for account in self._by_name.values()],
        }
        write_atomic(self.path, json.dumps(document, indent=2).encode(), 0o600)


def _account_from_json(entry: Mapping[str, Any], saved_ms: int) -> Account:
    """Return an account from its entry in the accounts file, saved at `saved_ms`.

    A file written before keys had creation times gives each key the time it was saved,
    the latest time the key is known to have existed.
    """
    api_key, secret_key = entry["apiKey"], entry["secretKey"]
    ed25519_keys = entry.get("ed25519Keys", {})
    if not isinstance(api_key, str) or not isinstance(secret_key, str):
        raise ValueError(f"keys of account {entry.get('name')!r} are not strings")
    if not isinstance(ed25519_keys, dict) or not all(isinstance(key, str) for key in ed25519_keys):
        raise ValueError(f"Ed25519 keys of account {entry.get('name')!r} are not a key map")
    for pem in ed25519_keys.values():
        parse_public_key(pem)
    times = entry.get("createTimes", {})
    if not isinstance(times, dict) or not all(
        isinstance(time, int) and not isinstance(time, bool) for time in times.values()
    ):
        raise ValueError(f"key creation times of account {entry.get('name')!r} are not a map")
    return Account(
        check_name(entry["name"]),
        api_key,
        secret_key,
        parse_balances(entry["balances"]),
        dict(ed25519_keys),
        parse_stp_mode(entry.get("selfTradePreventionMode")),
        {key: times.get(key, saved_ms) for key in (api_key, *ed25519_keys)},
        parse_withdrawals(entry.get("enableWithdrawals")),
    )
