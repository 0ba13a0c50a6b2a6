"""Benchmark: order messages against cancel-all-and-replace, and market-event-to-intent latency.

Run with `./build.sh bench`. The market path is recorded once per run from the simulator's
own outside market (seeded), then both policies replay the very same path.
"""

from __future__ import annotations

import json
import statistics
import time
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.compliance.integrity import CancelCause
from appliance.compliance.rules import ComplianceRules
from appliance.market.monitor import MarketHealth, MarketMonitor
from appliance.market.rules import MarketRules
from appliance.orders.counters import OrderCounters
from appliance.orders.gate import GateInput, gate
from appliance.orders.live import LiveOrder
from appliance.orders.plan import Tolerance, plan_orders
from appliance.risk.const import SymbolState
from appliance.risk.guard import RiskStanding
from appliance.risk.limits import RiskLimits
from appliance.strategies.spread import SpreadParams, spread_quotes
from appliance.vocabulary import Quote
from simulator.exchange import SpotExchange
from simulator.listing import parse_market
from simulator.market import BackgroundMarket
from tests.conftest import REPO

pytestmark = pytest.mark.bench

EVENTS = 5_000
DEPTH = 20
RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.0001"), Decimal("0.1"), Decimal("5"))
LIMITS = RiskLimits(max_position=Decimal(10_000), max_total_exposure=Decimal(100_000),
                    max_drawdown=Decimal(1000))
PARAMS = SpreadParams(half_spread_bps=10, order_size=Decimal(20), max_inventory=Decimal(2000),
                      skew_bps=20, band_bps=100)
COMPLIANCE = ComplianceRules()

Levels = list[tuple[int, int]]


def record_path(path: Path) -> list[tuple[Levels, Levels]]:
    """Step the simulator's outside market and record its book after every step."""
    listing = parse_market("MTSUSDT=1.25")
    exchange = SpotExchange([listing.instrument])
    (market,) = BackgroundMarket(exchange, [listing], seed=2026).symbols
    book = exchange.book("MTSUSDT")
    recorded = []
    for _ in range(EVENTS):
        market.step()
        recorded.append((book.depth(True, DEPTH), book.depth(False, DEPTH)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recorded))
    return [(levels(bids), levels(asks)) for bids, asks in json.loads(path.read_text())]


def levels(raw: list[list[int]]) -> Levels:
    """Return recorded levels as (price_ticks, lots) pairs."""
    return [(int(price), int(lots)) for price, lots in raw]


def as_live(quotes: list[Quote], start: int) -> list[LiveOrder]:
    return [LiveOrder(f"c{start + i}", q.side, q.price_ticks, q.size_lots, f"o{start + i}")
            for i, q in enumerate(quotes)]


def gate_input(now: float, live: list[LiveOrder], counters: OrderCounters) -> GateInput:
    """Return what the gate weighs for an ACTIVE symbol on a healthy market, as a worker does."""
    risk = RiskStanding(SymbolState.ACTIVE, MarketHealth.OK, Decimal(0), Decimal(0), LIMITS)
    return GateInput(now, risk, counters.at(now), COMPLIANCE, RULES, tuple(live), (),
                     (), 10, CancelCause.REPLACE)


def test_order_manager_messages_and_event_to_intent_latency() -> None:
    path = record_path(REPO / "build" / "bench" / "market-path.json")
    # ccxt.pro keeps the book; the box takes its top as a snapshot at every change.
    events = path[1:]
    monitor = MarketMonitor(RULES.symbol)
    monitor.on_snapshot(0.0, 1, *path[0])
    managed = naive = sent = naive_live = 0
    live: list[LiveOrder] = []
    latencies: list[int] = []
    before_gate: list[int] = []
    counters = OrderCounters()
    tolerance = Tolerance()
    for update_id, (bids, asks) in enumerate(events, start=2):
        start = time.perf_counter_ns()
        monitor.on_snapshot(float(update_id), update_id, bids, asks)
        view = monitor.view(float(update_id), [], [])
        desired = [] if view is None else spread_quotes(view, Decimal(0), PARAMS, RULES)
        plan = plan_orders(desired, live, tolerance)
        planned = time.perf_counter_ns()
        if plan.messages:  # as a worker's pass: a plan that changes nothing is not gated
            gated = gate(plan, gate_input(float(update_id), live, counters))
        latencies.append(time.perf_counter_ns() - start)
        before_gate.append(planned - start)
        if plan.messages:
            assert len(gated.creates) + len(gated.refused) + gated.held == len(plan.creates)
        managed += plan.messages
        naive += naive_live + len(desired)
        naive_live = len(desired)
        live = plan.kept + as_live(plan.creates, sent)
        sent += len(plan.creates)
    median = statistics.median(latencies) / 1000
    p99 = statistics.quantiles(latencies, n=100)[98] / 1000
    p99_plan = statistics.quantiles(before_gate, n=100)[98] / 1000
    ratio = naive / managed
    print(f"\norder manager on {len(events)} recorded market snapshots:")
    print(f"  messages: managed {managed}, cancel-all-and-replace {naive}: "
          f"{ratio:.1f}x fewer (target >= 20x)")
    print(f"  market event to intent (view, strategy, plan, gate): median {median:.1f} us, "
          f"p99 {p99:.1f} us (target p99 < 100 us)")
    print(f"  the same up to the plan, without the gate: p99 {p99_plan:.1f} us; "
          f"the gate adds {p99 / p99_plan:.2f}x")
    assert ratio >= 20
