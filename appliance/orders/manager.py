"""The one owner of a symbol's orders: what rests, what is in doubt, and what to send next.

It plans the fewest cancels and creates that turn the live orders into the desired quotes,
hands the plan to the gate together with everything the gate weighs, sends what the gate let
through, and settles with the exchange. Each of these returns what happened (fills, refusals)
instead of calling anyone back: the worker decides what a fill or a refusal means.

An order whose answer was lost is in doubt until it is looked up by its client order id, and
nothing more is sent before. Fills and orders that left the book come from the account stream
while it can be trusted — it has been up without a break since the last settlement over REST,
and that settlement is recent — and otherwise from a settlement over REST.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.compliance.integrity import CancelCause
from appliance.compliance.rules import ComplianceRules
from appliance.ledger import open_orders_from_events
from appliance.market.rules import MarketRules
from appliance.orders.counters import OrderCounters
from appliance.orders.gate import Gated, GateInput
from appliance.orders.live import ClientIds, LiveOrder
from appliance.orders.plan import Plan, Tolerance, plan_orders
from appliance.orders.refusals import Refusal, RefusalMemory
from appliance.orders.venue import Venue
from appliance.risk.guard import RiskStanding
from appliance.store.events import (
    Event,
    EventBody,
    EventLog,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSent,
)
from appliance.vocabulary import Quote, Side

log = logging.getLogger(__name__)

SETTLE_EVERY_S = 60.0
"""How often orders and fills are settled over REST even while the account stream is up."""
REFUSAL_COOLDOWN_S = 10.0
"""How long an order like one the exchange refused is held back."""
GONE = ("canceled", "expired", "rejected")
"""ccxt's statuses of an order that left the book without filling in full."""


def dec(value: Any) -> Decimal:
    """Return an exchange number as a Decimal (ccxt reports floats; their repr is exact)."""
    return Decimal(str(value))


def refusal_of(exc: Exception) -> Refusal:
    """Return what kind of refusal a ccxt error is."""
    if isinstance(exc, ccxt_async.OrderImmediatelyFillable):
        return Refusal.POST_ONLY
    if isinstance(exc, ccxt_async.InsufficientFunds):
        return Refusal.INSUFFICIENT_BALANCE
    return Refusal.OTHER


@dataclass
class Outcome:
    """What settling or sending brought: new fills, and the exchange's refusals of orders."""

    fills: list[Event] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


