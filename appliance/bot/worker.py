"""One worker per symbol: a single asyncio task that owns that symbol's state (seed 004).

A cycle reads as one pass, each step returning what it decided:
`settle → view → strategy → plan → gate → send`. Settling brings the symbol's own orders and
fills up to date (`OrderManager.settle`); the market view is the book without the box's own
orders; the strategy turns view and holdings into desired quotes; the plan is the fewest
cancels and creates that get there; the gate gives each a verdict; the order manager sends
what passed. A risk trip is recorded once, where it is found, and only changes what the next
step wants: a symbol that is not ACTIVE wants no quotes, so the same pass cancels its orders.

Everything the decisions depend on enters through the worker's entry points (`cycle`,
`operate`, `on_book`, `on_trades`, `take_others`) with the time it happened, or as an answer
of the order manager's venue: the recorder keeps exactly those, and a replay feeds them back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from appliance.compliance.integrity import CancelCause
from appliance.config.pair import PairSettings, pair_of
from appliance.ledger import Position, apply_fill_event, positions_from_events
from appliance.market.monitor import MarketMonitor
from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.orders.gate import gate
from appliance.orders.manager import OrderManager, Outcome, dec
from appliance.orders.venue import top_of
from appliance.risk.const import SymbolState
from appliance.risk.guard import SymbolGuard
from appliance.risk.verdict import StateChange, Trip
from appliance.store.appliance_db import Pair
from appliance.store.events import (
    Event,
    EventLog,
    OrderFilled,
    QuotesChosen,
    RiskTripped,
    SymbolStateChanged,
)
from appliance.strategies.holdings import Holdings
from appliance.strategies.registry import build_strategy
from appliance.vocabulary import Quote, Side

log = logging.getLogger(__name__)

STALE_AFTER_S = 10.0
"""A book not refreshed for this long is stale: the guard pauses the symbol."""
BALANCE_EVERY_S = 30.0
"""How often the account's balances are read for the strategy's holdings."""
OPERATOR_ACTIONS = ("activate", "pause", "clear_halt")


class OperatorRefused(Exception):
    """The operator's action does not apply now; the message says what to do."""


class InputRecorder(Protocol):
    """Where a worker writes down each input of its decisions (see `appliance.recorder`)."""

    def record(self, now: float, kind: str, payload: dict[str, Any]) -> None:
        """Write down one input that arrived at `now`."""


