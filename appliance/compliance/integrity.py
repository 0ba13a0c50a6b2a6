"""Hold one symbol's orders to the market-integrity rules before they leave.

Pure: the caller passes `now` (Unix seconds) and the box's own resting orders of the market.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from appliance.compliance.rules import ComplianceRules
from appliance.compliance.self_trade import RestingOrder, crossing_order
from appliance.risk.verdict import ALLOWED, Verdict, refused
from appliance.risk.window import DailyWindow
from appliance.vocabulary import Side


class CancelCause(StrEnum):
    """Why an order is being cancelled; only a replacement waits out the minimum resting time."""

    REPLACE = "replace"  # the strategy wants it elsewhere, or no longer wants it
    RISK_TRIP = "risk_trip"
    OPERATOR = "operator"  # the operator paused or halted the symbol
    SHUTDOWN = "shutdown"


class MarketIntegrity:
    """Refuse self-trades, early replacements and orders beyond the order-to-trade cap."""

    def __init__(self, rules: ComplianceRules) -> None:
        self.rules = rules
        self._orders = DailyWindow()
        self._fills = DailyWindow()

    def check_order(
        self, now: float, side: Side, price_ticks: int, own_resting: Iterable[RestingOrder]
    ) -> Verdict:
        """Say whether an order may be sent now; an allowed order counts as sent.

        `own_resting` holds the resting orders of every bot of the box on the same market.
        """
        crossed = crossing_order(side, price_ticks, own_resting)
        if crossed is not None:
            return refused(f"a {side} at {price_ticks} ticks would trade against the box's own "
                           f"{crossed.side} at {crossed.price_ticks} ticks")
        orders, fills = self._orders.count(now), self._fills.count(now)
        cap = self.rules.max_order_to_trade
        if orders >= cap * max(fills, 1):
            return refused(f"{orders} orders for {fills} fills today (UTC) reach the "
                           f"order-to-trade cap of {cap}")
        self._orders.add(now)
        return ALLOWED

    def check_cancel(self, now: float, placed_at: float, cause: CancelCause) -> Verdict:
        """Say whether an order placed at `placed_at` may be cancelled now for `cause`."""
        rested = now - placed_at
        if cause is not CancelCause.REPLACE or rested >= self.rules.min_rest_s:
            return ALLOWED
        return refused(f"the order has rested {rested:.3f} s of the {self.rules.min_rest_s:g} s "
                       "it must rest before it is replaced")

    def observe_fill(self, now: float) -> None:
        """Count a fill of the symbol's orders towards today's order-to-trade ratio."""
        self._fills.add(now)
