"""Set up what the bots trade, on the owner's behalf: pairs.

Ops (each `async (args) -> result`; the supervisor has already checked the caller is the panel):
  pair_add         {bot, exchange, symbol, settings?, actor, fingerprint}
                                          -> {bot, exchange, symbol, version, started}
  pair_remove      {bot, exchange, symbol, actor, fingerprint}
                                          -> {bot, exchange, symbol, cancelled}

A pair must be of the licensed asset, exist on the account's exchange and have sizes that meet
the market's minimum order value. A new pair starts in shadow mode with safe defaults unless
settings are given; a running bot starts quoting it at once. Removing a pair has its bot cancel
the pair's orders first; the row goes only after.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlite_utils

from appliance.config import history
from appliance.config.pair import PairSettings, SettingsError, pair_of, pair_settings
from appliance.exchanges.catalog import SYMBOL
from appliance.exchanges.probe import ProbeRefused, market_facts
from appliance.ipc import IpcError
from appliance.market.rules import MarketRules
from appliance.store import appliance_db
from appliance.store.access import transaction
from appliance.store.appliance_db import Exchange
from appliance.supervisor.access_args import text
from appliance.supervisor.config_ops import AskBot, ConfigOp, hand_over, known_bot, who

log = logging.getLogger(__name__)

DEFAULT_QUOTES = 2
"""A pair's default order size is this many times the market's smallest order."""
DEFAULT_INVENTORY = 25
"""...and its default inventory limit this many order sizes."""
SMALLEST_VALUE = Decimal(10)
"""The default order's value, in the quote asset, on a market that sets no minimum."""


