"""The box's own open orders, as its event log tells them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from appliance.store.events import Event, EventKind


@dataclass
class OpenOrder:
    """An order the bot sent that has not yet been filled, cancelled or rejected."""

    client_id: str
    symbol: str
    side: str
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
        data = event.data
        client_id = str(data.get("client_id", ""))
        if event.kind is EventKind.ORDER:
            live[client_id] = OpenOrder(
                client_id, event.symbol, str(data["side"]),
                Decimal(str(data["price"])), Decimal(str(data["amount"])),
            )
        elif event.kind is EventKind.ACK and client_id in live:
            live[client_id].order_id = str(data["order_id"])
        elif event.kind is EventKind.FILL and client_id in live:
            order = live[client_id]
            order.filled += Decimal(str(data["amount"]))
            if order.remaining <= 0:
                del live[client_id]
        elif event.kind in (EventKind.CANCEL, EventKind.REJECT):
            live.pop(client_id, None)
    return list(live.values())
