"""The risk guard of one symbol: its state, its limits and its kill switches (seed 004).

Pure: the caller passes `now` (Unix seconds) and what it saw, and acts on the answer. On a
`Trip` it cancels every order of the symbol and records the trip; it records every
`StateChange` too. Nothing here resumes a symbol: only the operator does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from appliance.market.monitor import MarketHealth
from appliance.orders.refusals import Refusal
from appliance.risk.const import SEVERITY, SymbolState, TripKind
from appliance.risk.exposure import ZERO, Exposure
from appliance.risk.limits import RejectBurst, RiskLimits
from appliance.risk.verdict import ALLOWED, StateChange, Trip, Verdict, refused
from appliance.risk.window import DailyWindow, RollingWindow
from appliance.vocabulary import Side

HEALTH_TRIPS = {
    MarketHealth.STALE: TripKind.STALE_DATA,
    MarketHealth.CROSSED: TripKind.CROSSED_BOOK,
}
HEALTH_REASONS = {
    None: "no market data seen yet",
    MarketHealth.EMPTY: "a side of the book is empty",
    MarketHealth.STALE: "market data is stale",
    MarketHealth.CROSSED: "the book is crossed",
}


class SymbolHalted(Exception):
    """The operator asked to resume a halted symbol."""


@dataclass(frozen=True)
class _OrderRate:
    """Orders sent within one window, and orders asked for beyond its limit in that window."""

    limit: int
    span: str
    sent: RollingWindow | DailyWindow
    excess: RollingWindow | DailyWindow


class SymbolGuard:
    """Decide whether one symbol's orders may leave, and stop the symbol when a limit trips."""

    def __init__(self, symbol: str, limits: RiskLimits, exposure: Exposure) -> None:
        self.symbol = symbol
        self.limits = limits
        self._exposure = exposure
        self._state = SymbolState.PAUSED
        self._health: MarketHealth | None = None
        self._position = ZERO
        self._equity = ZERO
        self._peak: Decimal | None = None
        self._rates = (
            _OrderRate(limits.max_orders_per_second, "in the last second",
                       RollingWindow(1.0), RollingWindow(1.0)),
            _OrderRate(limits.max_orders_per_day, "today (UTC)", DailyWindow(), DailyWindow()),
        )
        self._rejects = RollingWindow(limits.reject_storm.window_s)
        self._balance_rejects = RollingWindow(limits.insufficient_balance.window_s)

    @property
    def state(self) -> SymbolState:
        """Return the symbol's state."""
        return self._state

    @property
    def position(self) -> Decimal:
        """Return the position last observed, in the base asset."""
        return self._position

    def activate(self) -> StateChange | None:
        """Resume quoting (operator); a halted symbol needs its halt cleared first."""
        if self._state is SymbolState.HALTED:
            raise SymbolHalted(f"{self.symbol} is halted; clear the halt, then activate it")
        if self._state is SymbolState.ACTIVE:
            return None
        self._acknowledge()
        return self._move(SymbolState.ACTIVE, "activated by the operator")

    def pause(self) -> StateChange | None:
        """Stop quoting until activated again (operator); a halted symbol stays halted."""
        if self._state is not SymbolState.ACTIVE:
            return None
        return self._move(SymbolState.PAUSED, "paused by the operator")

    def halt(self) -> StateChange | None:
        """Stop quoting until the halt is cleared (operator)."""
        if self._state is SymbolState.HALTED:
            return None
        return self._move(SymbolState.HALTED, "halted by the operator")

    def clear_halt(self) -> StateChange | None:
        """Clear a halt (operator): the symbol becomes PAUSED and waits to be activated."""
        if self._state is not SymbolState.HALTED:
            return None
        self._acknowledge()
        return self._move(SymbolState.PAUSED, "halt cleared by the operator")

    def check_order(
        self, now: float, side: Side, price: Decimal, amount: Decimal, *, resting: Decimal = ZERO
    ) -> Verdict:
        """Say whether an order may leave now; an allowed order counts as sent.

        `resting` is the unfilled amount of the symbol's orders already resting on `side`:
        the position limits hold even if all of them fill.
        """
        refusal = (self._state_refusal() or self._limit_refusal(side, price, amount, resting)
                   or self._rate_refusal(now))
        if refusal is not None:
            return refusal
        for rate in self._rates:
            rate.sent.add(now)
        return ALLOWED

    def observe_market(self, health: MarketHealth) -> Trip | None:
        """Take the market monitor's word on the symbol's data; stale or crossed data trips."""
        self._health = health
        kind = HEALTH_TRIPS.get(health)
        return None if kind is None else self._trip(kind, HEALTH_REASONS[health])

    def observe_reject(self, now: float, code: Refusal) -> Trip | None:
        """Count an exchange reject; a storm of them, or funds lacking again and again, trips."""
        balance = None
        if code is Refusal.INSUFFICIENT_BALANCE:
            balance = self._burst(TripKind.INSUFFICIENT_BALANCE, self.limits.insufficient_balance,
                                  self._balance_rejects.add(now), "insufficient-balance rejects")
        storm = self._burst(TripKind.REJECT_STORM, self.limits.reject_storm,
                            self._rejects.add(now), "rejects")
        return storm or balance

    def observe_position(self, position: Decimal, price: Decimal) -> Trip | None:
        """Take the symbol's position from the ledger (after a fill, or at start) at `price`.

        A limit trips only when the position or the exposure grew beyond it, so a symbol the
        operator resumed beyond a limit may trade back within it.
        """
        before, before_value = self._position, self._exposure.value(self.symbol)
        value = abs(position) * price
        self._position = position
        self._exposure.set(self.symbol, value)
        limit = self.limits.max_position
        if abs(position) > limit and abs(position) > abs(before):
            return self._trip(TripKind.POSITION, f"position {position} beyond the limit of {limit}")
        total, max_total = self._exposure.total(), self.limits.max_total_exposure
        if total > max_total and value > before_value:
            return self._trip(
                TripKind.EXPOSURE, f"total exposure {total} beyond the limit of {max_total}")
        return None

    def observe_equity(self, equity: Decimal) -> Trip | None:
        """Take the symbol's equity; a fall below its peak beyond the limit trips."""
        self._equity = equity
        self._peak = equity if self._peak is None else max(self._peak, equity)
        drawdown, limit = self._drawdown(), self.limits.max_drawdown
        if drawdown > limit:
            return self._trip(TripKind.DRAWDOWN, f"equity {equity} is {drawdown} below its peak "
                                                 f"{self._peak}, beyond the limit of {limit}")
        return None

    def _state_refusal(self) -> Verdict | None:
        if self._state is not SymbolState.ACTIVE:
            return refused(f"the symbol is {self._state}")
        if self._health is not MarketHealth.OK:
            return refused(HEALTH_REASONS.get(self._health, f"the market is {self._health}"))
        return None

    def _limit_refusal(
        self, side: Side, price: Decimal, amount: Decimal, resting: Decimal
    ) -> Verdict | None:
        if price <= 0 or amount <= 0 or resting < 0:
            return refused("an order needs a positive price and amount")
        exposed = amount + resting
        after = self._position + (exposed if side is Side.BUY else -exposed)
        limit = self.limits.max_position
        if abs(after) > limit and abs(after) > abs(self._position):
            return refused(f"the position could reach {after}, beyond the limit of {limit}")
        value = abs(after) * price
        total = self._exposure.others(self.symbol) + value
        max_total = self.limits.max_total_exposure
        if total > max_total and value > abs(self._position) * price:
            return refused(f"total exposure could reach {total}, beyond the limit of {max_total}")
        return None

    def _rate_refusal(self, now: float) -> Verdict | None:
        for rate in self._rates:
            if rate.sent.count(now) < rate.limit:
                continue
            excess = rate.excess.add(now)
            trip = None
            if excess >= self.limits.order_rate_trip_excess:
                trip = self._trip(TripKind.ORDER_RATE,
                                  f"{excess} orders asked for beyond {rate.limit} {rate.span}")
            return refused(f"{rate.limit} orders sent {rate.span}, the limit", trip)
        return None

    def _burst(self, kind: TripKind, burst: RejectBurst, count: int, what: str) -> Trip | None:
        if count < burst.count:
            return None
        return self._trip(kind, f"{count} {what} within {burst.window_s:g} s")

    def _drawdown(self) -> Decimal:
        return ZERO if self._peak is None else self._peak - self._equity

    def _acknowledge(self) -> None:
        """Start the operator's decision afresh: what tripped before no longer counts."""
        self._rejects.clear()
        self._balance_rejects.clear()
        for rate in self._rates:
            rate.excess.clear()
        if self._drawdown() > self.limits.max_drawdown:
            self._peak = self._equity

    def _trip(self, kind: TripKind, reason: str) -> Trip | None:
        state = self.limits.trip_actions[kind].state
        if SEVERITY[state] <= SEVERITY[self._state]:
            return None
        self._state = state
        return Trip(kind, reason, state)

    def _move(self, state: SymbolState, reason: str) -> StateChange:
        self._state = state
        return StateChange(state, reason)
