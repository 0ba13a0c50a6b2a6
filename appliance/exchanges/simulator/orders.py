"""What an order asks for, what the exchange records of it, and the trades it makes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    """Which way an order trades."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """The order types the simulator accepts."""

    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    MARKET = "MARKET"


class TimeInForce(StrEnum):
    """How long the unfilled part of a limit order lives."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True)
class OrderRequest:
    """A checked new order: prices in ticks, quantities in lots, quote amounts in tick-lots.

    A market order gives either `quantity` or `quote_quantity` and leaves the other 0;
    `price` is 0 for a market order.
    """

    account: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: int
    quantity: int
    quote_quantity: int
    client_order_id: str

    @property
    def is_buy(self) -> bool:
        """Return whether the order buys the base asset."""
        return self.side is Side.BUY


@dataclass
class Order:
    """The exchange's record of one order and how much of it has traded."""

    order_id: int
    request: OrderRequest
    time: int
    quantity: int
    executed: int = 0
    cumulative_quote: int = 0
    status: OrderStatus = OrderStatus.NEW
    update_time: int = 0

    @property
    def is_open(self) -> bool:
        """Return whether the order still rests in the book."""
        return self.status in OPEN_STATUSES

    @property
    def account(self) -> str:
        """Return the account that placed the order."""
        return self.request.account

    @property
    def symbol(self) -> str:
        """Return the order's symbol."""
        return self.request.symbol

    @property
    def client_order_id(self) -> str:
        """Return the id the client gave the order."""
        return self.request.client_order_id

    def record_fill(self, lots: int, price: int, now: int) -> None:
        """Count one fill of the order."""
        self.executed += lots
        self.cumulative_quote += lots * price
        self.update_time = now
        self.status = (
            OrderStatus.FILLED if self.executed == self.quantity else OrderStatus.PARTIALLY_FILLED
        )

    def close(self, status: OrderStatus, now: int) -> None:
        """End the order's life with a final status."""
        self.status = status
        self.update_time = now


@dataclass(frozen=True)
class Trade:
    """One side of a trade as the account that took part sees it."""

    trade_id: int
    symbol: str
    order_id: int
    price: int
    lots: int
    time: int
    is_buyer: bool
    is_maker: bool
    commission: int
    commission_asset: str


@dataclass(frozen=True)
class PublicTrade:
    """A trade as everyone sees it on the tape."""

    trade_id: int
    price: int
    lots: int
    time: int
    is_buyer_maker: bool
