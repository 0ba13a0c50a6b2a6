"""What the exchange really received: accepted orders and fills, in the gate's windows.

Counters advance only for an order the exchange accepted (after `create_order` returned, or
when an order whose answer was lost is found on the exchange), never for an order that was
merely planned, refused by the gate or held back by the rate budget. They are rebuilt from
the event log at start, so a restart does not reset today's order-to-trade ratio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from appliance.risk.window import DAY_S, DailyWindow, RollingWindow
from appliance.store.events import Event, OrderAcked, OrderFilled


@dataclass(frozen=True)
class Counts:
    """The counters at one moment: orders accepted in the last second and today, fills today."""

    orders_last_second: int
    orders_today: int
    fills_today: int


class OrderCounters:
    """Orders the exchange accepted and fills of one symbol, per second and per UTC day."""

    def __init__(self) -> None:
        self._second = RollingWindow(1.0)
        self._day = DailyWindow()
        self._fills = DailyWindow()

    def accepted(self, now: float) -> None:
        """Count one order the exchange accepted at `now`."""
        self._second.add(now)
        self._day.add(now)

    def filled(self, now: float) -> None:
        """Count one fill of the symbol's orders at `now`."""
        self._fills.add(now)

    def at(self, now: float) -> Counts:
        """Return the counts as they stand at `now`."""
        return Counts(self._second.count(now), self._day.count(now), self._fills.count(now))

    def rebuild(self, history: Iterable[Event], now: float) -> None:
        """Count today's accepted orders and fills of a log (one symbol's events, oldest first)."""
        today = int(now // DAY_S)
        for event in history:
            if int(event.ts // DAY_S) != today:
                continue
            if isinstance(event.body, OrderAcked):
                self._day.add(event.ts)
            elif isinstance(event.body, OrderFilled):
                self._fills.add(event.ts)
