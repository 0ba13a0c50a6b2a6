"""A bot process: its workers, its exchange clients, and its line to the supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt_async
import sqlite_utils
from pydantic import ValidationError

from appliance.bot.account_feed import AccountFeed, streams_account
from appliance.bot.account_view import balances_of, symbol_view
from appliance.bot.feed import MarketFeed, streams_market
from appliance.bot.worker import OperatorRefused, SymbolWorker
from appliance.config.pair import SettingsError, pair_settings, problems, settings_of
from appliance.datadir import DataDir
from appliance.exchanges.adapter import connect
from appliance.exchanges.api_log import ApiLog
from appliance.ipc import IpcError, Peer, serve_stream
from appliance.market.rules import MarketRules
from appliance.orders.live import ClientIds
from appliance.orders.manager import OrderManager
from appliance.orders.venue import CcxtVenue
from appliance.pacing.token_bucket import TokenBucket
from appliance.recorder.journal import InputJournal
from appliance.recorder.limits import RecorderConfigError, recorder_limits
from appliance.recorder.recording import RecordingVenue, SymbolRecorder
from appliance.risk.bot import BotGuard
from appliance.risk.const import SymbolState
from appliance.risk.exposure import ZERO
from appliance.risk.guard import SymbolGuard
from appliance.risk.limits import RiskLimits
from appliance.store import appliance_db
from appliance.store.appliance_db import Exchange, ExchangeKey, Pair
from appliance.store.database import StoreUnavailable, read_from
from appliance.store.events import (
    BotStateChanged,
    BotStatus,
    EventKind,
    EventLog,
    SymbolStateChanged,
)
from appliance.strategies.registry import StrategyConfigError
from hsm.client import SignerClient

log = logging.getLogger(__name__)

CYCLE_SECONDS = 1.0
"""How often a worker settles its orders and brings its quotes in line with the market."""
ORDER_BURST = 10
ORDERS_PER_SECOND = 5.0
"""The rate budget for order requests on one exchange account, well inside Binance's."""
SIGN_TIMEOUT_S = 0.5
"""Signing blocks the bot's event loop (ccxt's sign() is synchronous); a signature takes
about 0.3 ms, so a signer silent this long is in trouble and the request is tried later."""


@dataclass(frozen=True)
class Feeds:
    """The streams feeding one worker; None where the exchange has no such stream."""

    market: MarketFeed | None
    account: AccountFeed | None


@contextlib.asynccontextmanager
async def streaming(
    worker: SymbolWorker, client: Any, venue: CcxtVenue
) -> AsyncIterator[Feeds]:
    """Feed the worker's market and account from the exchange's streams while the block runs.

    `venue` is the worker's live venue: its account stream is the one started here.
    """
    market = account = None
    if streams_market(client):
        market = MarketFeed(client, worker.symbol, worker.on_book, worker.on_trades)
        worker.streamed = True
    if streams_account(client):
        account = venue.account = AccountFeed(client, worker.symbol)
    tasks = [asyncio.create_task(feed.run()) for feed in (market, account) if feed is not None]
    try:
        yield Feeds(market, account)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class BotConfigError(Exception):
    """The bot's configuration cannot be traded; the message says what to fix."""


class NoKey(BotConfigError):
    """The bot has no key for a pair's exchange; the message says where to add one."""


class PairRefused(Exception):
    """The box may not trade a pair: it is not a market of the licensed asset."""


@dataclass(frozen=True)
class BotConfig:
    """What appliance.db holds for one bot: the box's settings, exchanges, its keys and pairs."""

    settings: dict[str, str]
    exchanges: dict[str, Exchange]
    keys: dict[str, ExchangeKey]
    """The bot's keys, by exchange."""
    pairs: list[Pair]
    risk: dict[str, Any]

    @property
    def asset(self) -> str:
        """Return the asset the box is licensed for."""
        return self.settings.get("asset", "")

    def pair(self, exchange: str, symbol: str) -> Pair | None:
        """Return the bot's pair of `symbol` on `exchange`, or None if it has none."""
        return next((p for p in self.pairs if (p.exchange, p.symbol) == (exchange, symbol)),
                    None)


