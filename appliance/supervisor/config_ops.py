"""Change what the bots trade with, on the owner's behalf: the supervisor's config ops.

Ops (each `async (args) -> result`; the supervisor has already checked the caller is the panel):
  pair_configure   {bot, exchange, symbol, settings, actor, fingerprint}
                                          -> {version, changes, applied}
  risk_configure   {bot, risk, actor, fingerprint}
                                          -> {version, changes, applied}
  config_restore   {id, actor, fingerprint} -> {version, changes, applied}

Settings are validated by the same models the form and the API schema come from; a bad value
is refused with each field's error and writes nothing. A change is written with its version in
one transaction, then handed to the bot when it runs: its workers take it at their next cycle,
without a restart (`applied` says whether a running bot took it; a stopped bot reads it at
start). Restoring a version sets it again, as a new version.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import sqlite_utils
from pydantic import ValidationError

from appliance.config import history
from appliance.config.pair import (
    PairSettings,
    SettingsError,
    pair_of,
    pair_settings,
    problems,
    settings_of,
)
from appliance.ipc import IpcError
from appliance.risk.limits import RiskLimits
from appliance.store import appliance_db
from appliance.store.access import transaction
from appliance.store.appliance_db import Pair
from appliance.supervisor.access_args import text

ConfigOp = Callable[[dict[str, Any]], Awaitable[Any]]
AskBot = Callable[[str, str, dict[str, Any]], Awaitable[Any]]
"""Ask a running bot one op: (bot, op, args) -> answer, or IpcError `not_running`."""


class ConfigOps:
    """Validate, store and hand over the settings of pairs and bots."""

    def __init__(self, db: sqlite_utils.Database, ask_bot: AskBot,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._ask_bot = ask_bot
        self._clock = clock

    def table(self) -> dict[str, ConfigOp]:
        """Return the ops by name."""
        return {"pair_configure": self.pair_configure, "risk_configure": self.risk_configure,
                "config_restore": self.config_restore}

    async def pair_configure(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set one pair's settings."""
        pair = self._pair(_text(args, "bot"), _text(args, "exchange"), _text(args, "symbol"))
        try:
            settings = pair_settings(args.get("settings"))
        except SettingsError as exc:
            raise IpcError("bad_args", f"the settings were not changed: {exc}") from None
        return await self._set_pair(pair, settings, who(args))

    async def risk_configure(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set one bot's risk limits."""
        bot = known_bot(self._db, args)
        try:
            limits = RiskLimits.model_validate(args.get("risk"))
        except ValidationError as exc:
            raise IpcError("bad_args", f"the risk limits were not changed: {problems(exc)}"
                           ) from None
        return await self._set_risk(bot, limits, who(args))

    async def config_restore(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set an earlier version of a pair's settings or a bot's risk limits again."""
        version_id = args.get("id")
        if isinstance(version_id, bool) or not isinstance(version_id, int):
            raise IpcError("bad_args", "args need 'id', the number of a version in the history")
        version = history.version(self._db, version_id)
        if version is None:
            raise IpcError("not_found", f"there is no version {version_id} in the history")
        kind, bot, *market = version.target.split(" ")
        try:
            if kind == "pair":
                return await self._set_pair(self._pair(bot, *market),
                                            pair_settings(version.settings), who(args))
            return await self._set_risk(bot, RiskLimits.model_validate(version.settings),
                                        who(args))
        except (SettingsError, ValidationError) as exc:
            raise IpcError("conflict", f"version {version_id} can no longer be set: {exc}"
                           ) from None

    async def _set_pair(self, pair: Pair, settings: PairSettings,
                        who: tuple[str, str]) -> dict[str, Any]:
        new = settings.model_dump(mode="json")
        old = _stored(pair)
        if not history.diff(old, new):
            return {"version": None, "applied": False, "changes": []}
        target = history.pair_target(pair.bot, pair.exchange, pair.symbol)
        with transaction(self._db):
            appliance_db.put_pair(self._db, pair_of(pair.bot, pair.exchange, pair.symbol,
                                                    settings))
            version = history.record(self._db, self._clock(), *who, target, new, old)
        applied = await self._hand_over(pair.bot, "configure",
                                        {"symbol": pair.symbol, "settings": new})
        return _answer(version, old, new, applied)

    async def _set_risk(self, bot: str, limits: RiskLimits,
                        who: tuple[str, str]) -> dict[str, Any]:
        new = limits.model_dump(mode="json")
        old = _stored_risk(appliance_db.bot_risk(self._db, bot))
        if not history.diff(old, new):
            return {"version": None, "applied": False, "changes": []}
        with transaction(self._db):
            appliance_db.set_bot_risk(self._db, bot, new)
            version = history.record(self._db, self._clock(), *who, history.risk_target(bot),
                                     new, old)
        applied = await self._hand_over(bot, "configure_risk", {"risk": new})
        return _answer(version, old, new, applied)

    async def _hand_over(self, bot: str, op: str, args: dict[str, Any]) -> bool:
        """Give a running bot its new settings; False when it is not running."""
        return await hand_over(self._ask_bot, bot, op, args, "the settings are stored, and "
                               "the bot will read them at its next start")

    def _pair(self, bot: str, exchange: str, symbol: str) -> Pair:
        pair = next((p for p in appliance_db.pairs(self._db, bot)
                     if (p.exchange, p.symbol) == (exchange, symbol)), None)
        if pair is None:
            raise IpcError("not_found", f"{bot} has no pair {symbol} on {exchange}")
        return pair


async def hand_over(ask_bot: AskBot, bot: str, op: str, args: dict[str, Any],
                    stored: str) -> bool:
    """Ask a running bot to take a change already `stored`; False when it is not running."""
    try:
        await ask_bot(bot, op, args)
    except IpcError as exc:
        if exc.code in ("not_running", "unknown_bot"):
            return False
        raise IpcError(exc.code, f"{stored}, but it did not take it now: {exc.message}"
                       ) from None
    return True


def known_bot(db: sqlite_utils.Database, args: dict[str, Any]) -> str:
    """Return the bot args name, which must be one of the box's."""
    bot = text(args, "bot", "the name of a bot, e.g. bot-1", limit=40)
    if bot not in {b.name for b in appliance_db.bots(db)}:
        raise IpcError("not_found", f"there is no bot named '{bot}'")
    return bot


def _stored(pair: Pair) -> dict[str, Any]:
    """Return a stored pair's settings as the history keeps them: with every default filled
    in when they are valid, as stored when they are not."""
    try:
        return settings_of(pair).model_dump(mode="json")
    except SettingsError:
        return {"strategy": {"kind": pair.strategy, "params": pair.params},
                "tolerance": pair.tolerance, "integrity": pair.integrity, "shadow": pair.shadow}


def _stored_risk(raw: dict[str, Any]) -> dict[str, Any]:
    """Return stored risk limits as the history keeps them: defaults filled in when valid."""
    try:
        return RiskLimits.model_validate(raw).model_dump(mode="json")
    except ValidationError:
        return raw


def _answer(version: int, old: dict[str, Any], new: dict[str, Any],
            applied: bool) -> dict[str, Any]:
    return {"version": version, "applied": applied,
            "changes": [asdict(change) for change in history.diff(old, new)]}


def who(args: dict[str, Any]) -> tuple[str, str]:
    """Return who asked for a change: the user's name and key fingerprint, '' when unknown."""
    given = {"actor": "", "fingerprint": "", **args}
    return (text(given, "actor", "the name of the user making the change", empty=True),
            text(given, "fingerprint", "the user's key fingerprint", empty=True))


def _text(args: dict[str, Any], name: str) -> str:
    return text(args, name, "a non-empty string")
