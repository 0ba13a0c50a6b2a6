"""What the simulator's web application carries for its handlers."""

from __future__ import annotations

from aiohttp import web

from appliance.exchanges.simulator.accounts import AccountStore
from appliance.exchanges.simulator.exchange import SpotExchange

EXCHANGE = web.AppKey("exchange", SpotExchange)
ACCOUNTS = web.AppKey("accounts", AccountStore)
