"""The exchange account as the exchange reports it, beside the bot's own view of it.

For the operator's reconciliation view: the account's balances, and per symbol the open orders
and recent trades the exchange reports, next to the orders the bot believes rest and the fills
it recorded, with what differs named. The exchange is asked through the bot's own client (the
bot holds the account's key through the signer; the panel never does), within its request
weight like every other request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from appliance.bot.worker import SymbolWorker
from appliance.store.events import EventKind, EventLog, OrderFilled

RECENT_TRADES = 20
"""How many of a symbol's latest trades are compared."""
RECORDED_FILLS = 1000
"""How many of the bot's latest fills the exchange's recent trades are looked for in."""


def _text(value: Any) -> str:
    return "" if value is None else format(Decimal(str(value)).normalize(), "f")


async def balances_of(client: Any) -> dict[str, dict[str, str]]:
    """Return the account's non-zero balances: total, free and in orders, per asset."""
    balance = await client.fetch_balance()
    totals = balance.get("total") or {}
    return {asset: {"total": _text(total), "free": _text((balance.get("free") or {}).get(asset)),
                    "used": _text((balance.get("used") or {}).get(asset))}
            for asset, total in sorted(totals.items()) if total}


async def symbol_view(client: Any, worker: SymbolWorker, events: EventLog) -> dict[str, Any]:
    """Return one symbol's orders and trades as the exchange and the bot see them."""
    symbol, rules = worker.symbol, worker.rules
    async with worker.turn:  # no cycle in between: both sides are of one moment
        on_exchange = [{"id": str(o["id"]), "client_id": o.get("clientOrderId") or "",
                        "side": o.get("side"), "price": _text(o.get("price")),
                        "amount": _text(o.get("amount")), "filled": _text(o.get("filled"))}
                       for o in await client.fetch_open_orders(symbol)]
        box_orders = [{"client_id": o.client_id, "id": o.order_id or "", "side": o.side.value,
                       "price": _text(rules.price(o.price_ticks)),
                       "amount": _text(rules.size(o.remaining_lots))}
                      for o in worker.orders.live.values()]
    trades = await client.fetch_my_trades(symbol, limit=RECENT_TRADES)
    exchange_trades = [{"id": str(t["id"]), "order_id": str(t.get("order") or ""),
                        "side": t.get("side"), "price": _text(t.get("price")),
                        "amount": _text(t.get("amount")), "time": (t.get("timestamp") or 0) / 1000}
                       for t in sorted(trades, key=lambda t: t.get("timestamp") or 0)]
    fills = [e.body for e in events.events(kinds=(EventKind.FILL,), newest=RECORDED_FILLS)
             if e.symbol == symbol and isinstance(e.body, OrderFilled)]
    recorded = {fill.trade_id for fill in fills}
    known = {order["client_id"] for order in box_orders}
    listed = {order["client_id"] for order in on_exchange}
    # An order the exchange filled (wholly or in part) since the bot's last poll: its trade
    # is not in the log yet, and a whole fill took it off the book. The bot settles it at its
    # next cycle; that is no difference.
    fresh = [t for t in exchange_trades if t["id"] not in recorded]
    filled_ids = {t["order_id"] for t in fresh}
    settling = {o["client_id"] for o in box_orders if o["id"] in filled_ids}
    settling_orders = {o["id"] for o in box_orders if o["client_id"] in settling}
    return {
        "symbol": symbol, "exchange_orders": on_exchange, "box_orders": box_orders,
        "exchange_trades": exchange_trades,
        "box_fills": [{"trade_id": f.trade_id, "client_id": f.client_id, "side": f.side.value,
                       "price": _text(f.price), "amount": _text(f.amount)}
                      for f in fills[-RECENT_TRADES:]],
        "unknown_orders": sorted(listed - known),
        "missing_orders": sorted(known - listed - settling),
        "unrecorded_trades": [t["id"] for t in fresh if t["order_id"] not in settling_orders],
        "settling": sorted(settling),
    }
