"""What the exchange tells its listeners as it happens: order changes, balances, trades."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.orders import (
    ExecutionType,
    Order,
    PreventedMatch,
    PublicTrade,
    Trade,
)


@dataclass(frozen=True)
class ExecutionReport:
    """An order changed; `order` is a copy taken at that moment.

    `trade` is set for a TRADE, `prevented` for a TRADE_PREVENTION with the lots it expired.
    """

    order: Order
    execution: ExecutionType
    time: int
    trade: Trade | None = None
    prevented: PreventedMatch | None = None
    prevented_lots: int = 0


@dataclass(frozen=True)
class AccountPosition:
    """Some balances of an account may have changed."""

    account: str
    assets: tuple[str, ...]
    time: int


@dataclass(frozen=True)
class BalanceUpdate:
    """Funds arrived at or left an account outside trading, in 1e-8 units."""

    account: str
    asset: str
    delta: int
    time: int


@dataclass(frozen=True)
class TapeTrade:
    """A trade printed on a symbol's tape."""

    symbol: str
    trade: PublicTrade


ExchangeEvent = ExecutionReport | AccountPosition | BalanceUpdate | TapeTrade
Listener = Callable[[ExchangeEvent], None]
