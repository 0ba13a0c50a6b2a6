"""Remember what the exchange just refused, so the same failing order is not sent in a loop."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from appliance.vocabulary import Quote, Side


class Refusal(StrEnum):
    """Why the exchange refused an order, as far as the engine cares."""

    POST_ONLY = "post_only"  # it would have taken: that price is wrong for now
    INSUFFICIENT_BALANCE = "insufficient_balance"  # that side cannot be funded for now
    OTHER = "other"  # anything else: that exact order is wrong for now


@dataclass(frozen=True)
class Hold:
    """Orders like a refused one are held back until `until`: a side, a price, or one order."""

    side: Side
    price_ticks: int | None  # None: the whole side
    size_lots: int | None
    until: float


class RefusalMemory:
    """Hold back orders like one the exchange refused, for `cooldown_s` seconds."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._holds: list[Hold] = []

    def refused(self, now: float, quote: Quote, why: Refusal) -> None:
        """Record a refusal of `quote`."""
        until = now + self.cooldown_s
        if why is Refusal.INSUFFICIENT_BALANCE:
            self._holds.append(Hold(quote.side, None, None, until))
        elif why is Refusal.POST_ONLY:
            self._holds.append(Hold(quote.side, quote.price_ticks, None, until))
        else:
            self._holds.append(Hold(quote.side, quote.price_ticks, quote.size_lots, until))

    def holds(self, now: float) -> tuple[Hold, ...]:
        """Return the holds still in force at `now`."""
        self._holds = [h for h in self._holds if h.until > now]
        return tuple(self._holds)


def is_held(holds: tuple[Hold, ...], quote: Quote) -> bool:
    """Return whether any of `holds` keeps `quote` back."""
    return any(
        h.side is quote.side
        and h.price_ticks in (None, quote.price_ticks)
        and h.size_lots in (None, quote.size_lots)
        for h in holds
    )
