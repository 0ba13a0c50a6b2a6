"""Hold one symbol's orders to the market-integrity rules before they leave.

Pure: the caller passes `now` (Unix seconds), the box's own resting orders of the market and
the counts of what the exchange accepted; nothing here counts or remembers.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from appliance.compliance.rules import ComplianceRules
from appliance.compliance.self_trade import RestingOrder, crossing_order
from appliance.orders.counters import Counts
from appliance.vocabulary import Side


class CancelCause(StrEnum):
    """Why an order is being cancelled; only a replacement waits out the minimum resting time."""

    REPLACE = "replace"  # the strategy wants it elsewhere, or no longer wants it
    RISK_TRIP = "risk_trip"
    OPERATOR = "operator"  # the operator paused or halted the symbol
    SHUTDOWN = "shutdown"


def order_refusal(
    side: Side, price_ticks: int, own_resting: Iterable[RestingOrder], counts: Counts,
    rules: ComplianceRules,
) -> str | None:
    """Return why an order may not leave: a self-trade or the order-to-trade cap; else None.

    `own_resting` holds the resting orders of every bot of the box on the same market.
    """
    crossed = crossing_order(side, price_ticks, own_resting)
    if crossed is not None:
        return (f"a {side} at {price_ticks} ticks would trade against the box's own "
                f"{crossed.side} at {crossed.price_ticks} ticks")
    orders, fills, cap = counts.orders_today, counts.fills_today, rules.max_order_to_trade
    if orders >= cap * max(fills, 1):
        return (f"{orders} orders for {fills} fills today (UTC) reach the order-to-trade cap "
                f"of {cap}")
    return None


def cancel_refusal(
    now: float, placed_at: float, cause: CancelCause, rules: ComplianceRules
) -> str | None:
    """Return why an order placed at `placed_at` may not be cancelled now, or None."""
    rested = now - placed_at
    if cause is not CancelCause.REPLACE or rested >= rules.min_rest_s:
        return None
    return (f"the order has rested {rested:.3f} s of the {rules.min_rest_s:g} s it must rest "
            "before it is replaced")
