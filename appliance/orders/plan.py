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
    for side in SIDES:
        wanted = sorted([q for q in desired if q.side is side], key=_quote_price)
        resting = sorted([o for o in live if o.side is side and o.order_id is not None],
                         key=_order_place)
        for quote in wanted:
            match = _closest(quote, resting, tolerance)
            if match is None:
                result.creates.append(quote)
            else:
                resting.remove(match)
                result.kept.append(match)
        result.cancels.extend(resting)
    return result


SIDES = tuple(Side)


def _quote_price(quote: Quote) -> int:
    return quote.price_ticks


def _order_place(order: LiveOrder) -> tuple[int, str]:
    return order.price_ticks, order.client_id


def _closest(quote: Quote, resting: list[LiveOrder], tolerance: Tolerance) -> LiveOrder | None:
    """Return the resting order nearest in price that still serves the quote, if any."""
    enough = tolerance.min_size_ratio * quote.size_lots  # a size threshold, not a price
    reach, price, size = tolerance.price_ticks, quote.price_ticks, quote.size_lots
    best: LiveOrder | None = None
    best_key: tuple[int, str] | None = None
    for order in resting:
        distance = abs(order.price_ticks - price)
        left = order.lots - order.filled_lots
        if distance > reach or left < enough or left > size:
            continue
        key = (distance, order.client_id)
        if best_key is None or key < best_key:
            best, best_key = order, key
    return best
