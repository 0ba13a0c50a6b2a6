"""The stream server's switchboard: who listens to which stream, and what reaches them.

It hears the exchange's events (order changes, balances, trades), ticks the market feeds
every 100 ms, and once a second rolls the websocket faults and expires listen keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulator.exchange import SpotExchange
from simulator.faults import FaultInjector, FaultKind
from simulator.reports import (
    AccountPosition,
    ExchangeEvent,
    ExecutionReport,
    TapeTrade,
)
from simulator.streams import payloads
from simulator.streams.connection import StreamConnection
from simulator.streams.feed import MarketFeed
from simulator.streams.listen_keys import ListenKeys

log = logging.getLogger(__name__)

STREAM_NAME = re.compile(
    r"(?P<symbol>[a-z0-9]{1,20})@(?P<kind>depth(?:5|10|20)?(?:@(?:100|1000)ms)?"
    r"|trade|aggTrade|bookTicker|ticker|miniTicker)"
)
MAX_STREAMS_PER_CONNECTION = 1024
TICK_S = 0.1
TICKS_PER_SECOND = 10


class StreamRequestError(Exception):
    """A stream control request the server refuses, with Binance's stream error code."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass(eq=False)
class UserSink:
    """A place an account's user data events go: a connection, framed for how it subscribed."""

    connection: StreamConnection
    account: str
    frame: Callable[[str], str]
    listen_key: str | None = None
    subscription_id: int | None = None


def compact(payload: Any) -> str:
    """Return JSON as Binance sends it: no spaces."""
    return json.dumps(payload, separators=(",", ":"))