class PairOps:
    """Add and remove the pairs of the bots."""

    def __init__(self, db: sqlite_utils.Database, ask_bot: AskBot, asset: str,
                 lock: asyncio.Lock, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._ask_bot = ask_bot
        self._asset = asset
        self._lock = lock
        """Held by every account and pair change: each reads, then writes, the same rows."""
        self._clock = clock

    def table(self) -> dict[str, ConfigOp]:
        """Return the ops by name."""
        return {"pair_add": self.pair_add, "pair_remove": self.pair_remove}

    async def pair_add(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add a pair to a bot, in shadow mode with safe defaults unless settings are given."""
        bot = known_bot(self._db, args)
        name = text(args, "exchange", "the name of the bot's exchange account", limit=40)
        symbol = text(args, "symbol", "the pair as BASE/QUOTE, e.g. MTS/USDT", limit=41)
        if not SYMBOL.fullmatch(symbol):
            raise IpcError("bad_args", f"'{symbol}' is not a pair; write BASE/QUOTE in capitals, "
                           "e.g. MTS/USDT")
        base = symbol.split("/")[0]
        if base != self._asset:
            raise IpcError("asset_locked", f"this box is licensed for {self._asset} only; "
                           f"{symbol} trades {base}. Add a pair of {self._asset}")
        given = args.get("settings")
        chosen: PairSettings | None = None
        if given is not None:
            try:
                chosen = pair_settings(given)
            except SettingsError as exc:
                raise IpcError("bad_args", f"the pair was not added: {exc}") from None
        async with self._lock:
            exchange = self._account(bot, name)
            if any(p.exchange == name and p.symbol == symbol
                   for p in appliance_db.pairs(self._db, bot)):
                raise IpcError("conflict", f"{bot} already trades {symbol} on '{name}'")
            facts = await self._market(exchange, symbol)
            settings = chosen or default_settings(*facts)
            _check_sizes(settings, *facts)
            pair = pair_of(bot, name, symbol, settings)
            with transaction(self._db):
                try:
                    appliance_db.add_pair(self._db, pair)
                except sqlite3.IntegrityError:
                    raise IpcError("conflict", f"{bot} already trades {symbol} on '{name}'"
                                   ) from None
                version = history.record(
                    self._db, self._clock(), *who(args),
                    history.pair_target(bot, name, symbol),
                    settings.model_dump(mode="json"), {})
            started = await self._start_pair(bot, name, symbol)
        log.info("%s: pair %s on %s added", bot, symbol, name)
        return {"bot": bot, "exchange": name, "symbol": symbol, "version": version,
                "started": started}

    async def pair_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        """Remove a pair: its bot cancels the pair's orders first, then the row goes."""
        bot = known_bot(self._db, args)
        name = text(args, "exchange", "the name of the bot's exchange account", limit=40)
        symbol = text(args, "symbol", "the pair as BASE/QUOTE", limit=41)
        async with self._lock:
            pair = next((p for p in appliance_db.pairs(self._db, bot)
                         if (p.exchange, p.symbol) == (name, symbol)), None)
            if pair is None:
                raise IpcError("not_found", f"{bot} has no pair {symbol} on '{name}'")
            cancelled = 0
            try:
                answer = await self._ask_bot(bot, "remove_pair", {"symbol": symbol})
                cancelled = int(answer.get("cancelled", 0)) if isinstance(answer, dict) else 0
            except IpcError as exc:
                # A stopped bot cancelled its orders when it stopped; one that did not start the
                # pair has none. Any other refusal keeps the pair, orders and all.
                if exc.code not in ("not_running", "unknown_bot", "unknown_symbol"):
                    raise IpcError(exc.code, f"the pair was kept: {exc.message}") from None
            with transaction(self._db):
                appliance_db.remove_pair(self._db, bot, name, symbol)
        log.info("%s: pair %s on %s removed", bot, symbol, name)
        return {"bot": bot, "exchange": name, "symbol": symbol, "cancelled": cancelled}

    def _account(self, bot: str, name: str) -> Exchange:
        exchange = appliance_db.exchanges(self._db).get(name)
        if exchange is None or not any(k.exchange == name
                                       for k in appliance_db.exchange_keys(self._db, bot)):
            raise IpcError("not_found", f"{bot} has no exchange account '{name}'; add one first")
        return exchange

    async def _market(self, exchange: Exchange, symbol: str) -> tuple[MarketRules, Decimal]:
        try:
            facts = await market_facts(exchange, symbol)
        except ProbeRefused as exc:
            raise IpcError(exc.code, exc.message) from None
        if facts is None:
            raise IpcError("not_found", f"{exchange.name} has no spot market {symbol}; pick "
                           "one of the markets its test connection listed")
        return facts

    async def _start_pair(self, bot: str, name: str, symbol: str) -> bool:
        """Have a running bot start the new pair; False when the bot is not running."""
        return await hand_over(self._ask_bot, bot, "add_pair",
                               {"exchange": name, "symbol": symbol},
                               f"the pair is stored, and {bot} will start it at its next start")


def default_settings(rules: MarketRules, price: Decimal) -> PairSettings:
    """Return safe settings for a new pair: a wide spread, small orders, in shadow mode.

    An order is DEFAULT_QUOTES times the market's smallest (its minimum value at the price now,
    or SMALLEST_VALUE where it sets none), rounded up to its lot.
    """
    smallest = (rules.min_notional or SMALLEST_VALUE) / price
    lots = (DEFAULT_QUOTES * smallest / rules.lot).to_integral_value(ROUND_CEILING)
    size = max(lots, Decimal(1)) * rules.lot
    return pair_settings({
        "strategy": {"kind": "spread", "params": {
            "half_spread_bps": 50, "order_size": str(size),
            "max_inventory": str(size * DEFAULT_INVENTORY), "band_bps": 200}},
        "shadow": True})


def _check_sizes(settings: PairSettings, rules: MarketRules, price: Decimal) -> None:
    """Refuse settings whose orders are under the market's minimum value at the price now."""
    if not rules.min_notional:
        return
    for field, size in _smallest_orders(settings):
        if size * price < rules.min_notional:
            least = (rules.min_notional / price / rules.lot).to_integral_value(
                ROUND_CEILING) * rules.lot
            raise IpcError("bad_args", f"strategy.params.{field}: an order of {size} is worth "
                           f"{(size * price).normalize()} at {price}, under the market's minimum "
                           f"of {rules.min_notional}; use at least {least.normalize()}")


def _smallest_orders(settings: PairSettings) -> list[tuple[str, Decimal]]:
    """Return each size field of the strategy and the smallest order it makes."""
    params = settings.strategy.params
    sizes: list[tuple[str, Decimal]] = []
    for field, levels in (("order_size", 1), ("bid_size", "bid_levels"),
                          ("ask_size", "ask_levels")):
        size = getattr(params, field, None)
        if isinstance(size, Decimal):
            count = levels if isinstance(levels, int) else getattr(params, levels)
            sizes.append((field, size / max(1, math.floor(count))))
    return sizes
