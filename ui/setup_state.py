"""How far the box is set up, as appliance.db says: what the first-run wizard resumes from."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import sqlite_utils

from appliance.store import appliance_db
from appliance.store.appliance_db import Pair
from appliance.store.database import StoreUnavailable, read_from
from ui.panel import Panel


class Step(IntEnum):
    """The wizard's steps, in order."""

    ALLOWLIST = 1
    ACCOUNT = 2
    PAIR = 3
    STRATEGY = 4
    SHADOW = 5
    LIVE = 6


@dataclass(frozen=True)
class BoxSetup:
    """How far the box is set up, as appliance.db says."""

    asset: str
    bots: list[str]
    allowlist: tuple[str, ...]
    accounts: list[tuple[str, str]]
    """(account name, bot) of every exchange key."""
    pairs: list[Pair]

    @property
    def resume(self) -> Step:
        """Return the step a visit starts at."""
        if not self.accounts:
            return Step.ALLOWLIST
        if not self.pairs:
            return Step.PAIR
        return Step.STRATEGY if all(p.shadow for p in self.pairs) else Step.LIVE

    def accounts_of(self, bot: str) -> list[str]:
        """Return the names of a bot's exchange accounts."""
        return [name for name, owner in self.accounts if owner == bot]


def read_setup(path: Path) -> BoxSetup:
    """Return how far the box is set up; StoreUnavailable when appliance.db cannot be read."""
    def work(db: sqlite_utils.Database) -> BoxSetup:
        return BoxSetup(appliance_db.settings(db).get("asset", ""),
                        [bot.name for bot in appliance_db.bots(db)],
                        appliance_db.allowlist(db),
                        [(k.exchange, k.bot) for k in appliance_db.exchange_keys(db)],
                        appliance_db.pairs(db))
    return read_from(path, work)


def needs_setup(panel: Panel) -> bool:
    """Tell whether the box is new, with no exchange account nor pair: an owner should run the
    wizard. (A box with pairs but no account is broken, not new: the dashboard shows it.)"""
    try:
        setup = read_setup(panel.accounts.path)
        return not setup.accounts and not setup.pairs
    except StoreUnavailable:
        return False  # the dashboard says what cannot be read


def covering(allowlist: tuple[str, ...], address: str) -> str | None:
    """Return the allowlist entry that lets `address` in, if any."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for cidr in allowlist:
        try:
            if ip in ipaddress.ip_network(cidr, strict=False):
                return cidr
        except ValueError:
            continue
    return None
