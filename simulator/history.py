"""Choose trades or orders from a history the way Binance's queries do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from simulator import errors
from simulator.const import DAY_MS
from simulator.orders import Order, PublicTrade, Trade

T = TypeVar("T")
TradeT = TypeVar("TradeT", Trade, PublicTrade)


def select(
    items: Iterable[T],
    ident: Callable[[T], int],
    stamp: Callable[[T], int],
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[T]:
    """Return items from an id or a start time, oldest first, or else the latest ones."""
    chosen = [
        item
        for item in items
        if (from_id is None or ident(item) >= from_id)
        and (start is None or stamp(item) >= start)
        and (end is None or stamp(item) <= end)
    ]
    if from_id is None and start is None:
        return chosen[-limit:]
    return chosen[:limit]


def select_trades(
    trades: Iterable[TradeT], from_id: int | None, start: int | None, end: int | None, limit: int
) -> list[TradeT]:
    """Return trades from an id or a start time, oldest first, or else the latest ones."""
    return select(trades, lambda t: t.trade_id, lambda t: t.time, from_id, start, end, limit)


def select_orders(
    orders: Iterable[Order], from_id: int | None, start: int | None, end: int | None, limit: int
) -> list[Order]:
    """Return orders from an id or a start time, oldest first, or else the latest ones."""
    return select(orders, lambda o: o.order_id, lambda o: o.time, from_id, start, end, limit)


def check_day_range(start: int | None, end: int | None) -> None:
    """Refuse a time range longer than the day an account history query may span."""
    if start is not None and end is not None and end - start > DAY_MS:
        raise errors.BinanceError(-1127, "More than 24 hours between startTime and endTime.")
