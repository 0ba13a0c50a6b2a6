"""Assemble the simulator: exchange, accounts, outside market and the HTTP server on loopback."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from appliance.exchanges.simulator.accounts import AccountStore
from appliance.exchanges.simulator.api import admin, public, trading
from appliance.exchanges.simulator.api.keys import ACCOUNTS, EXCHANGE
from appliance.exchanges.simulator.api.middleware import binance_errors
from appliance.exchanges.simulator.const import MAX_BODY_BYTES
from appliance.exchanges.simulator.exchange import SpotExchange
from appliance.exchanges.simulator.listing import Listing
from appliance.exchanges.simulator.market import BackgroundMarket, MarketProfile


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


def build_app(exchange: SpotExchange, accounts: AccountStore) -> web.Application:
    """Return the web application serving Binance's REST endpoints and the admin endpoints."""
    app = web.Application(middlewares=[binance_errors], client_max_size=MAX_BODY_BYTES)
    app[EXCHANGE] = exchange
    app[ACCOUNTS] = accounts
    app.add_routes(public.routes)
    app.add_routes(trading.routes)
    app.add_routes(admin.routes)
    return app


class Simulator:
    """A Binance-compatible spot exchange with its own outside market, served on loopback."""

    def __init__(
        self,
        state_dir: Path,
        listings: Iterable[Listing],
        seed: int,
        profile: MarketProfile | None = None,
    ) -> None:
        listings = list(listings)
        self.accounts = AccountStore.open(state_dir)
        self.exchange = SpotExchange(listing.instrument for listing in listings)
        for account in self.accounts:
            self.exchange.open_account(account.name, account.starting_units())
        self.market = BackgroundMarket(self.exchange, listings, seed, profile)
        self.app = build_app(self.exchange, self.accounts)
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Start serving and trading; return the port listened on (chosen when `port` is 0)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, check_loopback(host), port)
        await site.start()
        self.market.start()
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop the outside market and the server."""
        await self.market.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
