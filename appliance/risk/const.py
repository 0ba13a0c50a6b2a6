"""Names of the risk guard: symbol states, trip kinds and what each trip does by default."""

from __future__ import annotations

from enum import StrEnum


class SymbolState(StrEnum):
    """Whether a symbol may quote (seed 004); every symbol starts PAUSED."""

    ACTIVE = "active"  # normal quoting
    PAUSED = "paused"  # no trading, safe; the operator resumes it
    HALTED = "halted"  # emergency stop; the operator must clear it before resuming


SEVERITY = {SymbolState.ACTIVE: 0, SymbolState.PAUSED: 1, SymbolState.HALTED: 2}
"""A trip only ever moves a symbol to a more severe state: there is no automatic resume."""


class RateSpan(StrEnum):
    """The windows an order rate is limited over, as a reason names them."""

    SECOND = "in the last second"
    DAY = "today (UTC)"


class TripAction(StrEnum):
    """What a trip does to its symbol once its orders are cancelled."""

    PAUSE = "pause"
    HALT = "halt"

    @property
    def state(self) -> SymbolState:
        """Return the state the symbol moves to."""
        return SymbolState.PAUSED if self is TripAction.PAUSE else SymbolState.HALTED


class TripKind(StrEnum):
    """Why the guard stopped a symbol."""

    POSITION = "position"  # a fill left the position beyond its limit
    EXPOSURE = "exposure"  # a fill left the bot's total exposure beyond its limit
    DRAWDOWN = "drawdown"  # equity fell too far below its peak
    ORDER_RATE = "order_rate"  # orders kept being asked for beyond a rate limit
    STALE_DATA = "stale_data"  # the market data stopped arriving
    CROSSED_BOOK = "crossed_book"  # the book shows a bid at or above the ask
    REJECT_STORM = "reject_storm"  # the exchange refused many orders in a short time
    INSUFFICIENT_BALANCE = "insufficient_balance"  # orders keep failing for lack of funds


DEFAULT_TRIP_ACTIONS = {
    TripKind.POSITION: TripAction.PAUSE,
    TripKind.EXPOSURE: TripAction.PAUSE,
    TripKind.DRAWDOWN: TripAction.HALT,
    TripKind.ORDER_RATE: TripAction.HALT,
    TripKind.STALE_DATA: TripAction.PAUSE,
    TripKind.CROSSED_BOOK: TripAction.PAUSE,
    TripKind.REJECT_STORM: TripAction.HALT,
    TripKind.INSUFFICIENT_BALANCE: TripAction.PAUSE,
}
"""A loss or a misbehaving engine halts; a market or funding problem only pauses."""

