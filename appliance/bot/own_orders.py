"""A symbol's own orders and fills, kept in step with the exchange and the event log.

What rests is known from acks, cancels and fills. An order whose answer was lost is in doubt
until it is looked up by its client order id, and nothing more may be sent before. Fills and
orders that left the book come from the account's user data stream while it can be trusted —
it has been up without a break since the last settlement over REST, and that settlement is
recent — and otherwise from a settlement over REST: the open orders, and the trades since the
last one recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.account_feed import AccountFeed
from appliance.ledger import open_orders_from_events
from appliance.market.rules import MarketRules
from appliance.orders.live import LiveOrder
from appliance.store.events import Event, EventKind, EventLog
from appliance.vocabulary import Side

log = logging.getLogger(__name__)

SETTLE_EVERY_S = 60.0
"""How often orders and fills are settled over REST even while the account stream is up."""
GONE = ("canceled", "expired", "rejected")
"""ccxt's statuses of an order that left the book without filling in full."""

FillHandler = Callable[[Event], Awaitable[None]]


def dec(value: Any) -> Decimal:
    """Return an exchange number as a Decimal (ccxt reports floats; their repr is exact)."""
    return Decimal(str(value))


class OwnOrders:
    """One symbol's resting orders, the orders in doubt, and every fill, in the log."""

    def __init__(self, symbol: str, client: Any, events: EventLog, rules: MarketRules,
                 on_fill: FillHandler) -> None:
        self.symbol = symbol
        self.live: dict[str, LiveOrder] = {}
        """The orders resting on the exchange, or sent and in doubt, by client order id."""
        self.account: AccountFeed | None = None
        """The account's user data stream, where the exchange has one; else REST is polled."""
        self._client = client
        self._events = events
        self._rules = rules
        self._on_fill = on_fill
        self._client_of_order: dict[str, str] = {}
        self._in_doubt: set[str] = set()
        self._last_trade = 0
        self._settled_epoch = -1
        self._settled_at = -SETTLE_EVERY_S

    def restore(self, history: list[Event]) -> None:
        """Know the symbol's acknowledged orders, its last fill and what rests, from the log."""
        for event in history:
            if event.kind is EventKind.ACK:
                self._client_of_order[str(event.data["order_id"])] = str(event.data["client_id"])
            elif event.kind is EventKind.FILL:
                self._last_trade = max(self._last_trade, int(event.data["trade_id"]))
        for order in open_orders_from_events(history):
            self.live[order.client_id] = LiveOrder(
                order.client_id, Side(order.side), self._rules.price_ticks(order.price),
                self._rules.size_lots(order.amount), order.order_id,
                self._rules.size_lots(order.filled))

    async def settle(self, now: float) -> None:
        """Bring orders and fills up to date: the orders in doubt, then the stream or REST."""
        await self.settle_in_doubt()
        if not self._stream_trusted(now):
            await self._settle_over_rest(now)
        await self._take_stream()

    def acknowledge(self, order: LiveOrder, order_id: str) -> None:
        """Record the exchange's id of an order it accepted; the order now rests."""
        order.order_id = order_id
        self.live[order.client_id] = order
        self._client_of_order[order_id] = order.client_id
        self._events.append(EventKind.ACK, self.symbol, {
            "client_id": order.client_id, "order_id": order_id})

    async def doubt(self, order: LiveOrder, exc: Exception) -> None:
        """Hold an order whose answer was lost as in doubt, and try to settle it at once."""
        log.warning("%s: order %s in doubt: %s", self.symbol, order.client_id, exc)
        self.live[order.client_id] = order
        self._in_doubt.add(order.client_id)
        await self.settle_in_doubt()

    def drop(self, client_id: str, kind: EventKind, data: dict[str, Any]) -> None:
        """Record that an order no longer rests, and why."""
        del self.live[client_id]
        self._events.append(kind, self.symbol, {"client_id": client_id, **data})

    async def settle_in_doubt(self) -> None:
        """Ask the exchange for every order whose answer was lost, and settle what it says.

        Raise the exchange's error while it cannot answer: nothing more may be sent until each
        such order is known, so that no order is ever sent twice.
        """
        for client_id in sorted(self._in_doubt):
            order = self.live.get(client_id)
            if order is not None:
                await self._settle(order)
            self._in_doubt.discard(client_id)

    async def sync_fills(self) -> None:
        """Record every trade of the account on this symbol not yet in the log."""
        params = {"fromId": self._last_trade + 1} if self._last_trade else {}
        trades = await self._client.fetch_my_trades(self.symbol, params=params)
        for trade in sorted(trades, key=lambda t: int(t["id"])):
            if int(trade["id"]) > self._last_trade:
                await self._record_fill(trade)

    async def _settle(self, order: LiveOrder) -> None:
        """Bring one order whose answer was lost in line with the exchange's record of it."""
        try:
            found = await self._client.fetch_order(
                order.order_id or "", self.symbol, {"origClientOrderId": order.client_id})
        except ccxt_async.OrderNotFound:
            self.drop(order.client_id, EventKind.REJECT, {"error": "never reached the exchange"})
            return
        if order.order_id is None:
            self.acknowledge(order, str(found["id"]))
        if found.get("status") in GONE or found.get("status") == "closed":
            await self.sync_fills()
        if found.get("status") in GONE and order.client_id in self.live:
            self.drop(order.client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                          "reason": found.get("status")})

    def _stream_trusted(self, now: float) -> bool:
        """Return whether the account stream alone keeps orders and fills up to date now."""
        account = self.account
        return (account is not None and account.live and self._settled_epoch == account.epoch
                and now - self._settled_at < SETTLE_EVERY_S)

    async def _settle_over_rest(self, now: float) -> None:
        """Settle open orders and fills over REST; from then on a live stream can be trusted."""
        account = self.account
        epoch, live = (account.epoch, account.live) if account is not None else (-1, False)
        open_orders = await self._client.fetch_open_orders(self.symbol)
        await self.sync_fills()
        self._settle_vanished({o.get("clientOrderId") for o in open_orders})
        if live:
            self._settled_epoch, self._settled_at = epoch, now

    async def _take_stream(self) -> None:
        """Record the fills the account stream brought, then close orders that left the book."""
        if self.account is None:
            return
        for trade in self.account.fills():
            if int(trade["id"]) > self._last_trade:
                await self._record_fill(trade)
        streamed = self.account.orders()
        for client_id, order in list(self.live.items()):
            status = streamed.get(order.order_id or "", {}).get("status")
            if status in GONE:
                self.drop(client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                        "reason": status})

    def _settle_vanished(self, resting_ids: set[Any]) -> None:
        """Close the books on live orders the exchange no longer shows as resting."""
        for client_id, order in list(self.live.items()):
            if client_id in resting_ids:
                continue
            if order.order_id is None:
                self.drop(client_id, EventKind.REJECT, {"error": "never reached the exchange"})
            else:
                self.drop(client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                        "reason": "gone from the exchange"})

    async def _record_fill(self, trade: dict[str, Any]) -> None:
        """Log one trade of the account, shrink its order, and hand the fill to the worker."""
        self._last_trade = int(trade["id"])
        order_id = str(trade["order"])
        client_id = self._client_of_order.get(order_id, "")
        fee = trade.get("fee") or {}
        data = {
            "client_id": client_id, "order_id": order_id, "trade_id": trade["id"],
            "side": trade["side"], "price": str(dec(trade["price"])),
            "amount": str(dec(trade["amount"])), "fee": str(dec(fee.get("cost") or 0)),
            "fee_asset": fee.get("currency") or self._rules.quote,
            "base": self._rules.base, "quote": self._rules.quote,
        }
        seq = self._events.append(EventKind.FILL, self.symbol, data)
        live = self.live.get(client_id)
        if live is not None:
            live.filled_lots += self._rules.size_lots(dec(data["amount"]))
            if live.remaining_lots <= 0:
                del self.live[client_id]
        await self._on_fill(Event(seq, time.time(), EventKind.FILL, self.symbol, data))
