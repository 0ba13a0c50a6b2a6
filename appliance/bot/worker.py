"""One worker per symbol: a single asyncio task that owns that symbol's state (seed 004).

Each cycle: settle any order whose answer was lost (re-queried by its client order id before
anything more is sent), take the orders and fills the account stream delivered — or settle
them with the exchange over REST where there is no stream, the stream broke since the last
settlement, or a settlement is due — read the book into the market monitor unless a feed
streams it in, let the risk guard see the market, ask the strategy for quotes, and send only
the cancels and creates needed, each create past integrity and risk checks first.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.account_feed import AccountFeed
from appliance.compliance.integrity import CancelCause, MarketIntegrity
from appliance.compliance.rules import ComplianceRules
from appliance.compliance.self_trade import RestingOrder
from appliance.exchanges.capabilities import order_params
from appliance.ledger import (
    Position,
    apply_fill_event,
    open_orders_from_events,
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
from appliance.strategies.quote import Quote, Side
from appliance.strategies.registry import build_strategy

log = logging.getLogger(__name__)

REFUSAL_COOLDOWN_S = 10.0
"""How long an order like one the exchange refused is held back."""
STALE_AFTER_S = 10.0
"""A book not refreshed for this long is stale: the guard pauses the symbol."""
BOOK_DEPTH = 20
BALANCE_EVERY_S = 30.0
"""How often the account's balances are read for the strategy's holdings."""
SETTLE_EVERY_S = 60.0
"""How often orders and fills are settled over REST even while the account stream is up."""
OPERATOR_ACTIONS = ("activate", "pause", "clear_halt")
GONE = ("canceled", "expired", "rejected")
"""ccxt's statuses of an order that left the book without filling in full."""


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
        self._live: dict[str, LiveOrder] = {}
        self._client_of_order: dict[str, str] = {}
        self._in_doubt: set[str] = set()  # sent, but the exchange's answer was lost
        self._last_trade = 0
        self._last_quotes: list[Quote] | None = None
        self._holdings = Holdings(Decimal(0), Decimal(0), Decimal(0))
        self._balances_at = -BALANCE_EVERY_S
        self._snapshots = 0
        self.streamed = False
        """Whether a market feed streams the book and trades in; else each cycle reads it."""
        self.account: AccountFeed | None = None
        """The account's user data stream, where the exchange has one; else REST is polled."""
        self._settled_epoch = -1
        self._settled_at = -SETTLE_EVERY_S

    def restore(self) -> None:
        """Rebuild inventory, strategy state, known orders and a standing halt from the log."""
        history = [e for e in self._events.events() if e.symbol == self.symbol]
        self.position = positions_from_events(history).get(self.symbol, Position(self.symbol))
        for event in history:
            if event.kind is EventKind.ACK:
                self._client_of_order[str(event.data["order_id"])] = str(event.data["client_id"])
            elif event.kind is EventKind.FILL:
                self._last_trade = max(self._last_trade, int(event.data["trade_id"]))
                self._replay_fill(event)
        for order in open_orders_from_events(history):
            self._live[order.client_id] = LiveOrder(
                order.client_id, Side(order.side), self._rules.price_ticks(order.price),
                self._rules.size_lots(order.amount), order.order_id,
                self._rules.size_lots(order.filled))
        if _last_state(history) == SymbolState.HALTED.name:
            self._record_state(self.guard.halt(), "halted before the restart; clear the halt")

    async def reconcile(self) -> None:
        """Settle what happened while the bot was down, then cancel everything resting."""
        await self._sync_fills()
        await self.cancel_all()

    async def cycle(self) -> None:
        """Take one look at the market and bring the resting quotes in line with it."""
        now = time.time()
        await self.settle_in_doubt()
        if not self._account_trusted(now):
            await self._settle_account(now)
        await self._take_account_updates()
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

    def _account_trusted(self, now: float) -> bool:
        """Return whether the account stream alone keeps orders and fills up to date now."""
        account = self.account
        return (account is not None and account.live and self._settled_epoch == account.epoch
                and now - self._settled_at < SETTLE_EVERY_S)

    async def _settle_account(self, now: float) -> None:
        """Settle open orders and fills over REST; from then on a live stream can be trusted."""
        account = self.account
        epoch, live = (account.epoch, account.live) if account is not None else (-1, False)
        open_orders = await self._client.fetch_open_orders(self.symbol)
        await self._sync_fills()
        self._settle_vanished({o.get("clientOrderId") for o in open_orders})
        if live:
            self._settled_epoch, self._settled_at = epoch, now

    async def _take_account_updates(self) -> None:
        """Record the fills the account stream brought, then close orders that left the book."""
        if self.account is None:
            return
        for trade in self.account.fills():
            if int(trade["id"]) > self._last_trade:
                await self._record_fill(trade)
        streamed = self.account.orders()
        for client_id, order in list(self._live.items()):
            status = streamed.get(order.order_id or "", {}).get("status")
            if status in GONE:
                self._drop(client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                         "reason": status})

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
        await self._sync_fills()
        for client_id in list(self._live):
            self._drop(client_id, EventKind.CANCEL, {"reason": "not on the exchange"})
        return len(resting)

    def resting(self) -> list[tuple[str, int]]:
        """Return this symbol's resting orders as (side, price in ticks), for the other bots."""
        return [(o.side.value, o.price_ticks) for o in self._live.values()]

    def _own(self, side: Side) -> list[tuple[int, int]]:
        return [(o.price_ticks, o.remaining_lots) for o in self._live.values() if o.side is side]

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
        plan = plan_orders(desired, list(self._live.values()), self._tolerance)
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
        resting = list(self._live.values())
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
            log.warning("%s: order %s in doubt: %s", self.symbol, client_id, exc)
            self._live[client_id] = order
            self._in_doubt.add(client_id)
            await self.settle_in_doubt()
            return
        except ccxt_async.ExchangeError as exc:
            why = refusal_of(exc)
            self._refusals.refused(now, quote, why)
            self._events.append(EventKind.REJECT, self.symbol, {
                "client_id": client_id, "reason": why.value, "error": str(exc)[:300]})
            await self._on_trip(self.guard.observe_reject(now, why))
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
        except ccxt_async.OperationFailed as exc:
            if client_id not in self._live:
                raise
            log.warning("%s: cancel of %s in doubt: %s", self.symbol, client_id, exc)
            self._in_doubt.add(client_id)
            await self.settle_in_doubt()
            return
        if client_id in self._live:
            self._drop(client_id, EventKind.CANCEL, {"order_id": order_id})

    async def settle_in_doubt(self) -> None:
        """Ask the exchange for every order whose answer was lost, and settle what it says.

        Raise the exchange's error while it cannot answer: nothing more may be sent until each
        such order is known, so that no order is ever sent twice.
        """
        for client_id in sorted(self._in_doubt):
            order = self._live.get(client_id)
            if order is not None:
                await self._settle(order)
            self._in_doubt.discard(client_id)

    async def _settle(self, order: LiveOrder) -> None:
        """Bring one order whose answer was lost in line with the exchange's record of it."""
        try:
            found = await self._client.fetch_order(
                order.order_id or "", self.symbol, {"origClientOrderId": order.client_id})
        except ccxt_async.OrderNotFound:
            self._drop(order.client_id, EventKind.REJECT, {"error": "never reached the exchange"})
            return
        if order.order_id is None:
            self._acknowledge(order, str(found["id"]))
        if found.get("status") in GONE or found.get("status") == "closed":
            await self._sync_fills()
        if found.get("status") in GONE and order.client_id in self._live:
            self._drop(order.client_id, EventKind.CANCEL, {"order_id": order.order_id,
                                                           "reason": found.get("status")})

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
                await self._record_fill(trade)

    async def _record_fill(self, trade: dict[str, Any]) -> None:
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
        event = Event(seq, time.time(), EventKind.FILL, self.symbol, data)
        apply_fill_event({self.symbol: self.position}, event)  # as a rebuild from the log would
        self._replay_fill(event)
        self._integrity.observe_fill(time.time())
        await self._on_trip(self.guard.observe_position(self.position.base, dec(data["price"])))
        live = self._live.get(client_id)
        if live is not None:
            live.filled_lots += self._rules.size_lots(dec(data["amount"]))
            if live.remaining_lots <= 0:
                del self._live[client_id]

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