class SymbolWorker:
    """Quote one pair on one exchange until told to stop; then cancel what rests."""

    def __init__(
        self, pair: Pair, orders: OrderManager, events: EventLog, rules: MarketRules,
        guard: SymbolGuard, recorder: InputRecorder | None = None,
    ) -> None:
        self.pair = pair
        self.symbol = pair.symbol
        self.market = f"{pair.exchange}:{pair.symbol}"
        self.others: list[Quote] = []
        """Other bots' resting orders on this market."""
        self.guard = guard
        self.orders = orders
        self.strategy = build_strategy(pair.strategy, pair.params)
        self.position = Position(self.symbol)
        self.monitor = MarketMonitor(self.symbol)
        self.streamed = False
        """Whether a market feed streams the book in; else each cycle reads it."""
        self.recorder = recorder
        self._events = events
        self._rules = rules
        self._last_quotes: list[Quote] | None = None
        self._balances: dict[str, float] = {}
        self._balances_at = -BALANCE_EVERY_S
        self._snapshots = 0
        self._turn = asyncio.Lock()
        """One cycle or operator action at a time: each sees the state the last one left."""

    @property
    def turn(self) -> asyncio.Lock:
        """Return the lock each cycle and operator action holds: hold it to see the worker's
        orders as they stand between two cycles."""
        return self._turn

    @property
    def rules(self) -> MarketRules:
        """Return the market's rules: tick, lot and minimum order value."""
        return self._rules

    def restore(self, now: float) -> None:
        """Rebuild inventory, strategy state, known orders and a standing halt from the log."""
        history = [e for e in self._events.events() if e.symbol == self.symbol]
        self.position = positions_from_events(history).get(self.symbol, Position(self.symbol))
        for event in history:
            if isinstance(event.body, OrderFilled):
                self._tell_strategy(event.body)
        self.orders.restore(history, now)
        if _last_state(history) is SymbolState.HALTED:
            self._record_state(self.guard.halt(), "halted before the restart; clear the halt")

    async def reconcile(self, now: float) -> None:
        """Settle what happened while the bot was down, then cancel everything resting."""
        async with self._turn:
            self._record(now, "reconcile", {})
            self._take(await self.orders.cancel_all(now), now)

    async def cycle(self, now: float) -> None:
        """Take one look at the market and bring the resting quotes in line with it."""
        async with self._turn:
            self._record(now, "cycle", {})
            self._take(await self.orders.settle(now), now)
            if not self.streamed:
                self._take_book(await self.orders.venue.book(), now)
            self._trip(self.guard.observe_market(self.monitor.health(now, STALE_AFTER_S)))
            view = self.monitor.view(now, self.orders.own(Side.BUY), self.orders.own(Side.SELL))
            if view is not None:
                self._mark(view)
            desired = [] if view is None else self.strategy.quotes(
                view, await self._holdings(now), self._rules)
            if desired != self._last_quotes:
                self._record_quotes(view, desired)
            if self.pair.shadow:
                return
            active = self.guard.state is SymbolState.ACTIVE
            await self._pass(desired if active else [], now,
                             CancelCause.REPLACE if active else CancelCause.RISK_TRIP)

    async def check_stale(self, now: float) -> None:
        """Let the guard see the market's age when the exchange could not be read."""
        async with self._turn:
            self._record(now, "check_stale", {})
            self._trip(self.guard.observe_market(self.monitor.health(now, STALE_AFTER_S)))

    async def operate(self, action: str, now: float, *, actor: str = "",
                      fingerprint: str = "") -> SymbolState:
        """Carry out an operator's action on this symbol and return its state after it.

        The state change is logged with who asked for it (`actor`, `fingerprint`: the user
        as the user-activity log names them). A symbol that leaves ACTIVE has its orders
        cancelled before the answer.
        """
        if action not in OPERATOR_ACTIONS:
            raise OperatorRefused(f"'{action}' is not an action; use one of "
                                  f"{', '.join(OPERATOR_ACTIONS)}")
        async with self._turn:
            if action == "activate" and self.guard.state is SymbolState.HALTED:
                raise OperatorRefused(f"{self.symbol} is halted; clear the halt, then activate it")
            self._record(now, "operate",
                         {"action": action, "actor": actor, "fingerprint": fingerprint})
            self._record_state(getattr(self.guard, action)(), actor=actor,
                               fingerprint=fingerprint)
            if self.guard.state is not SymbolState.ACTIVE:
                await self._pass([], now, CancelCause.OPERATOR)
            return self.guard.state

    async def configure(self, settings: PairSettings, now: float) -> None:
        """Take new settings between two cycles: the next cycle quotes by them.

        A new kind of strategy first cancels what the old one rests, then the next cycle plans
        afresh; a strategy keeping state (a grid) is told the symbol's past fills again.
        """
        async with self._turn:
            self._record(now, "configure", {"settings": settings.model_dump(mode="json")})
            kind_changed = settings.strategy.kind != self.pair.strategy
            self.pair = pair_of(self.pair.bot, self.pair.exchange, self.symbol, settings)
            self.orders.tolerance = settings.tolerance
            self.orders.integrity = settings.integrity
            if kind_changed:
                await self._pass([], now, CancelCause.OPERATOR)
            self.strategy = build_strategy(self.pair.strategy, self.pair.params)
            for event in self._events.events():
                if event.symbol == self.symbol and isinstance(event.body, OrderFilled):
                    self._tell_strategy(event.body)
            self._last_quotes = None

    async def cancel_all(self, now: float) -> int:
        """Cancel every order of this symbol on the exchange; return how many the box knew."""
        async with self._turn:
            self._record(now, "cancel_all", {})
            known = len(self.orders.live)
            self._take(await self.orders.cancel_all(now), now)
            return known

    def resting(self) -> list[tuple[str, int]]:
        """Return this symbol's resting orders as (side, price in ticks), for the other bots."""
        return self.orders.resting()

    def on_book(self, book: Any) -> None:
        """Take the top of a streamed ccxt order book as the market's book now."""
        now, top = time.time(), top_of(book)
        self._record(now, "book", top)
        self._take_book(top, now)

    def on_trades(self, trades: list[Any]) -> None:
        """Take public trades of the market, as ccxt reports them: the recorder keeps them."""
        self._record(time.time(), "trades", {"trades": [
            [t["price"], t["amount"], t["side"]] for t in trades]})

    def take_others(self, others: list[tuple[str, int]], now: float) -> None:
        """Take the other bots' resting orders on this market, as (side, price in ticks)."""
        quotes = [Quote(Side(side), int(price), 0) for side, price in others]
        if quotes != self.others:
            self._record(now, "others", {"others": others})
            self.others = quotes

    def take_input(self, now: float, kind: str, payload: dict[str, Any]) -> None:
        """Take one recorded input that arrives between the answers of the venue (replay)."""
        if kind == "book":
            self._take_book(payload, now)
        elif kind == "others":
            self.take_others(payload["others"], now)

    async def _pass(self, desired: list[Quote], now: float, cause: CancelCause) -> None:
        """Plan the orders that give `desired`, gate them, and send what passed."""
        plan = self.orders.plan(desired)
        if not plan.messages:
            return  # the orders resting are the ones wanted: nothing to gate, nothing to send
        given = await self.orders.gate_input(now, self.guard.standing(), self.others, cause)
        gated = gate(plan, given)
        for refused in gated.refused:
            if refused.over_rate is not None:
                self._trip(self.guard.observe_over_rate(now, refused.over_rate))
        self._take(await self.orders.send(gated, now), now)

    def _take(self, outcome: Outcome, now: float) -> None:
        """Apply what settling or sending brought: each fill, then each refusal, to the guard."""
        for fill in outcome.fills:
            self._fill(fill)
        for why in outcome.refusals:
            self._trip(self.guard.observe_reject(now, why))

    def _take_book(self, top: dict[str, Any], now: float) -> None:
        self._snapshots += 1
        self.monitor.on_snapshot(
            now, int(top.get("nonce") or self._snapshots),
            [self._level(price, amount) for price, amount in top["bids"]],
            [self._level(price, amount) for price, amount in top["asks"]])

    def _level(self, price: Any, amount: Any) -> tuple[int, int]:
        return self._rules.price_ticks(dec(price)), self._rules.size_lots(dec(amount))

    def _mark(self, view: MarketView) -> None:
        """Show the guard the position and PnL at the current mid."""
        mid = self._rules.tick * (view.best_bid + view.best_ask) / 2
        self._trip(self.guard.observe_position(self.position.base, mid))
        self._trip(self.guard.observe_equity(self.position.pnl(mid)))

    async def _holdings(self, now: float) -> Holdings:
        if now - self._balances_at >= BALANCE_EVERY_S:
            self._balances = await self.orders.venue.balances()
            self._balances_at = now
        return Holdings(self.position.base,
                        dec(self._balances.get(self._rules.base) or 0),
                        dec(self._balances.get(self._rules.quote) or 0))

    def _fill(self, fill: Event) -> None:
        """Move the position by a fill, tell the strategy, and let the guard see the result."""
        assert isinstance(fill.body, OrderFilled)
        apply_fill_event({self.symbol: self.position}, self.symbol, fill.body)
        self._tell_strategy(fill.body)
        self._trip(self.guard.observe_position(self.position.base, fill.body.price))

    def _tell_strategy(self, fill: OrderFilled) -> None:
        """Tell the strategy of a fill (a grid answers each one)."""
        self.strategy.on_fill(fill.side, self._rules.price_ticks(fill.price),
                              self._rules.size_lots(fill.amount))

    def _record_quotes(self, view: MarketView | None, quotes: list[Quote]) -> None:
        self._last_quotes = quotes
        rules = self._rules
        levels = {side: tuple((rules.price(q.price_ticks), rules.size(q.size_lots))
                              for q in quotes if q.side is side) for side in Side}
        if view is None:
            mid = best_bid = best_ask = None
        else:
            mid = rules.tick * (view.best_bid + view.best_ask) / 2
            best_bid, best_ask = rules.price(view.best_bid), rules.price(view.best_ask)
        self._events.append(self.symbol, QuotesChosen(
            mid, levels[Side.BUY], levels[Side.SELL], best_bid, best_ask, self.position.base))

    def _record_state(self, change: StateChange | None, reason: str | None = None, *,
                      actor: str = "", fingerprint: str = "") -> None:
        if change is not None:
            self._events.append(self.symbol, SymbolStateChanged(
                change.state, reason or change.reason, actor, fingerprint))

    def _trip(self, trip: Trip | None) -> None:
        """Record why the guard stopped the symbol; the pass that follows cancels its orders."""
        if trip is None:
            return
        log.warning("%s: risk trip %s: %s", self.symbol, trip.kind, trip.reason)
        self._events.append(self.symbol, RiskTripped(trip.kind, trip.reason, trip.new_state))

    def _record(self, now: float, kind: str, payload: dict[str, Any]) -> None:
        if self.recorder is not None:
            self.recorder.record(now, kind, payload)


def _last_state(history: list[Event]) -> SymbolState | None:
    """Return the symbol's last recorded state (by the operator or a risk trip)."""
    for event in reversed(history):
        if isinstance(event.body, SymbolStateChanged | RiskTripped):
            return event.body.state
    return None

