"""Decide which live orders to keep, which to cancel and which quotes to create.

Pure: the same desired quotes and live orders always give the same plan. A live order that
is still good — same side, price within the tolerance, enough size left — is kept, so a
market that barely moves costs no messages (seed 004: minimal churn).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from appliance.orders.live import LiveOrder
from appliance.vocabulary import Quote, Side


class Tolerance(BaseModel):
    """How far a live order may be from its desired quote and still be kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price_ticks: int = Field(default=1, ge=0, le=1000,
                             description="keep an order this many ticks from the desired price")
    min_size_ratio: float = Field(default=0.5, gt=0, le=1,
                                  description="keep an order with at least this share left")


@dataclass(frozen=True)
class Plan:
    """What to send: cancels first, then creates."""

    cancels: list[LiveOrder] = field(default_factory=list)
    creates: list[Quote] = field(default_factory=list)
    kept: list[LiveOrder] = field(default_factory=list)

    @property
    def messages(self) -> int:
        """Return how many requests the plan costs."""
        return len(self.cancels) + len(self.creates)


def plan_orders(desired: list[Quote], live: list[LiveOrder], tolerance: Tolerance) -> Plan:
    """Return the fewest cancels and creates that turn `live` into `desired`."""
    result = Plan()
    for side in Side:
        wanted = sorted((q for q in desired if q.side is side), key=lambda q: q.price_ticks)
        resting = sorted((o for o in live if o.side is side and o.order_id is not None),
                         key=lambda o: (o.price_ticks, o.client_id))
        for quote in wanted:
            match = _closest(quote, resting, tolerance)
            if match is None:
                result.creates.append(quote)
            else:
                resting.remove(match)
                result.kept.append(match)
        result.cancels.extend(resting)
    return result


def _closest(quote: Quote, resting: list[LiveOrder], tolerance: Tolerance) -> LiveOrder | None:
    """Return the resting order nearest in price that still serves the quote, if any."""
    enough = tolerance.min_size_ratio * quote.size_lots  # a size threshold, not a price
    fits = [o for o in resting
            if abs(o.price_ticks - quote.price_ticks) <= tolerance.price_ticks
            and o.remaining_lots >= enough and o.remaining_lots <= quote.size_lots]
    return min(fits, key=lambda o: (abs(o.price_ticks - quote.price_ticks), o.client_id),
               default=None)
