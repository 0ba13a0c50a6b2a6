"""One worker per symbol: a single asyncio task that owns that symbol's state (seed 004)."""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.ledger import Position, open_orders_from_events, positions_from_events
from appliance.market.rules import MarketRules
from appliance.market.view import MarketView, others_best
from appliance.orders.budget import RateBudget
from appliance.orders.live import ClientIds, LiveOrder
from appliance.orders.plan import Tolerance, plan_orders
from appliance.orders.refusals import Refusal, RefusalMemory
from appliance.store.appliance_db import Pair
from appliance.store.events import EventKind, EventLog
from appliance.strategies.quote import Quote, Side
from appliance.strategies.spread import SpreadParams, spread_quotes

log = logging.getLogger(__name__)

REFUSAL_COOLDOWN_S = 10.0
"""How long an order like one the exchange refused is held back."""


def refusal_of(exc: Exception) -> Refusal:
    """Return what kind of refusal a ccxt error is."""
    if isinstance(exc, ccxt_async.OrderImmediatelyFillable):
        return Refusal.POST_ONLY
    if isinstance(exc, ccxt_async.InsufficientFunds):
        return Refusal.INSUFFICIENT_BALANCE
    return Refusal.OTHER


def dec(value: Any) -> Decimal:
    """Return an exchange number as a Decimal (ccxt reports floats; their repr is exact)."""
    return Decimal(str(value))


