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
    """Hand out `mmbox<bot>x<seq>` ids (`mmboxbot1x17`), continuing after the last one the log
    holds.

    The id is fixed before the order is sent, so a retry can never double an order. Letters
    and digits only, as OKX's clOrdId demands (the strictest of the exchanges with a capability
    table): the bot's name is written without its '-'.
    """

    def __init__(self, bot: str, sent_so_far: int) -> None:
        self._tag = "".join(c for c in bot if c.isascii() and c.isalnum())
        self._seq = itertools.count(sent_so_far + 1)

    def next(self) -> str:
        """Return the next unused client order id."""
        return f"mmbox{self._tag}x{next(self._seq)}"
