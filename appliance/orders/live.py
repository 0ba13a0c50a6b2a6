"""The bot's own live orders and its deterministic client order ids."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from appliance.vocabulary import Side


@dataclass
class LiveOrder:
    """An order of the box believed to rest on the exchange."""

    client_id: str
    side: Side
    price_ticks: int
    lots: int
    order_id: str | None = None
    filled_lots: int = 0
    placed_at: float = 0.0  # when it was sent (0: before this process, e.g. adopted)

    @property
    def remaining_lots(self) -> int:
        """Return the lots still resting."""
        return self.lots - self.filled_lots


class ClientIds:
    """Hand out `mmbox-<bot>-<seq>` ids, continuing after the last one the log holds.

    The id is fixed before the order is sent, so a retry can never double an order.
    """

    def __init__(self, bot: str, sent_so_far: int) -> None:
        self._bot = bot
        self._seq = itertools.count(sent_so_far + 1)

    def next(self) -> str:
        """Return the next unused client order id."""
        return f"mmbox-{self._bot}-{next(self._seq)}"
