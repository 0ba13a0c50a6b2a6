"""One worker per symbol: a single asyncio task that owns that symbol's state (seed 004).

Each cycle: bring the symbol's own orders and fills up to date (`OwnOrders`: the orders whose
answer was lost first, then the account stream or a settlement over REST), read the book into
the market monitor unless a feed streams it in, let the risk guard see the market, ask the
strategy for quotes, and send only the cancels and creates needed, each create past integrity
and risk checks first. Each fill moves the position, reaches the strategy and the guard.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.own_orders import OwnOrders, dec
from appliance.compliance.integrity import CancelCause, MarketIntegrity
from appliance.compliance.rules import ComplianceRules
from appliance.compliance.self_trade import RestingOrder
from appliance.exchanges.capabilities import order_params
from appliance.ledger import (
    Position,
    apply_fill_event,
    positions_from_events,
)
from appliance.market.monitor import MarketMonitor
from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.orders.budget import RateBudget
from appliance.orders.live import ClientIds, LiveOrder
from appliance.orders.plan import Tolerance, plan_orders
from appliance.orders.refusals import Refusal, RefusalMemory
from appliance.risk.const import SymbolState
from appliance.risk.guard import SymbolGuard
from appliance.risk.verdict import StateChange, Trip
from appliance.store.appliance_db import Pair
from appliance.store.events import Event, EventKind, EventLog
from appliance.strategies.holdings import Holdings
from appliance.strategies.registry import build_strategy
from appliance.vocabulary import Quote, Side

log = logging.getLogger(__name__)

REFUSAL_COOLDOWN_S = 10.0
"""How long an order like one the exchange refused is held back."""
STALE_AFTER_S = 10.0
"""A book not refreshed for this long is stale: the guard pauses the symbol."""
BOOK_DEPTH = 20
BALANCE_EVERY_S = 30.0
"""How often the account's balances are read for the strategy's holdings."""
OPERATOR_ACTIONS = ("activate", "pause", "clear_halt")


def refusal_of(exc: Exception) -> Refusal:
    """Return what kind of refusal a ccxt error is."""
    if isinstance(exc, ccxt_async.OrderImmediatelyFillable):
        return Refusal.POST_ONLY
    if isinstance(exc, ccxt_async.InsufficientFunds):
        return Refusal.INSUFFICIENT_BALANCE
    return Refusal.OTHER


class OperatorRefused(Exception):
    """The operator's action does not apply now; the message says what to do."""


