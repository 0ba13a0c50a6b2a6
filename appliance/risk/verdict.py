"""What the guard answers: a verdict on an order, a trip, or an operator's state change.

Each value carries what the caller records: a trip is a `risk` event `{"trip", "reason",
"state"}`, a state change a `state` event `{"state", "reason"}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.risk.const import SymbolState, TripKind


@dataclass(frozen=True)
class Trip:
    """The guard stopped a symbol: cancel all its orders and record why."""

    kind: TripKind
    reason: str
    new_state: SymbolState


@dataclass(frozen=True)
class StateChange:
    """The operator moved a symbol to another state."""

    state: SymbolState
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Whether an order may leave; when refused, why, and the trip it caused if any."""

    allowed: bool
    reason: str = ""
    trip: Trip | None = None


ALLOWED = Verdict(allowed=True)


def refused(reason: str, trip: Trip | None = None) -> Verdict:
    """Return a refusal for `reason`."""
    return Verdict(allowed=False, reason=reason, trip=trip)
