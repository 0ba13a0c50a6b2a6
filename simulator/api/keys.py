"""What the simulator's web application carries for its handlers."""

from __future__ import annotations

from aiohttp import web

from simulator.accounts import AccountStore
from simulator.exchange import SpotExchange
from simulator.faults import FaultInjector
from simulator.limits import OrderCounter, WeightLimiter
from simulator.market import BackgroundMarket
from simulator.streams.hub import StreamHub

EXCHANGE = web.AppKey("exchange", SpotExchange)
ACCOUNTS = web.AppKey("accounts", AccountStore)
FAULTS = web.AppKey("faults", FaultInjector)
WEIGHTS = web.AppKey("weights", WeightLimiter)
SAPI_WEIGHTS = web.AppKey("sapi_weights", WeightLimiter)
ORDER_COUNTS = web.AppKey("order_counts", OrderCounter)
MARKET = web.AppKey("market", BackgroundMarket)
HUB = web.AppKey("hub", StreamHub)