class OrderManager:
    """One symbol's live and in-doubt orders, its plan, gate inputs, sends and settlement."""

    def __init__(
        self, symbol: str, venue: Venue, events: EventLog, rules: MarketRules, ids: ClientIds,
        *, tolerance: Tolerance | None = None, integrity: ComplianceRules | None = None,
    ) -> None:
        self.symbol = symbol
        self.venue = venue
        self.live: dict[str, LiveOrder] = {}
        """The orders resting on the exchange, or sent and in doubt, by client order id."""
        self.counters = OrderCounters()
        self.tolerance = tolerance or Tolerance()
        self.integrity = integrity or ComplianceRules()
        self.refusals = RefusalMemory(REFUSAL_COOLDOWN_S)
        self._events = events
        self._rules = rules
        self._ids = ids
        self._client_of_order: dict[str, str] = {}
        self._in_doubt: set[str] = set()
        self._last_trade = 0
        self._settled_epoch = -1
        self._settled_at = -SETTLE_EVERY_S

    def restore(self, history: list[Event], now: float) -> None:
        """Know the symbol's orders, its last fill, what rests and today's counts, from the log."""
        for event in history:
            if isinstance(event.body, OrderAcked):
                self._client_of_order[event.body.order_id] = event.body.client_id
            elif isinstance(event.body, OrderFilled):
                self._last_trade = max(self._last_trade, int(event.body.trade_id))
        for order in open_orders_from_events(history):
            self.live[order.client_id] = LiveOrder(
                order.client_id, order.side, self._rules.price_ticks(order.price),
                self._rules.size_lots(order.amount), order.order_id,
                self._rules.size_lots(order.filled))
        self.counters.rebuild(history, now)

    def own(self, side: Side) -> list[tuple[int, int]]:
        """Return the live orders of one side as (price_ticks, lots left)."""
        return [(o.price_ticks, o.remaining_lots) for o in self.live.values() if o.side is side]

    def resting(self) -> list[tuple[str, int]]:
        """Return the live orders as (side, price in ticks), for the other bots' checks."""
        return [(o.side.value, o.price_ticks) for o in self.live.values()]

    async def settle(self, now: float) -> Outcome:
        """Bring orders and fills up to date: the orders in doubt, then the stream or REST."""
        outcome = Outcome()
        await self._settle_in_doubt(now, outcome)
        stream = await self.venue.stream()
        if stream is None or not (stream.live and self._settled_epoch == stream.epoch
                                  and now - self._settled_at < SETTLE_EVERY_S):
            open_ids = {o["clientOrderId"] for o in await self.venue.open_orders()}
            await self._sync_fills(now, outcome)
            self._settle_vanished(open_ids)
            if stream is not None and stream.live:
                self._settled_epoch, self._settled_at = stream.epoch, now
        if stream is not None:
            self._take_stream(now, stream.fills, stream.orders, outcome)
        return outcome

    def plan(self, desired: list[Quote]) -> Plan:
        """Return the fewest cancels and creates that turn the live orders into `desired`."""
        return plan_orders(desired, list(self.live.values()), self.tolerance)

    async def gate_input(
        self, now: float, risk: RiskStanding, others: list[Quote], cause: CancelCause
    ) -> GateInput:
        """Return what the gate weighs now: the orders, the counts, holds and the budget."""
        return GateInput(
            now, risk, self.counters.at(now), self.integrity, self._rules,
            tuple(self.live.values()), tuple(others), self.refusals.holds(now),
            await self.venue.budget(now), cause)

    async def send(self, gated: Gated, now: float) -> Outcome:
        """Send the cancels, then the creates the gate let through; return what happened.

        Creates stop while any order is in doubt: nothing more leaves until it is settled.
        """
        outcome = Outcome()
        for order in gated.cancels:
            if order.order_id is not None and order.client_id in self.live:
                await self._cancel(order, now, outcome, "replaced")
        for quote in gated.creates:
            if self._in_doubt:
                break
            await self._create(quote, now, outcome)
        return outcome

    async def cancel_all(self, now: float) -> Outcome:
        """Cancel every order of the symbol on the exchange, known or not; settle the rest."""
        outcome = Outcome()
        for order in await self.venue.open_orders():
            known = self.live.get(order["clientOrderId"])
            if known is not None:
                await self._cancel(known, now, outcome, "cancelled")
            else:
                await self._cancel_unknown(order["id"], now, outcome)
        await self._sync_fills(now, outcome)
        for client_id in list(self.live):
            self._drop(client_id, OrderCancelled(client_id, self.live[client_id].order_id,
                                                 "not on the exchange"))
        return outcome

    async def _create(self, quote: Quote, now: float, outcome: Outcome) -> None:
        client_id = self._ids.next()
        price, amount = self._rules.price(quote.price_ticks), self._rules.size(quote.size_lots)
        self._events.append(self.symbol, OrderSent(client_id, quote.side, price, amount))
        order = LiveOrder(client_id, quote.side, quote.price_ticks, quote.size_lots,
                          placed_at=now)
        try:
            placed = await self.venue.create(now, quote.side, str(amount), str(price), client_id)
        except ccxt_async.OperationFailed as exc:
            await self._doubt(order, exc, now, outcome)
            return
        except ccxt_async.ExchangeError as exc:
            why = refusal_of(exc)
            self.refusals.refused(now, quote, why)
            self._events.append(self.symbol, OrderRejected(client_id, why.value, str(exc)[:300]))
            outcome.refusals.append(why)
            return
        self._acknowledge(order, str(placed["id"]), now)

    async def _cancel(self, order: LiveOrder, now: float, outcome: Outcome, why: str) -> None:
        try:
            await self.venue.cancel(order.order_id or "")
        except ccxt_async.OrderNotFound:
            await self._sync_fills(now, outcome)
        except ccxt_async.OperationFailed as exc:
            await self._doubt(order, exc, now, outcome)
            return
        if order.client_id in self.live:
            self._drop(order.client_id, OrderCancelled(order.client_id, order.order_id, why))

    async def _cancel_unknown(self, order_id: str, now: float, outcome: Outcome) -> None:
        try:
            await self.venue.cancel(order_id)
        except ccxt_async.OrderNotFound:
            await self._sync_fills(now, outcome)

    def _acknowledge(self, order: LiveOrder, order_id: str, now: float) -> None:
        """Record the exchange's id of an order it accepted; the order now rests and counts."""
        order.order_id = order_id
        self.live[order.client_id] = order
        self._client_of_order[order_id] = order.client_id
        self._events.append(self.symbol, OrderAcked(order.client_id, order_id))
        self.counters.accepted(now)

    async def _doubt(self, order: LiveOrder, exc: Exception, now: float,
                     outcome: Outcome) -> None:
        """Hold an order whose answer was lost as in doubt, and try to settle it at once."""
        log.warning("%s: order %s in doubt: %s", self.symbol, order.client_id, exc)
        self.live[order.client_id] = order
        self._in_doubt.add(order.client_id)
        await self._settle_in_doubt(now, outcome)

    def _drop(self, client_id: str, why: EventBody) -> None:
        """Record that an order no longer rests, and why."""
        del self.live[client_id]
        self._events.append(self.symbol, why)

    async def _settle_in_doubt(self, now: float, outcome: Outcome) -> None:
        """Ask the exchange for every order whose answer was lost, and settle what it says.

        Raise the exchange's error while it cannot answer: nothing more may be sent until each
        such order is known, so that no order is ever sent twice.
        """
        for client_id in sorted(self._in_doubt):
            order = self.live.get(client_id)
            if order is not None:
                await self._settle_one(order, now, outcome)
            self._in_doubt.discard(client_id)

    async def _settle_one(self, order: LiveOrder, now: float, outcome: Outcome) -> None:
        """Bring one order whose answer was lost in line with the exchange's record of it."""
        try:
            found = await self.venue.order(order.order_id, order.client_id)
        except ccxt_async.OrderNotFound:
            self._drop(order.client_id, OrderRejected(order.client_id, "lost",
                                                      "never reached the exchange"))
            return
        if order.order_id is None:
            self._acknowledge(order, str(found["id"]), now)
        status = found.get("status")
        if status in GONE or status == "closed":
            await self._sync_fills(now, outcome)
        if status in GONE and order.client_id in self.live:
            self._drop(order.client_id, OrderCancelled(order.client_id, order.order_id,
                                                       str(status)))

    async def _sync_fills(self, now: float, outcome: Outcome) -> None:
        """Record every trade of the account on this symbol not yet in the log."""
        for trade in await self.venue.trades(self._last_trade):
            self._record_fill(trade, now, outcome)

    def _take_stream(self, now: float, fills: list[dict[str, Any]], statuses: dict[str, str],
                     outcome: Outcome) -> None:
        """Record the fills the account stream brought, then close orders that left the book."""
        for trade in fills:
            if int(trade["id"]) > self._last_trade:
                self._record_fill(trade, now, outcome)
        for client_id, order in list(self.live.items()):
            status = statuses.get(order.order_id or "")
            if status in GONE:
                self._drop(client_id, OrderCancelled(client_id, order.order_id, str(status)))

    def _settle_vanished(self, resting_ids: set[str]) -> None:
        """Close the books on live orders the exchange no longer shows as resting."""
        for client_id, order in list(self.live.items()):
            if client_id in resting_ids:
                continue
            if order.order_id is None:
                self._drop(client_id, OrderRejected(client_id, "lost",
                                                    "never reached the exchange"))
            else:
                self._drop(client_id, OrderCancelled(client_id, order.order_id,
                                                     "gone from the exchange"))

    def _record_fill(self, trade: dict[str, Any], now: float, outcome: Outcome) -> None:
        """Log one trade of the account, shrink its order, and count it."""
        self._last_trade = int(trade["id"])
        order_id = str(trade["order"])
        client_id = self._client_of_order.get(order_id, "")
        body = OrderFilled(
            client_id, order_id, str(trade["id"]), Side(trade["side"]), dec(trade["price"]),
            dec(trade["amount"]), dec(trade["fee"]), trade["fee_asset"] or self._rules.quote,
            self._rules.base, self._rules.quote)
        outcome.fills.append(self._events.append(self.symbol, body))
        self.counters.filled(now)
        live = self.live.get(client_id)
        if live is not None:
            live.filled_lots += self._rules.size_lots(body.amount)
            if live.remaining_lots <= 0:
                del self.live[client_id]
