"""The order gate: a pure verdict on every planned order before anything is sent.

From the plan, the symbol's own live orders and the other bots' resting orders on the same
market, the risk standing, the integrity rules, the counts of what the exchange accepted, the
rate budget and `now`, decide which cancels and creates go out, which are refused and why, and
which wait for the budget. Nothing is counted here: the counters advance only for orders the
exchange accepted, after they were sent.

Cancels go first and always may, but a cancel waits out the minimum resting time when it only
replaces an order.
Each create is checked as if the cancels and the creates before it had gone through: held back
after a refusal by the exchange, then integrity (self-trade, order-to-trade cap), then risk
(state, market health, position and exposure), then the order rates, then the account's order
budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.compliance.integrity import CancelCause, cancel_refusal
from appliance.compliance.integrity import order_refusal as integrity_refusal
from appliance.compliance.rules import ComplianceRules
from appliance.market.rules import MarketRules
from appliance.orders.counters import Counts
from appliance.orders.live import LiveOrder
from appliance.orders.plan import Plan
from appliance.orders.refusals import Hold, is_held
from appliance.risk.const import RateSpan
from appliance.risk.guard import RiskStanding
from appliance.risk.guard import order_refusal as risk_refusal
from appliance.vocabulary import Quote


@dataclass(frozen=True)
class GateInput:
    """Everything a verdict depends on, at one moment."""

    now: float
    risk: RiskStanding
    counts: Counts
    integrity: ComplianceRules
    market: MarketRules
    live: tuple[LiveOrder, ...]
    """The symbol's own orders resting or in doubt."""
    others: tuple[Quote, ...]
    """The other bots' resting orders on the same market."""
    holds: tuple[Hold, ...]
    """What the exchange refused lately, held back for a while."""
    budget: int
    """How many new orders the account's order budget lets go now."""
    cause: CancelCause


@dataclass(frozen=True)
class Refused:
    """A planned create that may not leave, why, and the rate limit it met, if any."""

    quote: Quote
    reason: str
    over_rate: RateSpan | None = None


@dataclass(frozen=True)
class Gated:
    """The gate's verdicts on one plan: what to send, in order, and what not."""

    cancels: tuple[LiveOrder, ...] = ()
    creates: tuple[Quote, ...] = ()
    refused: tuple[Refused, ...] = ()
    resting_on: tuple[LiveOrder, ...] = ()
    """Cancels that must wait: the order has not rested its minimum time."""
    held: int = 0
    """Creates that wait for the order budget."""


def gate(plan: Plan, given: GateInput) -> Gated:
    """Return the verdicts on every cancel and create of `plan`."""
    budget = given.budget
    cancels: list[LiveOrder] = []
    waiting: list[LiveOrder] = []
    for order in plan.cancels:
        if cancel_refusal(given.now, order.placed_at, given.cause, given.integrity):
            waiting.append(order)
        else:
            cancels.append(order)
    gone = {order.client_id for order in cancels}
    resting: list[Quote] = [Quote(o.side, o.price_ticks, o.remaining_lots)
                            for o in given.live if o.client_id not in gone]
    creates: list[Quote] = []
    refused: list[Refused] = []
    counts = given.counts
    held = 0
    for quote in plan.creates:
        verdict = _create_refusal(quote, resting, counts, given)
        if verdict is not None:
            refused.append(verdict)
        elif budget > 0:
            budget -= 1
            creates.append(quote)
            resting.append(quote)
            counts = Counts(counts.orders_last_second + 1, counts.orders_today + 1,
                            counts.fills_today)
        else:
            held += 1
    return Gated(tuple(cancels), tuple(creates), tuple(refused), tuple(waiting), held)


def _create_refusal(
    quote: Quote, resting: list[Quote], counts: Counts, given: GateInput
) -> Refused | None:
    """Return why one create may not leave, with `resting` and `counts` as they would be."""
    if given.holds and is_held(given.holds, quote):
        return Refused(quote, "held back after the exchange refused a like order")
    reason = integrity_refusal(quote.side, quote.price_ticks, [*resting, *given.others],
                               counts, given.integrity)
    if reason is None:
        same_side = sum(q.size_lots for q in resting if q.side is quote.side)
        market = given.market
        reason = risk_refusal(given.risk, quote.side, market.price(quote.price_ticks),
                              market.size(quote.size_lots), market.size(same_side))
    if reason is not None:
        return Refused(quote, reason)
    return _rate_refusal(quote, counts, given)


def _rate_refusal(quote: Quote, counts: Counts, given: GateInput) -> Refused | None:
    limits = given.risk.limits
    for span, sent, limit in (
        (RateSpan.SECOND, counts.orders_last_second, limits.max_orders_per_second),
        (RateSpan.DAY, counts.orders_today, limits.max_orders_per_day),
    ):
        if sent >= limit:
            return Refused(quote, f"{limit} orders sent {span}, the limit", span)
    return None