class StreamHub:
    """Every websocket connection, its subscriptions, and the feeds that fill them."""

    def __init__(
        self, exchange: SpotExchange, faults: FaultInjector, listen_keys: ListenKeys
    ) -> None:
        self.exchange = exchange
        self.faults = faults
        self.listen_keys = listen_keys
        self._connections: dict[int, StreamConnection] = {}
        self._subscribers: dict[str, set[StreamConnection]] = {}
        self._sinks: list[UserSink] = []
        self._numbers = itertools.count(1)
        self._feeds = {
            symbol: MarketFeed(exchange, instrument, self, faults)
            for symbol, instrument in exchange.instruments.items()
        }
        self._prefixes = {feed.prefix for feed in self._feeds.values()}
        self._tasks: list[asyncio.Task[None]] = []
        exchange.subscribe(self._on_event)

    def connect(
        self, ws: web.WebSocketResponse, request: web.Request, combined: bool
    ) -> StreamConnection:
        """Register a new websocket connection."""
        connection = StreamConnection(next(self._numbers), ws, request, combined)
        self._connections[connection.number] = connection
        return connection

    def disconnect(self, connection: StreamConnection) -> None:
        """Forget a connection and everything it listened to."""
        self._connections.pop(connection.number, None)
        self.unsubscribe(connection, list(connection.streams))
        self.remove_sinks(lambda sink: sink.connection is connection)

    def valid_stream(self, name: str) -> bool:
        """Return whether a stream name names a stream of a listed symbol."""
        match = STREAM_NAME.fullmatch(name)
        return match is not None and match["symbol"] in self._prefixes

    def subscribe(self, connection: StreamConnection, names: Iterable[str]) -> None:
        """Add streams to a connection, or refuse them all if one is not a stream."""
        names = list(names)
        for name in names:
            if not self.valid_stream(name):
                raise StreamRequestError(2, f"Invalid request: unknown stream '{name}'")
        if len(connection.streams | set(names)) > MAX_STREAMS_PER_CONNECTION:
            raise StreamRequestError(
                2,
                "Invalid request: a connection listens to "
                f"{MAX_STREAMS_PER_CONNECTION} streams at most",
            )
        for name in names:
            connection.streams.add(name)
            self._subscribers.setdefault(name, set()).add(connection)

    def unsubscribe(self, connection: StreamConnection, names: Iterable[str]) -> None:
        """Remove streams from a connection."""
        for name in names:
            connection.streams.discard(name)
            listeners = self._subscribers.get(name)
            if listeners is not None:
                listeners.discard(connection)
                if not listeners:
                    del self._subscribers[name]

    def listening(self, stream: str) -> bool:
        """Return whether any connection listens to a stream."""
        return stream in self._subscribers

    def publish(self, stream: str, payload: dict[str, Any], gappable: bool = False) -> None:
        """Send an event to every connection listening to a stream; a gap fault may skip one."""
        listeners = self._subscribers.get(stream)
        if not listeners:
            return
        text = compact(payload)
        for connection in sorted(listeners, key=lambda c: c.number):
            if gappable and self.faults.happens(
                FaultKind.DEPTH_GAP, self.faults.plan.depth_gap_rate
            ):
                continue
            connection.send(connection.frame(stream, text))

    def add_sink(self, sink: UserSink) -> None:
        """Send an account's user data events to a connection from now on."""
        self._sinks.append(sink)

    def remove_sinks(self, chosen: Callable[[UserSink], bool]) -> list[UserSink]:
        """Stop the user data sinks chosen; return them."""
        removed = [sink for sink in self._sinks if chosen(sink)]
        self._sinks = [sink for sink in self._sinks if not chosen(sink)]
        return removed

    def sinks_of(self, connection: StreamConnection) -> list[UserSink]:
        """Return the user data sinks of a connection."""
        return [sink for sink in self._sinks if sink.connection is connection]

    def start(self) -> None:
        """Start ticking the feeds and the websocket faults."""
        self._tasks = [
            asyncio.create_task(self._tick_markets()),
            asyncio.create_task(self._tick_connections()),
        ]

    async def stop(self) -> None:
        """Stop ticking and close every connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await asyncio.gather(*(connection.close() for connection in self._connections.values()))

    def _on_event(self, event: ExchangeEvent) -> None:
        """Route an exchange event to the streams that carry it."""
        if isinstance(event, TapeTrade):
            self._feeds[event.symbol].on_trade(event.trade)
            return
        account = event.order.account if isinstance(event, ExecutionReport) else event.account
        sinks = [sink for sink in self._sinks if sink.account == account]
        if not sinks:
            return
        now = self.exchange.clock()
        if isinstance(event, ExecutionReport):
            instrument = self.exchange.instruments[event.order.symbol]
            payload = payloads.execution_report(event, instrument, now)
        elif isinstance(event, AccountPosition):
            payload = payloads.account_position(event, self.exchange.wallets, now)
        else:
            payload = payloads.balance_update(event, now)
        self._deliver(sinks, compact(payload))

    @staticmethod
    def _deliver(sinks: Iterable[UserSink], text: str) -> None:
        """Send a user data event to its sinks."""
        for sink in sinks:
            sink.connection.send(sink.frame(text))

    async def _tick_markets(self) -> None:
        """Tick every feed every 100 ms; every tenth tick is a one-second tick."""
        for count in itertools.count(1):
            await asyncio.sleep(TICK_S)
            slow = count % TICKS_PER_SECOND == 0
            for feed in self._feeds.values():
                try:
                    feed.tick(slow)
                except Exception:
                    log.exception("market streams of %s failed a tick", feed.instrument.symbol)

    async def _tick_connections(self) -> None:
        """Once a second: drop or silence connections as the faults say; expire listen keys."""
        while True:
            await asyncio.sleep(1.0)
            plan = self.faults.plan
            for number in sorted(self._connections):
                connection = self._connections[number]
                if self.faults.happens(FaultKind.WS_DROP, plan.ws_drop_rate):
                    log.info("dropping websocket client %d (fault)", number)
                    connection.drop()
                elif self.faults.happens(FaultKind.WS_STALE, plan.ws_stale_rate):
                    log.info(
                        "silencing websocket client %d for %ss (fault)", number, plan.ws_stale_s
                    )
                    connection.go_stale(plan.ws_stale_s)
            self._expire_listen_keys()

    def end_listen_key(self, key: str, expired: bool) -> None:
        """Stop the streams of a listen key; tell them when it expired."""
        ended = self.remove_sinks(lambda sink: sink.listen_key == key)
        if expired:
            self._deliver(ended, compact(payloads.listen_key_expired(key, self.exchange.clock())))

    def _expire_listen_keys(self) -> None:
        """Stop the streams of listen keys whose hour has passed."""
        for key in self.listen_keys.expire():
            self.end_listen_key(key, expired=True)
