"""Inventory, PnL and open orders, derived from a bot's event log alone."""

from appliance.ledger.orders import OpenOrder, open_orders_from_events
from appliance.ledger.position import Position, apply_fill_event, positions_from_events

__all__ = [
    "OpenOrder",
    "Position",
    "apply_fill_event",
    "open_orders_from_events",
    "positions_from_events",
]
