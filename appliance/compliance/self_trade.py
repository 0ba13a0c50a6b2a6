"""Self-trade prevention: never send an order that would match one of the box's own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from appliance.vocabulary import Side


class RestingOrder(Protocol):
    """An order of the box resting on the market: its side and its price in ticks."""

    @property
    def side(self) -> Side:
        """Return the side of the order."""

    @property
    def price_ticks(self) -> int:
        """Return the price of the order, in ticks."""


def crossing_order(
    side: Side, price_ticks: int, own_resting: Iterable[RestingOrder]
) -> RestingOrder | None:
    """Return an own resting order that a new order at `price_ticks` would match, if any.

    `own_resting` holds the resting orders of every bot of the box on the same market.
    """
    for order in own_resting:
        if side is Side.BUY and order.side is Side.SELL and price_ticks >= order.price_ticks:
            return order
        if side is Side.SELL and order.side is Side.BUY and price_ticks <= order.price_ticks:
            return order
    return None


def would_self_trade(side: Side, price_ticks: int, own_resting: Iterable[RestingOrder]) -> bool:
    """Return whether a new order would match any own resting order of the same market."""
    return crossing_order(side, price_ticks, own_resting) is not None
