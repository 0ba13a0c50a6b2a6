"""The order manager against the simulator: its counters count what the exchange received.

Property: over random plans, order budgets, refusals held back and orders the exchange rejects,
the counters the gate reads (orders accepted today) equal the orders the simulator holds for the
account, whatever the gate refused or the budget held back.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.compliance.integrity import CancelCause
from appliance.exchanges.venue import point_at_simulator
from appliance.market.monitor import MarketHealth
from appliance.market.rules import MarketRules
from appliance.orders.gate import gate
from appliance.orders.live import ClientIds
from appliance.orders.manager import OrderManager
from appliance.orders.venue import CcxtVenue
from appliance.pacing.token_bucket import TokenBucket
from appliance.risk.const import SymbolState
from appliance.risk.guard import RiskStanding
from appliance.store.events import EventLog
from appliance.vocabulary import Quote, Side
from provisioning.sim_accounts import open_account
from tests.appliance.bot.conftest import LIMITS, PAIR, GovernedBinance, post
from tests.conftest import RunningSimulator

ACCOUNTS = itertools.count(1)
STANDING = RiskStanding(SymbolState.ACTIVE, MarketHealth.OK, Decimal(0), Decimal(0),
                        LIMITS.model_copy(update={"max_orders_per_second": 4}))

quote = st.builds(Quote, st.sampled_from(Side), st.integers(-40, 40), st.integers(1, 60))
cycles = st.lists(st.lists(quote, max_size=5), min_size=1, max_size=4)


async def trade(simulator: RunningSimulator, plans: list[list[Quote]], capacity: int,
                balances: dict[str, str], log: EventLog) -> tuple[int, int]:
    """Run the plans through gate and manager on a new account; return (counted, on exchange)."""
    name = f"prop-{next(ACCOUNTS)}"
    credential = open_account(simulator.url, name, balances)
    client = GovernedBinance({"apiKey": credential.api_key, "secret": credential.secret})
    point_at_simulator(client, simulator.url)
    try:
        await client.load_markets()
        rules = MarketRules.from_ccxt(client.market(PAIR.symbol))
        venue = CcxtVenue(client, PAIR.symbol, TokenBucket(capacity, 0.5, time.time()))
        manager = OrderManager(PAIR.symbol, venue, log, rules, ClientIds(name, 0))
        for desired in plans:
            now = time.time()
            mid = rules.price_ticks(Decimal(str((await venue.book())["bids"][0][0])))
            wanted = [Quote(q.side, mid + q.price_ticks, q.size_lots) for q in desired]
            await manager.settle(now)
            given_now = await manager.gate_input(now, STANDING, [], CancelCause.RISK_TRIP)
            await manager.send(gate(manager.plan(wanted), given_now), now)
        counted = manager.counters.at(time.time()).orders_today
        received = len(await client.fetch_orders(PAIR.symbol, limit=1000))
        return counted, received
    finally:
        await client.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=cycles, capacity=st.integers(1, 4), reject_rate=st.sampled_from([0.0, 0.3]),
       funded=st.booleans())
def test_the_counters_equal_the_orders_the_exchange_received(
    simulator: RunningSimulator, tmp_path_factory: Any, plans: list[list[Quote]],
    capacity: int, reject_rate: float, funded: bool,
) -> None:
    post(f"{simulator.url}/sim/faults", {"order_reject_rate": reject_rate})
    balances = {"MTS": "10000", "USDT": "20000"} if funded else {"MTS": "5", "USDT": "10"}
    log = EventLog(tmp_path_factory.mktemp("events") / "events.db")
    counted, received = asyncio.run(trade(simulator, plans, capacity, balances, log))
    assert counted == received
