"""The box's own open orders, as its event log tells them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from appliance.store.events import (
    Event,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSent,
)
from appliance.vocabulary import Side


@dataclass
class OpenOrder:
    """An order the bot sent that has not yet been filled, cancelled or rejected."""

    client_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    filled: Decimal = Decimal(0)
    order_id: str | None = None

    @property
    def remaining(self) -> Decimal:
        """Return the amount still resting."""
        return self.amount - self.filled


def open_orders_from_events(events: Iterable[Event]) -> list[OpenOrder]:
    """Replay order, ack, fill, cancel and reject events into the orders still open."""
    live: dict[str, OpenOrder] = {}
    for event in events:
        match event.body:
            case OrderSent() as sent:
                live[sent.client_id] = OpenOrder(
                    sent.client_id, event.symbol, sent.side, sent.price, sent.amount
                )
            case OrderAcked(client_id=client_id, order_id=order_id) if client_id in live:
                live[client_id].order_id = order_id
            case OrderFilled(client_id=client_id, amount=amount) if client_id in live:
                order = live[client_id]
                order.filled += amount
                if order.remaining <= 0:
                    del live[client_id]
            case OrderCancelled(client_id=client_id) | OrderRejected(client_id=client_id):
                live.pop(client_id, None)
    return list(live.values())