class SymbolWorker:
    """Quote one pair on one exchange until told to stop; then cancel what rests."""

    def __init__(
        self, pair: Pair, client: Any, events: EventLog, rules: MarketRules, ids: ClientIds,
        budget: RateBudget, guard: SymbolGuard,
    ) -> None:
        self.pair = pair
        self.symbol = pair.symbol
        self.market = f"{pair.exchange}:{pair.symbol}"
        self.others: list[Quote] = []  # other bots' resting orders on this market
        self.guard = guard
        self.strategy = build_strategy(pair.strategy, pair.params)
        self.position = Position(self.symbol)
        self.monitor = MarketMonitor(self.symbol)
        self._client = client
        self._events = events
        self._rules = rules
        self._ids = ids
        self._budget = budget
        self._tolerance = Tolerance()
        self._refusals = RefusalMemory(REFUSAL_COOLDOWN_S)
        self._integrity = MarketIntegrity(ComplianceRules())
        self._order_params = order_params(str(client.id))
        self.orders = OwnOrders(self.symbol, client, events, rules, self._on_fill)
        self._last_quotes: list[Quote] | None = None
        self._holdings = Holdings(Decimal(0), Decimal(0), Decimal(0))
        self._balances_at = -BALANCE_EVERY_S
        self._snapshots = 0
        self.streamed = False
        """Whether a market feed streams the book and trades in; else each cycle reads it."""

    def restore(self) -> None:
        """Rebuild inventory, strategy state, known orders and a standing halt from the log."""
        history = [e for e in self._events.events() if e.symbol == self.symbol]
        self.position = positions_from_events(history).get(self.symbol, Position(self.symbol))
        for event in history:
            if event.kind is EventKind.FILL:
                self._replay_fill(event)
        self.orders.restore(history)
        if _last_state(history) == SymbolState.HALTED.name:
            self._record_state(self.guard.halt(), "halted before the restart; clear the halt")

    async def reconcile(self) -> None:
        """Settle what happened while the bot was down, then cancel everything resting."""
        await self.orders.sync_fills()
        await self.cancel_all()

    async def cycle(self) -> None:
        """Take one look at the market and bring the resting quotes in line with it."""
        now = time.time()
        await self.orders.settle(now)
        if not self.streamed:
            await self._read_book()
        await self._on_trip(self.guard.observe_market(self.monitor.health(now, STALE_AFTER_S)))
        view = self.monitor.view(now, self._own(Side.BUY), self._own(Side.SELL))
        if view is not None:
            await self._mark(view)
        desired = [] if view is None else self.strategy.quotes(
            view, await self._current_holdings(now), self._rules)
        if desired != self._last_quotes:
            self._record_quotes(view, desired)
        if self.pair.shadow:
            return
        if self.guard.state is not SymbolState.ACTIVE:
            desired = []
        await self._apply(desired, now)

    async def check_stale(self) -> None:
        """Let the guard see the market's age when the exchange could not be read."""
        health = self.monitor.health(time.time(), STALE_AFTER_S)
        await self._on_trip(self.guard.observe_market(health))

    async def operate(self, action: str) -> SymbolState:
        """Carry out an operator's action on this symbol and return its state after it."""
        if action not in OPERATOR_ACTIONS:
            raise OperatorRefused(f"'{action}' is not an action; use one of "
                                  f"{', '.join(OPERATOR_ACTIONS)}")
        if action == "activate" and self.guard.state is SymbolState.HALTED:
            raise OperatorRefused(f"{self.symbol} is halted; clear the halt, then activate it")
        self._record_state(getattr(self.guard, action)())
        if self.guard.state is not SymbolState.ACTIVE:
            await self.cancel_all()
        return self.guard.state

    async def cancel_all(self) -> int:
        """Cancel every order of this symbol on the exchange; return how many were open."""
        resting = await self._client.fetch_open_orders(self.symbol)
        for order in resting:
            await self._cancel(str(order["id"]), order.get("clientOrderId") or "")
        await self.orders.sync_fills()
        for client_id in list(self.orders.live):
            self.orders.drop(client_id, EventKind.CANCEL, {"reason": "not on the exchange"})
        return len(resting)

    def resting(self) -> list[tuple[str, int]]:
        """Return this symbol's resting orders as (side, price in ticks), for the other bots."""
        return [(o.side.value, o.price_ticks) for o in self.orders.live.values()]

    def _own(self, side: Side) -> list[tuple[int, int]]:
        return [(o.price_ticks, o.remaining_lots) for o in self.orders.live.values()
                if o.side is side]

    def on_book(self, book: Any) -> None:
        """Take the top of a ccxt order book (polled or streamed) as the market's book now."""
        self._snapshots += 1
        self.monitor.on_snapshot(
            time.time(), int(book.get("nonce") or self._snapshots),
            [self._level(price, amount) for price, amount, *_ in book["bids"][:BOOK_DEPTH]],
            [self._level(price, amount) for price, amount, *_ in book["asks"][:BOOK_DEPTH]])

    def on_trades(self, trades: list[Any]) -> None:
        """Put public trades of the market, as ccxt reports them, on the trade tape."""
        now = time.time()
        for trade in trades:
            self.monitor.on_trade(now, *self._level(trade["price"], trade["amount"]),
                                  Side(trade["side"]))

    async def _read_book(self) -> None:
        self.on_book(await self._client.fetch_order_book(self.symbol, limit=BOOK_DEPTH))

    def _level(self, price: Any, amount: Any) -> tuple[int, int]:
        return self._rules.price_ticks(dec(price)), self._rules.size_lots(dec(amount))

    async def _mark(self, view: MarketView) -> None:
        """Show the guard the position and PnL at the current mid."""
        mid = self._rules.tick * (view.best_bid + view.best_ask) / 2
        await self._on_trip(self.guard.observe_position(self.position.base, mid))
        await self._on_trip(self.guard.observe_equity(self.position.pnl(mid)))

    async def _current_holdings(self, now: float) -> Holdings:
        if now - self._balances_at >= BALANCE_EVERY_S:
            balance = await self._client.fetch_balance()
            total = balance.get("total", {})
            self._holdings = Holdings(self.position.base, dec(total.get(self._rules.base) or 0),
                                      dec(total.get(self._rules.quote) or 0))
            self._balances_at = now
        return Holdings(self.position.base, self._holdings.base_balance,
                        self._holdings.quote_balance)

    def _record_quotes(self, view: MarketView | None, quotes: list[Quote]) -> None:
        self._last_quotes = quotes
        rules = self._rules
        levels = {side: [[str(rules.price(q.price_ticks)), str(rules.size(q.size_lots))]
                         for q in quotes if q.side is side] for side in Side}
        mid = None if view is None else str(rules.tick * (view.best_bid + view.best_ask) / 2)
        self._events.append(EventKind.QUOTE, self.symbol, {
            "mid": mid, "bid": next(iter(levels[Side.BUY]), None),
            "ask": next(iter(levels[Side.SELL]), None),
            "bids": levels[Side.BUY], "asks": levels[Side.SELL]})

    def _record_state(self, change: StateChange | None, reason: str | None = None) -> None:
        if change is not None:
            self._events.append(EventKind.STATE, self.symbol, {
                "state": change.state.name, "reason": reason or change.reason})

    async def _on_trip(self, trip: Trip | None) -> None:
        """Cancel all of the symbol's orders and record why the guard stopped it."""
        if trip is None:
            return
        log.warning("%s: risk trip %s: %s", self.symbol, trip.kind, trip.reason)
        self._events.append(EventKind.RISK, self.symbol, {
            "trip": trip.kind.value, "reason": trip.reason, "state": trip.new_state.name})
        try:
            await self.cancel_all()
        except ccxt_async.OperationFailed as exc:
            # The symbol is no longer active: every next cycle cancels what is left.
            log.warning("%s: cancels wait for the exchange to answer: %s", self.symbol, exc)

    async def _apply(self, desired: list[Quote], now: float) -> None:
        """Send only the cancels and creates needed, cancels first, within the rate budget."""
        plan = plan_orders(desired, list(self.orders.live.values()), self._tolerance)
        cause = CancelCause.REPLACE if desired else CancelCause.RISK_TRIP
        for order in plan.cancels:
            if not self._integrity.check_cancel(now, order.placed_at, cause).allowed:
                continue
            if order.order_id is None or not self._budget.take(now):
                return
            await self._cancel(order.order_id, order.client_id)
        for quote in plan.creates:
            if self._refusals.allows(now, quote) and await self._cleared(now, quote):
                if not self._budget.take(now):
                    return
                await self._create(quote, now)

    async def _cleared(self, now: float, quote: Quote) -> bool:
        """Return whether integrity and risk let `quote` leave now (recording any trip)."""
        resting = list(self.orders.live.values())
        box: list[RestingOrder] = [*resting, *self.others]
        if not self._integrity.check_order(now, quote.side, quote.price_ticks, box).allowed:
            return False
        same_side = sum(o.remaining_lots for o in resting if o.side is quote.side)
        verdict = self.guard.check_order(
            now, quote.side, self._rules.price(quote.price_ticks),
            self._rules.size(quote.size_lots), resting=self._rules.size(same_side))
        await self._on_trip(verdict.trip)
        return verdict.allowed

    async def _create(self, quote: Quote, now: float) -> None:
        client_id = self._ids.next()
        price, amount = self._rules.price(quote.price_ticks), self._rules.size(quote.size_lots)
        self._events.append(EventKind.ORDER, self.symbol, {
            "client_id": client_id, "side": quote.side.value, "price": str(price),
            "amount": str(amount)})
        order = LiveOrder(client_id, quote.side, quote.price_ticks, quote.size_lots,
                          placed_at=now)
        try:
            placed = await self._client.create_order(
                self.symbol, "limit", quote.side.value, str(amount), str(price),
                {**self._order_params, "newClientOrderId": client_id, "postOnly": True})
        except ccxt_async.OperationFailed as exc:
            await self.orders.doubt(order, exc)
            return
        except ccxt_async.ExchangeError as exc:
            why = refusal_of(exc)
            self._refusals.refused(now, quote, why)
            self._events.append(EventKind.REJECT, self.symbol, {
                "client_id": client_id, "reason": why.value, "error": str(exc)[:300]})
            await self._on_trip(self.guard.observe_reject(now, why))
            return
        self.orders.acknowledge(order, str(placed["id"]))

    async def _cancel(self, order_id: str, client_id: str) -> None:
        try:
            await self._client.cancel_order(order_id, self.symbol)
        except ccxt_async.OrderNotFound:
            await self.orders.sync_fills()
        except ccxt_async.OperationFailed as exc:
            order = self.orders.live.get(client_id)
            if order is None:
                raise
            await self.orders.doubt(order, exc)
            return
        if client_id in self.orders.live:
            self.orders.drop(client_id, EventKind.CANCEL, {"order_id": order_id})

    async def _on_fill(self, fill: Event) -> None:
        """Move the position by a fill, tell the strategy, and let the guard see the result."""
        apply_fill_event({self.symbol: self.position}, fill)  # as a rebuild from the log would
        self._replay_fill(fill)
        self._integrity.observe_fill(fill.ts)
        price = dec(fill.data["price"])
        await self._on_trip(self.guard.observe_position(self.position.base, price))

    def _replay_fill(self, fill: Event) -> None:
        """Tell the strategy of a fill (a grid answers each one)."""
        self.strategy.on_fill(Side(fill.data["side"]),
                              self._rules.price_ticks(dec(fill.data["price"])),
                              self._rules.size_lots(dec(fill.data["amount"])))


def _last_state(history: list[Event]) -> str | None:
    """Return the symbol's last recorded state (by the operator or a risk trip)."""
    for event in reversed(history):
        if event.kind in (EventKind.STATE, EventKind.RISK) and "state" in event.data:
            return str(event.data["state"]).upper()
    return None
