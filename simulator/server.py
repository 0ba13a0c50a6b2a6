"""Assemble the simulator: exchange, accounts, outside market, streams and the HTTP server."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from simulator.accounts import AccountStore
from simulator.api import admin, public, streams, trading, user_stream, wallet, ws_api
from simulator.api.keys import (
    ACCOUNTS,
    EXCHANGE,
    FAULTS,
    HUB,
    MARKET,
    ORDER_COUNTS,
    SAPI_WEIGHTS,
    WEIGHTS,
)
from simulator.api.middleware import binance_errors, inject_faults, rate_limits
from simulator.config import RunConfig
from simulator.const import MAX_BODY_BYTES
from simulator.exchange import SpotExchange
from simulator.faults import FaultInjector
from simulator.limits import OrderCounter, WeightLimiter
from simulator.listing import Listing
from simulator.market import BackgroundMarket
from simulator.streams.hub import StreamHub
from simulator.streams.listen_keys import ListenKeys

SHUTDOWN_TIMEOUT_S = 5.0


class NotLoopbackError(ValueError):
    """The simulator was asked to listen on an address other machines could reach."""


def check_loopback(host: str) -> str:
    """Return the loopback address to bind for a host (localhost is 127.0.0.1), or refuse it."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopbackError(
            f"host '{host}' is not a loopback address; the simulator listens only on "
            "127.0.0.1, ::1 or localhost"
        )
    return host


class Simulator:
    """A Binance-compatible spot exchange with its own outside market, served on loopback.

    REST at `http://HOST:PORT/api/v3/...` and `/sapi/v1/...`, market streams at
    `ws://HOST:PORT/ws` and `/stream`, the WebSocket API at `ws://HOST:PORT/ws-api/v3`, admin
    at `/sim/...`.
    """

    def __init__(
        self,
        state_dir: Path,
        listings: Iterable[Listing],
        seed: int,
        config: RunConfig | None = None,
    ) -> None:
        listings = list(listings)
        config = config or RunConfig()
        self.accounts = AccountStore.open(state_dir)
        self.exchange = SpotExchange(listing.instrument for listing in listings)
        for account in self.accounts:
            self.exchange.open_account(account.name, account.starting_units())
        self.market = BackgroundMarket(self.exchange, listings, seed, config.market)
        self.faults = FaultInjector(config.faults, seed)
        self.hub = StreamHub(self.exchange, self.faults, ListenKeys(self.exchange.clock))
        self.app = self._build_app(config)
        self._runner: web.AppRunner | None = None

    def _build_app(self, config: RunConfig) -> web.Application:
        """Return the web application serving Binance's API and the admin endpoints."""
        app = web.Application(
            middlewares=[rate_limits, inject_faults, binance_errors], client_max_size=MAX_BODY_BYTES
        )
        app[EXCHANGE] = self.exchange
        app[ACCOUNTS] = self.accounts
        app[MARKET] = self.market
        app[FAULTS] = self.faults
        app[HUB] = self.hub
        app[WEIGHTS] = WeightLimiter(config.limits, self.exchange.clock)
        app[SAPI_WEIGHTS] = WeightLimiter(config.limits.for_sapi(), self.exchange.clock)
        app[ORDER_COUNTS] = OrderCounter(config.limits, self.exchange.clock)
        for module in (public, trading, wallet, user_stream, streams, ws_api, admin):
            app.add_routes(module.routes)
        return app

    async def start(self, host: str, port: int) -> int:
        """Start serving and trading; return the port listened on (chosen when `port` is 0)."""
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, check_loopback(host), port)
        await site.start()
        self.market.start()
        self.hub.start()
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop the outside market, the streams and the server."""
        self.faults.stop()
        await self.market.stop()
        await self.hub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