def read_config(db: sqlite_utils.Database, bot: str) -> BotConfig:
    """Return what appliance.db holds for `bot`."""
    return BotConfig(appliance_db.settings(db), appliance_db.exchanges(db),
                     {k.exchange: k for k in appliance_db.exchange_keys(db, bot)},
                     appliance_db.pairs(db, bot), appliance_db.bot_risk(db, bot))


@dataclass(frozen=True)
class Shared:
    """What every worker of the bot shares, made once at start."""

    guards: BotGuard
    journal: InputJournal
    signer: SignerClient
    ids: ClientIds


@dataclass(frozen=True)
class Cycling:
    """A worker's cycles running as their own task, and the event that ends them."""

    task: asyncio.Task[None]
    stop: asyncio.Event


class BotRuntime:
    """Run one worker per pair, as pairs are added and removed, until told to stop."""

    def __init__(self, data: DataDir, name: str) -> None:
        self.data = data
        self.name = name
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._ready = asyncio.Event()
        self._clients: dict[str, Any] = {}
        self._budgets: dict[str, TokenBucket] = {}
        self._events = EventLog(data.events_db(name))
        self._workers: dict[str, SymbolWorker] = {}
        self._cycling: dict[str, Cycling] = {}
        self._venues: dict[str, CcxtVenue] = {}
        self._shared: Shared | None = None
        self._control: asyncio.Task[None] | None = None
        self._changing = asyncio.Lock()
        """Held while a pair is added or removed: stopping waits for the change to end."""

    async def run(self, control: socket.socket | None) -> None:
        """Start, quote until asked to stop, cancel every order, return."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        if control is not None:
            reader, writer = await asyncio.open_unix_connection(sock=control)
            self._control = asyncio.create_task(serve_stream(reader, writer, self._answer))
        try:
            self._events.append("", BotStateChanged(BotStatus.RUNNING))
            await self._start()
            self._ready.set()
            for worker in self._workers.values():
                self._launch(worker)
            await self._stop.wait()
        finally:
            await self._shutdown()

    async def _answer(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer the supervisor: heartbeats, operator actions, settings, pairs, stopping."""
        if op == "ping":
            if not self._ready.is_set():
                raise IpcError("starting", f"{self.name} is still loading markets and reconciling")
            self._take_others(args.get("others"))
            return {"bot": self.name, "workers": len(self._workers),
                    "resting": {w.market: w.resting() for w in self._workers.values()}}
        if op == "shutdown":
            self._stop.set()
            await self._stopped.wait()
            return {"bot": self.name, "stopped": True}
        if op == "symbol_action":
            return await self._symbol_action(
                str(args.get("symbol")), str(args.get("action")),
                str(args.get("actor") or ""), str(args.get("fingerprint") or ""))
        if op == "configure":
            return await self._configure(str(args.get("symbol")), args.get("settings"))
        if op == "configure_risk":
            return self._configure_risk(args.get("risk"))
        if op == "add_pair":
            return await self._add_pair(str(args.get("exchange")), str(args.get("symbol")))
        if op == "remove_pair":
            return await self._remove_pair(str(args.get("symbol")))
        if op == "account":
            return await self._account()
        raise IpcError("unknown_op", f"bots answer ping, shutdown, symbol_action, configure, "
                                     f"configure_risk, add_pair, remove_pair and account, "
                                     f"not '{op}'")

    async def _account(self) -> dict[str, Any]:
        """Return each exchange account as the exchange reports it, beside this bot's view."""
        if not self._ready.is_set():
            raise IpcError("starting", f"{self.name} is still starting; try again")
        accounts = []
        for exchange, client in self._clients.items():
            try:
                balances = await balances_of(client)
                symbols = [await symbol_view(client, worker, self._events)
                           for worker in self._workers.values()
                           if worker.pair.exchange == exchange]
            except ccxt_async.BaseError as exc:
                raise IpcError("exchange_unavailable", f"{exchange} did not answer "
                               f"({type(exc).__name__}: {str(exc)[:200]}); try again") from None
            accounts.append({"exchange": exchange, "balances": balances, "symbols": symbols})
        return {"bot": self.name, "read_at": time.time(), "accounts": accounts}

    def _take_others(self, others: Any) -> None:
        """Keep the other bots' resting orders on each market, for self-trade checks."""
        if not isinstance(others, dict):
            return
        now = time.time()
        for worker in self._workers.values():
            worker.take_others(
                [(str(side), int(price)) for side, price in others.get(worker.market, [])], now)

    def _worker(self, symbol: str) -> SymbolWorker:
        """Return the worker of one of this bot's symbols, or refuse with unknown_symbol."""
        worker = self._workers.get(symbol)
        if worker is None:
            raise IpcError("unknown_symbol", f"{self.name} does not trade '{symbol}'")
        return worker

    async def _symbol_action(self, symbol: str, action: str, actor: str,
                             fingerprint: str) -> dict[str, Any]:
        """Carry out the action `actor` asked for on one of this bot's symbols.

        Activating a symbol whose worker failed starts its cycles again.
        """
        worker = self._worker(symbol)
        try:
            state = await worker.operate(action, time.time(), actor=actor,
                                         fingerprint=fingerprint)
        except OperatorRefused as exc:
            raise IpcError("refused", str(exc)) from None
        cycling = self._cycling.get(symbol)
        if (state is SymbolState.ACTIVE and self._ready.is_set() and not self._stop.is_set()
                and (cycling is None or cycling.task.done())):
            self._launch(worker)
        return {"symbol": symbol, "state": state.name}

    async def _configure(self, symbol: str, raw: Any) -> dict[str, Any]:
        """Give one symbol's worker new settings; it quotes by them from its next cycle."""
        worker = self._worker(symbol)
        try:
            settings = pair_settings(raw)
        except SettingsError as exc:
            raise IpcError("bad_args", str(exc)) from None
        await worker.configure(settings, time.time())
        log.info("%s: took new settings (%s)", symbol, settings.strategy.kind)
        return {"symbol": symbol, "strategy": settings.strategy.kind}

    def _configure_risk(self, raw: Any) -> dict[str, Any]:
        """Hold every symbol to new risk limits from its next order on."""
        if self._shared is None:
            raise IpcError("starting", f"{self.name} is still starting; try again")
        try:
            limits = RiskLimits.model_validate(raw)
        except ValidationError as exc:
            raise IpcError("bad_args", problems(exc)) from None
        self._shared.guards.set_limits(limits)  # the limits the guards of pairs added later get
        for worker in self._workers.values():
            worker.guard.set_limits(limits)
        log.info("took new risk limits")
        return {"bot": self.name}

    async def _add_pair(self, exchange: str, symbol: str) -> dict[str, Any]:
        """Start quoting a pair the owner added, beside the others, without a restart.

        Its worker starts as at the bot's start: PAUSED, its orders reconciled.
        """
        if not self._ready.is_set():
            raise IpcError("starting", f"{self.name} is still starting; try again")
        async with self._changing:
            if self._stop.is_set():
                raise IpcError("stopping", f"{self.name} is stopping; it starts the pair when "
                               "it starts again")
            if symbol in self._workers:
                raise IpcError("exists", f"{self.name} already quotes {symbol}")
            try:
                config = read_from(self.data.appliance_db, lambda db: read_config(db, self.name))
            except StoreUnavailable as exc:
                raise IpcError("store_unavailable", str(exc)) from None
            pair = config.pair(exchange, symbol)
            if pair is None:
                raise IpcError("unknown_pair", f"{self.name} has no pair {symbol} on "
                               f"'{exchange}' in appliance.db; add the pair first")
            try:
                worker = await self._open_pair(pair, config)
            except PairRefused as exc:
                self._refuse(symbol, str(exc))
                raise IpcError("asset_locked", str(exc)) from None
            except NoKey as exc:
                raise IpcError("no_key", str(exc)) from None
            except BotConfigError as exc:
                raise IpcError("bad_settings", str(exc)) from None
            except ccxt_async.BaseError as exc:
                log.warning("%s: could not start: %s", symbol, type(exc).__name__)
                raise IpcError("exchange_unavailable", f"'{exchange}' failed while {symbol} "
                               f"started ({type(exc).__name__}); try again") from None
            self._launch(worker)
        log.info("%s: added on %s", symbol, exchange)
        return {"symbol": symbol, "state": worker.guard.state.name}

    async def _remove_pair(self, symbol: str) -> dict[str, Any]:
        """Stop quoting one pair: end its cycles and streams, cancel its orders, then forget it.

        The other workers go on undisturbed. When its orders cannot be cancelled the pair is
        kept, quoting as before, and the answer says to try again.
        """
        if not self._ready.is_set():
            raise IpcError("starting", f"{self.name} is still starting; try again")
        async with self._changing:
            worker = self._worker(symbol)
            was_cycling = await self._end_cycles(symbol)
            try:
                cancelled = await worker.cancel_all(time.time())
            except Exception as exc:
                log.exception("%s: could not cancel open orders; keeping the pair", symbol)
                if was_cycling:
                    self._launch(worker)
                raise IpcError("not_cancelled", f"{symbol}'s orders could not be cancelled "
                               f"({type(exc).__name__}); the pair is kept, try again") from None
            finally:
                self._flush()
            del self._workers[symbol], self._venues[symbol]
            if self._shared is not None:  # as after a restart: a pair gone adds no exposure
                self._shared.guards.exposure.set(symbol, ZERO)
        log.info("%s: removed after cancelling its %d open orders", symbol, cancelled)
        return {"symbol": symbol, "cancelled": cancelled}

    async def _start(self) -> None:
        """Read the bot's configuration and make a worker of each pair the box may trade."""
        config = read_from(self.data.appliance_db, lambda db: read_config(db, self.name))
        try:
            # Each pair's guard is made with its worker, as pairs come and go.
            guards = BotGuard(RiskLimits.model_validate(config.risk), ())
        except ValidationError as exc:
            raise BotConfigError(f"{self.name}'s risk limits are not valid; set them in the "
                                 f"panel: {exc}") from None
        try:
            journal = InputJournal(self.data.inputs_dir(self.name),
                                   recorder_limits(config.settings))
        except RecorderConfigError as exc:
            raise BotConfigError(str(exc)) from None
        self._shared = Shared(guards, journal, SignerClient(self.data.signer_sock, SIGN_TIMEOUT_S),
                              ClientIds(self.name, self._events.count(EventKind.ORDER)))
        if not config.pairs:
            log.info("%s has no pairs yet; it waits for one to be added in the panel", self.name)
        for pair in config.pairs:
            try:
                await self._open_pair(pair, config)
            except PairRefused as exc:
                self._refuse(pair.symbol, str(exc))

    async def _open_pair(self, pair: Pair, config: BotConfig) -> SymbolWorker:
        """Make `pair`'s worker, settle and cancel what rests of it, and keep it (not cycling).

        Raise PairRefused for a market of another asset, NoKey when the bot has no key for its
        exchange, BotConfigError for settings it cannot quote by.
        """
        shared = self._shared
        assert shared is not None, "the bot made what its workers share at start"
        client = await self._client(pair.exchange, config)
        try:
            rules = MarketRules.from_ccxt(client.market(pair.symbol))
        except ccxt_async.BadSymbol:
            raise BotConfigError(f"exchange '{pair.exchange}' has no market {pair.symbol}; "
                                 "remove the pair") from None
        if rules.base != config.asset:
            raise PairRefused(f"{pair.symbol} is not a market of {config.asset}, the asset this "
                              "box is licensed for; remove the pair")
        try:
            chosen = settings_of(pair)
        except SettingsError as exc:
            raise BotConfigError(f"{pair.symbol}'s settings are not valid; set them in the "
                                 f"panel: {exc}") from None
        venue = CcxtVenue(client, pair.symbol, self._budgets[pair.exchange])
        recorder = SymbolRecorder(shared.journal, pair.symbol)
        orders = OrderManager(pair.symbol, RecordingVenue(venue, recorder), self._events,
                              rules, shared.ids, tolerance=chosen.tolerance,
                              integrity=chosen.integrity)
        guards = shared.guards
        guard = SymbolGuard(pair.symbol, guards.limits, guards.exposure)
        try:
            worker = SymbolWorker(pair, orders, self._events, rules, guard, recorder)
        except StrategyConfigError as exc:
            raise BotConfigError(f"{pair.symbol}: {exc}") from None
        worker.restore(time.time())
        await worker.reconcile(time.time())
        shared.journal.flush()
        self._venues[pair.symbol] = venue
        self._workers[pair.symbol] = worker
        return worker

    async def _client(self, exchange: str, config: BotConfig) -> Any:
        """Return the bot's client of `exchange`, connected and its markets loaded."""
        key = config.keys.get(exchange)
        if key is None:
            raise NoKey(f"{self.name} has no key for exchange '{exchange}'; add the account "
                        "in the panel")
        client = self._clients.get(exchange)
        if client is not None:
            return client
        assert self._shared is not None, "the bot made its signer at start"
        signer = self._shared.signer
        passphrase = None
        if key.passphrase is not None:
            # Read once, on the loop as signing is (the client shares one connection), and
            # kept only in the ccxt client, which sends it with every request.
            passphrase = signer.read_credential(key.passphrase).decode()
        client = connect(config.exchanges[exchange], key, signer, passphrase=passphrase,
                         api_log=ApiLog(self.data.api_log(self.name)))
        try:
            await client.load_markets()
        except BaseException:
            await client.close()
            raise
        self._clients[exchange] = client
        self._budgets[exchange] = TokenBucket(ORDER_BURST, ORDERS_PER_SECOND, time.monotonic())
        return client

    def _refuse(self, symbol: str, reason: str) -> None:
        """Trade no order on a pair the box may not trade, and say why on its line."""
        log.error("%s: refused: %s", symbol, reason)
        self._events.append(symbol, SymbolStateChanged(SymbolState.HALTED, reason))

    def _launch(self, worker: SymbolWorker) -> None:
        """Run the worker's cycles as a task of their own, beside the other workers'."""
        stop = asyncio.Event()
        task = asyncio.create_task(self._quote(worker, stop), name=f"{self.name} {worker.symbol}")
        self._cycling[worker.symbol] = Cycling(task, stop)

    async def _end_cycles(self, symbol: str) -> bool:
        """End one worker's cycles after the one under way; return whether they were running."""
        cycling = self._cycling.pop(symbol, None)
        if cycling is None:
            return False
        running = not cycling.task.done()
        cycling.stop.set()
        await asyncio.wait([cycling.task])
        return running

    async def _quote(self, worker: SymbolWorker, stop: asyncio.Event) -> None:
        """Run one worker until `stop`, fed by streams where the exchange has them.

        An error other than the network's pauses its symbol only, and cancels its orders.
        """
        client = self._clients[worker.pair.exchange]
        try:
            async with streaming(worker, client, self._venues[worker.symbol]):
                await self._cycle(worker, stop)
        except Exception as exc:
            log.exception("%s: worker failed; pausing the symbol", worker.symbol)
            worker.guard.pause()
            self._events.append(worker.symbol, SymbolStateChanged(
                SymbolState.PAUSED, f"{type(exc).__name__}: {exc}"[:300]))
            await self._cancel(worker)

    async def _cycle(self, worker: SymbolWorker, stop: asyncio.Event) -> None:
        """Run one worker's cycles until `stop`, trying again through network trouble."""
        while not stop.is_set():
            try:
                await worker.cycle(time.time())
            except ccxt_async.OperationFailed as exc:
                log.warning("%s: network trouble, trying again: %s", worker.symbol, exc)
                await worker.check_stale(time.time())
            finally:
                self._flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CYCLE_SECONDS)

    def _flush(self) -> None:
        if self._shared is not None:
            self._shared.journal.flush()

    async def _cancel(self, worker: SymbolWorker) -> None:
        try:
            known = await worker.cancel_all(time.time())
            log.info("%s: cancelled its %d open orders", worker.symbol, known)
        except Exception:
            log.exception("%s: could not cancel open orders", worker.symbol)

    async def _shutdown(self) -> None:
        """End every worker's cycles, cancel their orders, and close the clients and logs."""
        async with self._changing:
            await asyncio.gather(*(self._end_cycles(symbol) for symbol in list(self._cycling)))
            for worker in self._workers.values():
                await self._cancel(worker)
        for client in self._clients.values():
            await client.close()
        self._events.append("", BotStateChanged(BotStatus.STOPPED))
        self._events.close()
        if self._shared is not None:
            self._shared.journal.close()
        self._stopped.set()
