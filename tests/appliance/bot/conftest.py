"""Workers against the real simulator: an account, a ccxt client, and helpers to drive them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from appliance.bot.worker import SymbolWorker
from appliance.exchanges.venue import point_at_simulator
from appliance.exchanges.weight import WeightMixin
from appliance.ledger import open_orders_from_events
from appliance.market.rules import MarketRules
from appliance.orders.live import ClientIds
from appliance.orders.manager import OrderManager
from appliance.orders.venue import CcxtVenue
from appliance.pacing.token_bucket import TokenBucket
from appliance.recorder.journal import InputJournal
from appliance.recorder.recording import RecordingVenue, SymbolRecorder
from appliance.risk.bot import BotGuard
from appliance.risk.const import SymbolState
from appliance.risk.limits import RiskLimits
from appliance.store.appliance_db import Pair
from appliance.store.events import KIND_OF, EventKind, EventLog, OrderFilled, OrderSent
from provisioning.const import RISK_LIMITS, SPREAD_PARAMS
from provisioning.sim_accounts import open_account
from tests.conftest import RunningSimulator

PAIR = Pair("bot-1", "sim", "MTS/USDT", "spread", SPREAD_PARAMS)
LIMITS = RiskLimits.model_validate(RISK_LIMITS)
BALANCES = {"MTS": "10000", "USDT": "20000"}
Body = TypeVar("Body")


class GovernedBinance(WeightMixin, ccxt_async.binance):  # type: ignore[misc]
    """ccxt async binance kept within the exchange's request weight, as the box's clients are."""


class GovernedBinancePro(WeightMixin, ccxt_pro.binance):  # type: ignore[misc]
    """ccxt.pro binance kept within the exchange's request weight, as the box's clients are."""


ClientFactory = Callable[[dict[str, str]], Awaitable[Any]]


@pytest.fixture
async def make_client(simulator: RunningSimulator) -> AsyncIterator[ClientFactory]:
    """Open account bot-1 with the given balances and return a ccxt async client for it."""
    async for make in clients_of(simulator, GovernedBinance):
        yield make


@pytest.fixture
async def pro_client(simulator: RunningSimulator) -> AsyncIterator[Any]:
    """A ccxt.pro client, which streams, for an account with plenty of both assets."""
    async for make in clients_of(simulator, GovernedBinancePro):
        yield await make(BALANCES)


async def clients_of(simulator: RunningSimulator, kind: type) -> AsyncIterator[ClientFactory]:
    """Yield a factory of `kind` clients for account bot-1; close them all afterwards."""
    clients: list[Any] = []

    async def make(balances: dict[str, str]) -> Any:
        credential = open_account(simulator.url, "bot-1", balances)
        exchange = kind({"apiKey": credential.api_key, "secret": credential.secret})
        point_at_simulator(exchange, simulator.url)
        await exchange.load_markets()
        clients.append(exchange)
        return exchange

    yield make
    for exchange in clients:
        await exchange.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> Any:
    """A ccxt client for an account with plenty of both assets."""
    return await make_client(BALANCES)


def worker_for(client: Any, log: EventLog, pair: Pair = PAIR, limits: RiskLimits = LIMITS,
               journal: InputJournal | None = None) -> SymbolWorker:
    """Return a worker restored from `log`, as a bot builds one at start."""
    rules = MarketRules.from_ccxt(client.market(pair.symbol))
    ids = ClientIds("bot-1", log.count(EventKind.ORDER))
    venue = CcxtVenue(client, pair.symbol, TokenBucket(10, 5.0, time.time()))
    guard = BotGuard(limits, [pair.symbol]).guard(pair.symbol)
    recorder = None if journal is None else SymbolRecorder(journal, pair.symbol)
    orders = OrderManager(pair.symbol, venue if recorder is None
                          else RecordingVenue(venue, recorder), log, rules, ids)
    worker = SymbolWorker(pair, orders, log, rules, guard, recorder)
    worker.restore(time.time())
    return worker


def venue_of(worker: SymbolWorker) -> CcxtVenue:
    """Return the live venue of a worker, under its recorder if it has one."""
    venue = worker.orders.venue
    inner = venue.inner if isinstance(venue, RecordingVenue) else venue
    assert isinstance(inner, CcxtVenue)
    return inner


async def active(client: Any, log: EventLog, **kwargs: Any) -> SymbolWorker:
    """Return a worker the operator has activated."""
    worker = worker_for(client, log, **kwargs)
    assert await worker.operate("activate", time.time()) is SymbolState.ACTIVE
    return worker


async def cycle_until(worker: SymbolWorker, done: Callable[[], bool], what: str) -> None:
    """Cycle the worker, as its bot would, until `done()`; fail saying `what` never happened."""
    for _ in range(120):
        try:
            await worker.cycle(time.time())
        except ccxt_async.OperationFailed:
            await worker.check_stale(time.time())
        if done():
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"within 120 cycles: {what}")


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def resting(simulator: RunningSimulator) -> list[dict[str, Any]]:
    """Return bot-1's open orders as the simulator holds them."""
    with DIRECT.open(f"{simulator.url}/sim/open-orders?account=bot-1", timeout=5) as response:
        return list(json.load(response))


def post(url: str, body: dict[str, Any]) -> Any:
    """POST JSON to one of the simulator's admin endpoints and return its answer."""
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with DIRECT.open(request, timeout=5) as response:
        return json.load(response)


def bodies(log: EventLog, body: type[Body]) -> list[Body]:
    """Return the bodies of the log's events of one type, oldest first."""
    return [e.body for e in log.events(kinds=(KIND_OF[body],)) if isinstance(e.body, body)]


async def assert_books_equal_the_exchanges(
    client: Any, log: EventLog, simulator: RunningSimulator
) -> None:
    """Fail unless the log's open orders and fills are the exchange's, each order sent once."""
    sent = [order.client_id for order in bodies(log, OrderSent)]
    assert len(sent) == len(set(sent))
    on_exchange = [o["clientOrderId"] for o in await client.fetch_orders(PAIR.symbol, limit=1000)]
    assert len(on_exchange) == len(set(on_exchange)), "an order was sent twice"
    assert ({o.client_id for o in open_orders_from_events(log.events())}
            == {o["clientOrderId"] for o in resting(simulator)})
    trades = await client.fetch_my_trades(PAIR.symbol, limit=1000)
    assert ({fill.trade_id for fill in bodies(log, OrderFilled)}
            == {str(t["id"]) for t in trades})
