"""A price-time priority limit order book of one symbol, in integer ticks and lots.

Written in plain typed Python so that Cython's pure-Python mode can compile it unchanged.
"""

from __future__ import annotations

from bisect import insort
from collections import deque

UNBOUNDED: int = 2**62
"""A quantity, cost or price larger than any real one: the bound of an unbounded match."""


class RestingOrder:
    """An order waiting in the book: its id, its owner, its side, its price and lots still open."""

    __slots__ = ("is_buy", "order_id", "owner", "price", "remaining")

    def __init__(self, order_id: int, owner: str, is_buy: bool, price: int, remaining: int) -> None:
        self.order_id = order_id
        self.owner = owner
        self.is_buy = is_buy
        self.price = price
        self.remaining = remaining


class Fill:
    """One match of an incoming order against a resting maker order, at the maker's price."""

    __slots__ = ("lots", "maker_order_id", "maker_owner", "maker_remaining", "price")

    def __init__(
        self, maker_order_id: int, maker_owner: str, price: int, lots: int, maker_remaining: int
    ) -> None:
        self.maker_order_id = maker_order_id
        self.maker_owner = maker_owner
        self.price = price
        self.lots = lots
        self.maker_remaining = maker_remaining


class Match:
    """What an incoming order takes from the book: its fills, total lots and cost in tick-lots."""

    __slots__ = ("cost", "fills", "lots")

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.lots = 0
        self.cost = 0


class OrderBook:
    """Resting orders of one symbol: best price first, then first come first served."""

    __slots__ = ("_ask_prices", "_asks", "_bid_prices", "_bids", "_orders", "update_id")

    def __init__(self) -> None:
        self._bids: dict[int, deque[RestingOrder]] = {}
        self._asks: dict[int, deque[RestingOrder]] = {}
        self._bid_prices: list[int] = []
        self._ask_prices: list[int] = []
        self._orders: dict[int, RestingOrder] = {}
        self.update_id = 0

    def best_bid(self) -> int | None:
        """Return the highest bid price, or None when no one bids."""
        return self._bid_prices[-1] if self._bid_prices else None

    def best_ask(self) -> int | None:
        """Return the lowest ask price, or None when no one offers."""
        return self._ask_prices[0] if self._ask_prices else None

    def rest(self, order: RestingOrder) -> None:
        """Put an order at the back of the queue at its price."""
        levels = self._bids if order.is_buy else self._asks
        queue = levels.get(order.price)
        if queue is None:
            queue = deque()
            levels[order.price] = queue
            insort(self._bid_prices if order.is_buy else self._ask_prices, order.price)
        queue.append(order)
        self._orders[order.order_id] = order
        self.update_id += 1

    def cancel(self, order_id: int) -> RestingOrder | None:
        """Take an order out of the book; return it, or None when it was not resting."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        levels = self._bids if order.is_buy else self._asks
        queue = levels[order.price]
        queue.remove(order)
        if not queue:
            del levels[order.price]
            (self._bid_prices if order.is_buy else self._ask_prices).remove(order.price)
        self.update_id += 1
        return order

    def would_take(self, is_buy: bool, price: int) -> bool:
        """Return whether an order at this price would match a resting order at once."""
        if is_buy:
            best_ask = self.best_ask()
            return best_ask is not None and best_ask <= price
        best_bid = self.best_bid()
        return best_bid is not None and best_bid >= price

    def preview(self, is_buy: bool, limit: int, max_lots: int, max_cost: int) -> Match:
        """Return what an incoming order would take, without changing the book."""
        return self._match(is_buy, limit, max_lots, max_cost, False)

    def take(self, is_buy: bool, limit: int, max_lots: int, max_cost: int) -> Match:
        """Match an incoming order against the book and remove what it takes.

        A buy takes asks priced at or below `limit`, a sell takes bids at or above it, until
        `max_lots` lots are taken or the next lot would cost more than `max_cost` tick-lots.
        """
        match = self._match(is_buy, limit, max_lots, max_cost, True)
        if match.fills:
            self.update_id += 1
        return match

    def depth(self, is_buy: bool, levels: int) -> list[tuple[int, int]]:
        """Return up to `levels` price levels of one side, best first, as (price, lots)."""
        prices = self._bid_prices[::-1] if is_buy else self._ask_prices
        book = self._bids if is_buy else self._asks
        result: list[tuple[int, int]] = []
        for price in prices[:levels]:
            lots = 0
            for order in book[price]:
                lots += order.remaining
            result.append((price, lots))
        return result

    def _match(
        self, is_buy: bool, limit: int, max_lots: int, max_cost: int, execute: bool
    ) -> Match:
        """Match an incoming order level by level, best price first; remove emptied levels."""
        prices = self._ask_prices if is_buy else self._bid_prices
        book = self._asks if is_buy else self._bids
        match = Match()
        count = len(prices)
        emptied = 0
        for index in range(count):
            price = prices[index] if is_buy else prices[count - 1 - index]
            if (is_buy and price > limit) or (not is_buy and price < limit):
                break
            if not self._match_level(book[price], price, max_lots, max_cost, execute, match):
                break
            emptied += 1
        if execute and emptied:
            for price in prices[:emptied] if is_buy else prices[count - emptied :]:
                del book[price]
            if is_buy:
                del prices[:emptied]
            else:
                del prices[count - emptied :]
        return match

    def _match_level(
        self,
        queue: deque[RestingOrder],
        price: int,
        max_lots: int,
        max_cost: int,
        execute: bool,
        match: Match,
    ) -> bool:
        """Match the orders of one price level in turn; return whether the level was emptied."""
        filled = 0
        level_emptied = True
        for order in queue:
            lots = min(order.remaining, max_lots - match.lots, (max_cost - match.cost) // price)
            if lots <= 0:
                level_emptied = False
                break
            complete = lots == order.remaining
            match.lots += lots
            match.cost += lots * price
            if execute:
                order.remaining -= lots
                match.fills.append(Fill(order.order_id, order.owner, price, lots, order.remaining))
            if not complete:
                level_emptied = False
                break
            filled += 1
        if execute:
            for _ in range(filled):
                del self._orders[queue.popleft().order_id]
        return level_emptied