class SymbolWorker:
    """Quote one pair on one exchange until told to stop; then cancel what rests."""

    def __init__(
        self, pair: Pair, client: Any, events: EventLog, rules: MarketRules, ids: ClientIds,
        budget: RateBudget,
    ) -> None:
        self.pair = pair
        self.symbol = pair.symbol
        self.params = SpreadParams.model_validate(pair.params)
        self._client = client
        self._events = events
        self._rules = rules
        self._ids = ids
        self._budget = budget
        self._tolerance = Tolerance()
        self._refusals = RefusalMemory(REFUSAL_COOLDOWN_S)
        self._live: dict[str, LiveOrder] = {}
        self._client_of_order: dict[str, str] = {}
        self._last_trade = 0
        self._last_quotes: list[Quote] | None = None
        self.position = Position(self.symbol)

    def restore(self) -> None:
        """Rebuild inventory, known orders and the last seen trade from the event log."""
        history = [e for e in self._events.events() if e.symbol == self.symbol]
        self.position = positions_from_events(history).get(self.symbol, Position(self.symbol))
        for event in history:
            if event.kind is EventKind.ACK:
                self._client_of_order[str(event.data["order_id"])] = str(event.data["client_id"])
            elif event.kind is EventKind.FILL:
                self._last_trade = max(self._last_trade, int(event.data["trade_id"]))
        for order in open_orders_from_events(history):
            self._live[order.client_id] = LiveOrder(
                order.client_id, Side(order.side), self._rules.price_ticks(order.price),
                self._rules.size_lots(order.amount), order.order_id,
                self._rules.size_lots(order.filled),
            )

    async def reconcile(self) -> None:
        """Settle what happened while the bot was down, then cancel everything resting."""
        await self._sync_fills()
        await self.cancel_all()

    async def cycle(self) -> None:
        """Take one look at the market and bring the resting quotes in line with it."""
        open_orders = await self._client.fetch_open_orders(self.symbol)
        await self._sync_fills()
        self._settle_vanished({o.get("clientOrderId") for o in open_orders})
        book = await self._client.fetch_order_book(self.symbol, limit=20)
        view = self._view(book)
        desired = [] if view is None else spread_quotes(
            view, self.position.base, self.params, self._rules)
        if desired != self._last_quotes:
            self._record_quotes(view, desired)
        if not self.pair.shadow:
            await self._apply(desired)

    async def cancel_all(self) -> int:
        """Cancel every order of this symbol on the exchange; return how many were open."""
        resting = await self._client.fetch_open_orders(self.symbol)
        for order in resting:
            await self._cancel(str(order["id"]), order.get("clientOrderId") or "")
        await self._sync_fills()
        for client_id in list(self._live):
            self._drop(client_id, EventKind.CANCEL, {"reason": "not on the exchange"})
        return len(resting)

    def _view(self, book: dict[str, Any]) -> MarketView | None:
        own = {side: [(o.price_ticks, o.remaining_lots) for o in self._live.values()
                      if o.side is side] for side in Side}
        bids = [(self._rules.price_ticks(dec(p)), self._rules.size_lots(dec(a)))
                for p, a, *_ in book["bids"]]
        asks = [(self._rules.price_ticks(dec(p)), self._rules.size_lots(dec(a)))
                for p, a, *_ in book["asks"]]
        best_bid, best_ask = others_best(bids, own[Side.BUY]), others_best(asks, own[Side.SELL])
        if best_bid is None or best_ask is None:
            return None
        return MarketView(best_bid, best_ask)

    def _record_quotes(self, view: MarketView | None, quotes: list[Quote]) -> None:
        self._last_quotes = quotes
        rules = self._rules
        by_side = {q.side: [str(rules.price(q.price_ticks)), str(rules.size(q.size_lots))]
                   for q in quotes}
        mid = None if view is None else str(rules.tick * (view.best_bid + view.best_ask) / 2)
        self._events.append(EventKind.QUOTE, self.symbol, {
            "mid": mid, "bid": by_side.get(Side.BUY), "ask": by_side.get(Side.SELL)})

    async def _apply(self, desired: list[Quote]) -> None:
        """Send only the cancels and creates needed, cancels first, within the rate budget."""
        now = time.monotonic()
        plan = plan_orders(desired, list(self._live.values()), self._tolerance)
        for order in plan.cancels:
            if order.order_id is None or not self._budget.take(now):
                return
            await self._cancel(order.order_id, order.client_id)
        for quote in plan.creates:
            if self._refusals.allows(now, quote) and self._budget.take(now):
                await self._create(quote)

    async def _create(self, quote: Quote) -> None:
        client_id = self._ids.next()
        price, amount = self._rules.price(quote.price_ticks), self._rules.size(quote.size_lots)
        self._events.append(EventKind.ORDER, self.symbol, {
            "client_id": client_id, "side": quote.side.value, "price": str(price),
            "amount": str(amount)})
        order = LiveOrder(client_id, quote.side, quote.price_ticks, quote.size_lots)
        try:
            placed = await self._client.create_order(
                self.symbol, "limit", quote.side.value, str(amount), str(price),
                {"newClientOrderId": client_id, "postOnly": True})
        except ccxt_async.NetworkError as exc:
            # Sent or not, we cannot tell: the next look at open orders settles it.
            log.warning("%s: order %s in doubt: %s", self.symbol, client_id, exc)
            self._live[client_id] = order
            return
        except ccxt_async.ExchangeError as exc:
            self._refusals.refused(time.monotonic(), quote, refusal_of(exc))
            self._events.append(EventKind.REJECT, self.symbol, {
                "client_id": client_id, "reason": refusal_of(exc).value, "error": str(exc)[:300]})
            return
        self._acknowledge(order, str(placed["id"]))

    def _acknowledge(self, order: LiveOrder, order_id: str) -> None:
        order.order_id = order_id
        self._live[order.client_id] = order
        self._client_of_order[order_id] = order.client_id
        self._events.append(EventKind.ACK, self.symbol, {
            "client_id": order.client_id, "order_id": order_id})

    async def _cancel(self, order_id: str, client_id: str) -> None:
        try:
            await self._client.cancel_order(order_id, self.symbol)
        except ccxt_async.OrderNotFound:
            await self._sync_fills()
        if client_id in self._live:
            self._drop(client_id, EventKind.CANCEL, {"order_id": order_id})

    def _drop(self, client_id: str, kind: EventKind, data: dict[str, Any]) -> None:
        del self._live[client_id]
        self._events.append(kind, self.symbol, {"client_id": client_id, **data})

    def _settle_vanished(self, resting_ids: set[Any]) -> None:
        """Close the books on live orders the exchange no longer shows as resting."""
        for client_id, order in list(self._live.items()):
            if client_id in resting_ids:
                continue
            if order.order_id is None:
                self._drop(client_id, EventKind.REJECT, {"error": "never reached the exchange"})
            else:
                self._drop(client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                         "reason": "gone from the exchange"})

    async def _sync_fills(self) -> None:
        """Record every trade of the account on this symbol not yet in the log."""
        params = {"fromId": self._last_trade + 1} if self._last_trade else {}
        trades = await self._client.fetch_my_trades(self.symbol, params=params)
        for trade in sorted(trades, key=lambda t: int(t["id"])):
            if int(trade["id"]) > self._last_trade:
                self._record_fill(trade)

    def _record_fill(self, trade: dict[str, Any]) -> None:
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
        self._events.append(EventKind.FILL, self.symbol, data)
        self.position.apply_fill(
            data["side"], dec(data["price"]), dec(data["amount"]), dec(data["fee"]),
            fee_in_base=data["fee_asset"] == self._rules.base)
        live = self._live.get(client_id)
        if live is not None:
            live.filled_lots += self._rules.size_lots(dec(data["amount"]))
            if live.remaining_lots <= 0:
                del self._live[client_id]
