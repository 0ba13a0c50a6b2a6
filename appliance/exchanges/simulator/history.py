"""Choose trades from a history the way Binance's trade queries do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Stamped(Protocol):
    """A trade with an id and a time."""

    @property
    def trade_id(self) -> int:
        """Return the trade's id, increasing with time on its symbol."""

    @property
    def time(self) -> int:
        """Return when the trade happened, in epoch milliseconds."""


T = TypeVar("T", bound=Stamped)


def select_trades(
    trades: Iterable[T], from_id: int | None, start: int | None, end: int | None, limit: int
) -> list[T]:
    """Return trades from an id or a start time, oldest first, or else the latest ones."""
    chosen = [
        trade
        for trade in trades
        if (from_id is None or trade.trade_id >= from_id)
        and (start is None or trade.time >= start)
        and (end is None or trade.time <= end)
    ]
    if from_id is None and start is None:
        return chosen[-limit:]
    return chosen[:limit]
