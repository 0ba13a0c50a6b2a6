"""What an order asks for, what the exchange records of it, and the trades it makes."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from enum import StrEnum

CLIENT_ORDER_ID_LENGTH = 22
CLIENT_ORDER_ID_ALPHABET = string.ascii_letters + string.digits


def new_client_order_id() -> str:
    """Return a random client order id like the ones Binance makes up."""
    return "".join(secrets.choice(CLIENT_ORDER_ID_ALPHABET) for _ in range(CLIENT_ORDER_ID_LENGTH))


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


class SelfTradePrevention(StrEnum):
    """What the exchange does when an order would trade with its own account's resting order.

    The taker's mode decides: expire the taker's rest, the maker, or both; NONE lets them trade.
    """

    NONE = "NONE"
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"

    @property
    def expires_taker(self) -> bool:
        """Return whether a prevented match ends the incoming order."""
        return self in (SelfTradePrevention.EXPIRE_TAKER, SelfTradePrevention.EXPIRE_BOTH)

    @property
    def expires_maker(self) -> bool:
        """Return whether a prevented match ends the resting order."""
        return self in (SelfTradePrevention.EXPIRE_MAKER, SelfTradePrevention.EXPIRE_BOTH)


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"


class ExecutionType(StrEnum):
    """Why the user data stream reports an order: the `x` of an executionReport."""

    NEW = "NEW"
    CANCELED = "CANCELED"
    TRADE = "TRADE"
    EXPIRED = "EXPIRED"
    TRADE_PREVENTION = "TRADE_PREVENTION"


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
    stp_mode: SelfTradePrevention = SelfTradePrevention.NONE

    @property
    def is_buy(self) -> bool:
        """Return whether the order buys the base asset."""
        return self.side is Side.BUY


@dataclass(frozen=True)
class PreventedMatch:
    """A match self-trade prevention stopped: which orders, at what price, how much expired."""

    prevented_match_id: int
    taker_order_id: int
    maker_order_id: int
    price: int
    taker_prevented: int
    maker_prevented: int
    mode: SelfTradePrevention


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
    prevented_quantity: int = 0
    prevented_match_id: int | None = None
    prevented_matches: list[PreventedMatch] = field(default_factory=list)
    cancel_client_id: str = ""

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

    def prevent(self, lots: int, prevented_match_id: int, now: int) -> None:
        """Expire the order's open lots in a prevented self-trade."""
        self.prevented_quantity += lots
        self.prevented_match_id = prevented_match_id
        self.close(OrderStatus.EXPIRED_IN_MATCH, now)


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
    buyer_order_id: int
    seller_order_id: int
