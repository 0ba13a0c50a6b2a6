"""The order gate: one pure verdict per planned order, counting nothing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from appliance.compliance.integrity import CancelCause
from appliance.compliance.rules import ComplianceRules
from appliance.market.monitor import MarketHealth
from appliance.market.rules import MarketRules
from appliance.orders.counters import OrderCounters
from appliance.orders.gate import GateInput, gate
from appliance.orders.live import LiveOrder
from appliance.orders.plan import Plan
from appliance.orders.refusals import Refusal, RefusalMemory
from appliance.risk.bot import BotGuard
from appliance.risk.const import RateSpan, SymbolState, TripKind
from appliance.risk.guard import RiskStanding
from appliance.risk.limits import RiskLimits
from appliance.risk.window import DAY_S
from appliance.vocabulary import Quote, Side

MIDNIGHT = 20_000 * DAY_S  # a UTC midnight
NOW = MIDNIGHT + 3600.0
RULES = MarketRules("MTS/USDT", "MTS", "USDT", Decimal("0.01"), Decimal("1"), Decimal(0))
LIMITS = RiskLimits(max_position=Decimal(1000), max_total_exposure=Decimal(100_000),
                    max_drawdown=Decimal(100), max_orders_per_second=3, max_orders_per_day=1000)
INTEGRITY = ComplianceRules(min_rest_s=1.0, max_order_to_trade=1000)
BID, ASK = Quote(Side.BUY, 99, 1), Quote(Side.SELL, 101, 1)


def given_at(now: float = NOW, *, counters: OrderCounters | None = None, budget: int = 100,
             live: tuple[LiveOrder, ...] = (), others: tuple[Quote, ...] = (),
             limits: RiskLimits = LIMITS, memory: RefusalMemory | None = None,
             state: SymbolState = SymbolState.ACTIVE,
             cause: CancelCause = CancelCause.REPLACE) -> GateInput:
    """Return what the gate weighs: an ACTIVE symbol on a healthy market, flat."""
    risk = RiskStanding(state, MarketHealth.OK, Decimal(0), Decimal(0), limits)
    holds = (memory or RefusalMemory(10)).holds(now)
    return GateInput(now, risk, (counters or OrderCounters()).at(now), INTEGRITY, RULES,
                     live, others, holds, budget, cause)


def creates(*quotes: Quote) -> Plan:
    """Return a plan that only creates."""
    return Plan(creates=list(quotes))


def test_orders_per_second_over_a_sliding_second() -> None:
    counters = OrderCounters()
    for t in (0.0, 0.2, 0.4):
        counters.accepted(NOW + t)
    refused = gate(creates(BID), given_at(NOW + 0.999, counters=counters)).refused
    assert [(r.reason, r.over_rate) for r in refused] == [
        ("3 orders sent in the last second, the limit", RateSpan.SECOND)]
    assert gate(creates(BID), given_at(NOW + 1.0, counters=counters)).creates == (BID,)


def test_orders_per_utc_day_start_again_at_midnight() -> None:
    limits = LIMITS.model_copy(update={"max_orders_per_day": 5, "max_orders_per_second": 100})
    counters = OrderCounters()
    day_end = MIDNIGHT + DAY_S - 1
    for t in range(5):
        counters.accepted(day_end - 60 * t)
    refused = gate(creates(BID), given_at(day_end, counters=counters, limits=limits)).refused
    assert [(r.reason, r.over_rate) for r in refused] == [
        ("5 orders sent today (UTC), the limit", RateSpan.DAY)]
    after = given_at(MIDNIGHT + DAY_S, counters=counters, limits=limits)
    assert gate(creates(BID), after).creates == (BID,)


def test_creates_of_one_plan_count_towards_the_rate_as_if_sent() -> None:
    counters = OrderCounters()
    counters.accepted(NOW)
    bids = [Quote(Side.BUY, 90 + i, 1) for i in range(4)]
    gated = gate(creates(*bids), given_at(counters=counters))
    assert gated.creates == tuple(bids[:2])
    assert [r.over_rate for r in gated.refused] == [RateSpan.SECOND] * 2
    assert counters.at(NOW).orders_last_second == 1, "the gate counts nothing"


def test_the_order_rate_trips_at_the_configured_excess() -> None:
    limits = LIMITS.model_copy(update={"max_orders_per_second": 2, "order_rate_trip_excess": 3})
    guard = BotGuard(limits, ["MTS/USDT"]).guard("MTS/USDT")
    guard.observe_market(MarketHealth.OK)
    guard.activate()
    counters = OrderCounters()
    counters.accepted(NOW)
    counters.accepted(NOW)
    gated = gate(creates(*(Quote(Side.BUY, 90 + i, 1) for i in range(3))),
                 given_at(NOW + 0.5, counters=counters, limits=limits))
    trips = [guard.observe_over_rate(NOW + 0.5, r.over_rate) for r in gated.refused
             if r.over_rate is not None]
    assert trips[:2] == [None, None]
    trip = trips[2]
    assert trip is not None and trip.kind is TripKind.ORDER_RATE
    assert trip.new_state is SymbolState.HALTED is guard.state


def test_the_budget_holds_creates_back_without_refusing_them() -> None:
    gated = gate(creates(BID, ASK, Quote(Side.BUY, 98, 1)), given_at(budget=1))
    assert (gated.creates, gated.refused, gated.held) == ((BID,), (), 2)


def test_cancels_go_out_whatever_the_budget_once_rested() -> None:
    young = LiveOrder("c1", Side.BUY, 99, 1, "o1", placed_at=NOW - 0.5)
    old = LiveOrder("c2", Side.SELL, 101, 1, "o2", placed_at=NOW - 5)
    plan = Plan(cancels=[young, old])
    gated = gate(plan, given_at(budget=0, live=(young, old)))
    assert (gated.cancels, gated.resting_on) == ((old,), (young,))
    stopped = gate(plan, given_at(budget=0, live=(young, old), cause=CancelCause.RISK_TRIP))
    assert stopped.cancels == (young, old)


def test_a_create_may_not_trade_against_the_box_own_orders() -> None:
    own_bid = LiveOrder("c1", Side.BUY, 100, 1, "o1", placed_at=NOW - 5)
    crossing = Quote(Side.SELL, 100, 1)
    assert gate(creates(crossing), given_at(live=(own_bid,))).refused[0].reason == (
        "a sell at 100 ticks would trade against the box's own buy at 100 ticks")
    replaced = gate(Plan(cancels=[own_bid], creates=[crossing]), given_at(live=(own_bid,)))
    assert replaced.creates == (crossing,), "an order cancelled first no longer rests"
    other_bot = (Quote(Side.BUY, 100, 0),)
    assert gate(creates(crossing), given_at(others=other_bot)).creates == ()


def test_orders_like_one_the_exchange_refused_wait_for_the_cooldown() -> None:
    memory = RefusalMemory(10)
    memory.refused(NOW, BID, Refusal.POST_ONLY)
    gated = gate(creates(BID, ASK), given_at(NOW + 1, memory=memory))
    assert gated.creates == (ASK,)
    assert gated.refused[0].quote == BID
    assert gate(creates(BID), given_at(NOW + 10, memory=memory)).creates == (BID,)


def test_a_symbol_not_active_sends_no_create() -> None:
    gated = gate(creates(BID), given_at(state=SymbolState.PAUSED))
    assert [r.reason for r in gated.refused] == ["the symbol is paused"]


quotes = st.builds(Quote, st.sampled_from(Side), st.integers(80, 120), st.integers(1, 50))


@given(st.lists(quotes, max_size=12), st.integers(0, 12), st.integers(0, 5))
def test_every_create_gets_exactly_one_verdict_and_the_same_one_again(
    wanted: list[Quote], budget: int, sent: int
) -> None:
    counters = OrderCounters()
    for _ in range(sent):
        counters.accepted(NOW)
    given_now = given_at(counters=counters, budget=budget)
    gated = gate(creates(*wanted), given_now)
    assert len(gated.creates) + len(gated.refused) + gated.held == len(wanted)
    assert len(gated.creates) <= budget
    assert len(gated.creates) <= max(0, LIMITS.max_orders_per_second - sent)
    assert gate(creates(*wanted), given_now) == gated
    assert counters.at(NOW).orders_last_second == sent
