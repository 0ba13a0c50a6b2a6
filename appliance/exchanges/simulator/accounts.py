"""Trading accounts of the simulator: names, API keys and starting balances, kept on disk."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from appliance.exchanges.simulator.const import (
    ACCOUNTS_FILE,
    ACCOUNTS_FILE_VERSION,
    API_KEY_LENGTH,
    ASSET_DECIMALS,
    ASSET_SCALE,
)
from appliance.exchanges.simulator.errors import BinanceError

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
ASSET_PATTERN = re.compile(r"[A-Z0-9]{1,20}")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,20}(\.[0-9]{1,8})?")
KEY_ALPHABET = string.ascii_letters + string.digits


class AccountFileError(Exception):
    """The accounts file cannot be read; its message says how to recover."""


@dataclass(frozen=True)
class Account:
    """A trading account: its name, its API key and secret, and its starting balances."""

    name: str
    api_key: str
    secret_key: str
    balances: Mapping[str, Decimal]

    def starting_units(self) -> dict[str, int]:
        """Return the starting balances in 1e-8 units."""
        return {asset: int(amount * ASSET_SCALE) for asset, amount in self.balances.items()}

    def to_json(self) -> dict[str, Any]:
        """Return the account as the accounts file stores it."""
        return {
            "name": self.name,
            "apiKey": self.api_key,
            "secretKey": self.secret_key,
            "balances": {asset: str(amount) for asset, amount in self.balances.items()},
        }


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
        self._by_key: dict[str, Account] = {}

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

    def by_api_key(self, api_key: str) -> Account | None:
        """Return the account of an API key, or None."""
        return self._by_key.get(api_key)

    def uid(self, name: str) -> int:
        """Return an account's user id: its place in creation order, counting from 1."""
        return list(self._by_name).index(name) + 1

    def create(self, name: str, balances: Mapping[str, Decimal]) -> Account:
        """Create an account with fresh keys and save the store."""
        account = Account(name, new_key(), new_key(), dict(balances))
        self._add(account)
        self._save()
        return account

    def _add(self, account: Account) -> None:
        """Index an account by name and by API key."""
        self._by_name[account.name] = account
        self._by_key[account.api_key] = account

    def _read(self) -> list[Account]:
        """Return the accounts of the file, or refuse a file that is not one."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document.get("version") != ACCOUNTS_FILE_VERSION:
                raise ValueError(f"version is not {ACCOUNTS_FILE_VERSION}")
            return [_account_from_json(entry) for entry in document["accounts"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, BinanceError) as exc:
            raise AccountFileError(
                f"{self.path} cannot be read ({exc}); restore it from a backup, or delete it to "
                "start the simulator with no accounts"
            ) from None

    def _save(self) -> None:
        """Write every account to the file: private temp file, fsync, rename."""
        document = {
            "version": ACCOUNTS_FILE_VERSION,
            "accounts": [account.to_json() for account in self._by_name.values()],
        }
        fd, temp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{ACCOUNTS_FILE}.", suffix=".tmp"
        )
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _sync_directory(self.path.parent)


def _account_from_json(entry: Mapping[str, Any]) -> Account:
    """Return an account from its entry in the accounts file."""
    api_key, secret_key = entry["apiKey"], entry["secretKey"]
    if not isinstance(api_key, str) or not isinstance(secret_key, str):
        raise ValueError(f"keys of account {entry.get('name')!r} are not strings")
    return Account(
        check_name(entry["name"]), api_key, secret_key, parse_balances(entry["balances"])
    )


def _sync_directory(directory: Path) -> None:
    """Flush a directory so that a rename inside it survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
