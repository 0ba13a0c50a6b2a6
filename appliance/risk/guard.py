"""The risk guard of one symbol: its state, its limits and its kill switches (seed 004).

Pure: the caller passes `now` (Unix seconds) and what it saw, and acts on the answer: it records
each `Trip` and `StateChange`, and a symbol that is no longer ACTIVE has its orders cancelled by
the pass that follows. `order_refusal` is the guard's verdict on one order, as the order gate
asks it. Nothing here resumes a symbol: only the operator does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from appliance.market.monitor import MarketHealth
from appliance.orders.refusals import Refusal
from appliance.risk.const import SEVERITY, RateSpan, SymbolState, TripKind
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
class RiskStanding:
    """What the guard knows of one symbol at a moment: all an order's risk verdict depends on."""

    state: SymbolState
    health: MarketHealth | None
    position: Decimal
    others_exposure: Decimal
    limits: RiskLimits


def order_refusal(
    standing: RiskStanding, side: Side, price: Decimal, amount: Decimal, resting: Decimal
) -> str | None:
    """Return why an order may not leave given `standing`, or None when it may.

    `resting` is the unfilled amount of the symbol's orders already resting on `side`: the
    position limits hold even if all of them fill.
    """
    if standing.state is not SymbolState.ACTIVE:
        return f"the symbol is {standing.state}"
    if standing.health is not MarketHealth.OK:
        return HEALTH_REASONS.get(standing.health, f"the market is {standing.health}")
    if price <= 0 or amount <= 0 or resting < 0:
        return "an order needs a positive price and amount"
    position, limits = standing.position, standing.limits
    exposed = amount + resting
    after = position + (exposed if side is Side.BUY else -exposed)
    if abs(after) > limits.max_position and abs(after) > abs(position):
        return f"the position could reach {after}, beyond the limit of {limits.max_position}"
    value = abs(after) * price
    total = standing.others_exposure + value
    if total > limits.max_total_exposure and value > abs(position) * price:
        return (f"total exposure could reach {total}, beyond the limit of "
                f"{limits.max_total_exposure}")
    return None


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
        self._over_rate: dict[RateSpan, RollingWindow | DailyWindow] = {
            RateSpan.SECOND: RollingWindow(1.0), RateSpan.DAY: DailyWindow()}
        self._rejects = RollingWindow(limits.reject_storm.window_s)
        self._balance_rejects = RollingWindow(limits.insufficient_balance.window_s)

    @property
    def state(self) -> SymbolState:
        """Return the symbol's state."""
        return self._state

    def set_limits(self, limits: RiskLimits) -> None:
        """Hold the symbol to new limits from now on; a changed window starts empty."""
        if limits.reject_storm.window_s != self.limits.reject_storm.window_s:
            self._rejects = RollingWindow(limits.reject_storm.window_s)
        if limits.insufficient_balance.window_s != self.limits.insufficient_balance.window_s:
            self._balance_rejects = RollingWindow(limits.insufficient_balance.window_s)
        self.limits = limits

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

    def standing(self) -> RiskStanding:
        """Return what an order's risk verdict depends on, as it stands now."""
        return RiskStanding(self._state, self._health, self._position,
                            self._exposure.others(self.symbol), self.limits)

    def check_order(
        self, side: Side, price: Decimal, amount: Decimal, *, resting: Decimal = ZERO
    ) -> Verdict:
        """Say whether an order may leave as things stand; counts nothing."""
        reason = order_refusal(self.standing(), side, price, amount, resting)
        return ALLOWED if reason is None else refused(reason)

    def observe_over_rate(self, now: float, span: RateSpan) -> Trip | None:
        """Count an order the gate refused for a rate limit; enough of them in its window trip."""
        excess = self._over_rate[span].add(now)
        if excess < self.limits.order_rate_trip_excess:
            return None
        limit = (self.limits.max_orders_per_second if span is RateSpan.SECOND
                 else self.limits.max_orders_per_day)
        return self._trip(TripKind.ORDER_RATE, f"{excess} orders asked for beyond {limit} {span}")

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
        for window in self._over_rate.values():
            window.clear()
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
