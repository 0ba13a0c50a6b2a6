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
from pydantic import ValidationError

from appliance.bot.account_feed import AccountFeed, streams_account
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
from appliance.risk.limits import RiskLimits
from appliance.store import appliance_db
from appliance.store.database import open_reader
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


class BotRuntime:
    """Run one worker per configured pair until the supervisor or a signal says stop."""

    def __init__(self, data: DataDir, name: str) -> None:
        self.data = data
        self.name = name
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._ready = asyncio.Event()
        self._clients: dict[str, Any] = {}
        self._budgets: dict[str, TokenBucket] = {}
        self._events = EventLog(data.events_db(name))
        self._workers: list[SymbolWorker] = []
        self._venues: dict[str, CcxtVenue] = {}
        self._journal: InputJournal | None = None
        self._control: asyncio.Task[None] | None = None
        self._guards: BotGuard | None = None

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
            if not self._workers:
                await self._stop.wait()  # every pair was refused: wait to be stopped
            await asyncio.gather(*(self._quote(w) for w in self._workers))
        finally:
            await self._shutdown()

    async def _answer(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer the supervisor: heartbeats and the request to stop."""
        if op == "ping":
            if not self._ready.is_set():
                raise IpcError("starting", f"{self.name} is still loading markets and reconciling")
            self._take_others(args.get("others"))
            return {"bot": self.name, "workers": len(self._workers),
                    "resting": {w.market: w.resting() for w in self._workers}}
        if op == "shutdown":
            self._stop.set()
            await self._stopped.wait()
            return {"bot": self.name, "stopped": True}
        if op == "symbol_action":
            return await self._symbol_action(str(args.get("symbol")), str(args.get("action")))
        if op == "configure":
            return await self._configure(str(args.get("symbol")), args.get("settings"))
        if op == "configure_risk":
            return self._configure_risk(args.get("risk"))
        raise IpcError("unknown_op", f"bots answer ping, shutdown, symbol_action, configure and "
                                     f"configure_risk, not '{op}'")

    def _take_others(self, others: Any) -> None:
        """Keep the other bots' resting orders on each market, for self-trade checks."""
        if not isinstance(others, dict):
            return
        now = time.time()
        for worker in self._workers:
            worker.take_others(
                [(str(side), int(price)) for side, price in others.get(worker.market, [])], now)

    async def _symbol_action(self, symbol: str, action: str) -> dict[str, Any]:
        """Carry out the operator's action on one of this bot's symbols."""
        worker = next((w for w in self._workers if w.symbol == symbol), None)
        if worker is None:
            raise IpcError("unknown_symbol", f"{self.name} does not trade '{symbol}'")
        try:
            state = await worker.operate(action, time.time())
        except OperatorRefused as exc:
            raise IpcError("refused", str(exc)) from None
        return {"symbol": symbol, "state": state.name}

    async def _configure(self, symbol: str, raw: Any) -> dict[str, Any]:
        """Give one symbol's worker new settings; it quotes by them from its next cycle."""
        worker = next((w for w in self._workers if w.symbol == symbol), None)
        if worker is None:
            raise IpcError("unknown_symbol", f"{self.name} does not trade '{symbol}'")
        try:
            settings = pair_settings(raw)
        except SettingsError as exc:
            raise IpcError("bad_args", str(exc)) from None
        await worker.configure(settings, time.time())
        log.info("%s: took new settings (%s)", symbol, settings.strategy.kind)
        return {"symbol": symbol, "strategy": settings.strategy.kind}

    def _configure_risk(self, raw: Any) -> dict[str, Any]:
        """Hold every symbol to new risk limits from its next order on."""
        if self._guards is None:
            raise IpcError("starting", f"{self.name} is still starting; try again")
        try:
            limits = RiskLimits.model_validate(raw)
        except ValidationError as exc:
            raise IpcError("bad_args", problems(exc)) from None
        self._guards.set_limits(limits)
        log.info("took new risk limits")
        return {"bot": self.name}

    async def _start(self) -> None:
        db = open_reader(self.data.appliance_db)
        try:
            settings = appliance_db.settings(db)
            asset = settings.get("asset", "")
            exchanges = appliance_db.exchanges(db)
            keys = {k.exchange: k for k in appliance_db.exchange_keys(db, self.name)}
            pairs = appliance_db.pairs(db, self.name)
            risk = appliance_db.bot_risk(db, self.name)
        finally:
            db.close()
        if not pairs:
            raise BotConfigError(f"{self.name} has no pairs; add one in the panel")
        try:
            guards = self._guards = BotGuard(RiskLimits.model_validate(risk),
                                             [pair.symbol for pair in pairs])
        except ValidationError as exc:
            raise BotConfigError(f"{self.name}'s risk limits are not valid; set them in the "
                                 f"panel: {exc}") from None
        try:
            journal = self._journal = InputJournal(self.data.inputs_dir(self.name),
                                                   recorder_limits(settings))
        except RecorderConfigError as exc:
            raise BotConfigError(str(exc)) from None
        signer = SignerClient(self.data.signer_sock, SIGN_TIMEOUT_S)
        sent = self._events.count(EventKind.ORDER)
        ids = ClientIds(self.name, sent)
        for pair in pairs:
            if pair.exchange not in keys:
                raise BotConfigError(f"{self.name} has no key for exchange '{pair.exchange}'")
            client = self._clients.get(pair.exchange)
            if client is None:
                client = connect(exchanges[pair.exchange], keys[pair.exchange], signer,
                                 api_log=ApiLog(self.data.api_log(self.name)))
                self._clients[pair.exchange] = client
                self._budgets[pair.exchange] = TokenBucket(
                    ORDER_BURST, ORDERS_PER_SECOND, time.monotonic())
                await client.load_markets()
            rules = MarketRules.from_ccxt(client.market(pair.symbol))
            if rules.base != asset:
                self._refuse(pair.symbol, f"{pair.symbol} is not a market of {asset}, the asset "
                             "this box is licensed for; remove the pair")
                continue
            try:
                chosen = settings_of(pair)
            except SettingsError as exc:
                raise BotConfigError(f"{pair.symbol}'s settings are not valid; set them in the "
                                     f"panel: {exc}") from None
            venue = CcxtVenue(client, pair.symbol, self._budgets[pair.exchange])
            recorder = SymbolRecorder(journal, pair.symbol)
            orders = OrderManager(pair.symbol, RecordingVenue(venue, recorder), self._events,
                                  rules, ids, tolerance=chosen.tolerance,
                                  integrity=chosen.integrity)
            try:
                worker = SymbolWorker(pair, orders, self._events, rules,
                                      guards.guard(pair.symbol), recorder)
            except StrategyConfigError as exc:
                raise BotConfigError(f"{pair.symbol}: {exc}") from None
            worker.restore(time.time())
            await worker.reconcile(time.time())
            journal.flush()
            self._venues[pair.symbol] = venue
            self._workers.append(worker)

    def _refuse(self, symbol: str, reason: str) -> None:
        """Trade no order on a pair the box may not trade, and say why on its line."""
        log.error("%s: refused: %s", symbol, reason)
        self._events.append(symbol, SymbolStateChanged(SymbolState.HALTED, reason))

    async def _quote(self, worker: SymbolWorker) -> None:
        """Run one worker, its market and account fed by streams where the exchange has them."""
        client = self._clients[worker.pair.exchange]
        async with streaming(worker, client, self._venues[worker.symbol]):
            await self._cycle(worker)

    async def _cycle(self, worker: SymbolWorker) -> None:
        """Run one worker's cycles; an error other than the network's pauses its symbol only."""
        while not self._stop.is_set():
            try:
                await worker.cycle(time.time())
            except ccxt_async.OperationFailed as exc:
                log.warning("%s: network trouble, trying again: %s", worker.symbol, exc)
                await worker.check_stale(time.time())
            except Exception as exc:
                log.exception("%s: worker failed; pausing the symbol", worker.symbol)
                worker.guard.pause()
                self._events.append(worker.symbol, SymbolStateChanged(
                    SymbolState.PAUSED, f"{type(exc).__name__}: {exc}"[:300]))
                await self._cancel(worker)
                return
            finally:
                if self._journal is not None:
                    self._journal.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), CYCLE_SECONDS)

    async def _cancel(self, worker: SymbolWorker) -> None:
        try:
            known = await worker.cancel_all(time.time())
            log.info("%s: cancelled its %d open orders", worker.symbol, known)
        except Exception:
            log.exception("%s: could not cancel open orders", worker.symbol)

    async def _shutdown(self) -> None:
        for worker in self._workers:
            await self._cancel(worker)
        for client in self._clients.values():
            await client.close()
        self._events.append("", BotStateChanged(BotStatus.STOPPED))
        self._events.close()
        if self._journal is not None:
            self._journal.close()
        self._stopped.set()
