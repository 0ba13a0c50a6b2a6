"""A price-time priority limit order book of one symbol, in integer ticks and lots.

Written in plain typed Python so that Cython's pure-Python mode can compile it unchanged.
"""

from __future__ import annotations

from bisect import insort
from collections import deque

UNBOUNDED: int = 2**62
"""A quantity, cost or price larger than any real one: the bound of an unbounded match."""

STP_NONE: int = 0
"""Self-trade prevention off: an order trades with its own account's resting orders."""
STP_EXPIRE_TAKER: int = 1
"""A would-be self-trade ends the incoming order; the resting order stays."""
STP_EXPIRE_MAKER: int = 2
"""A would-be self-trade takes the resting order out of the book; the incoming order goes on."""
STP_EXPIRE_BOTH: int = 3
"""A would-be self-trade ends both orders."""


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


class Prevention:
    """A resting order of the taker's own account met during a match: it was not traded with."""

    __slots__ = ("maker_expired", "maker_order_id", "maker_remaining", "price")

    def __init__(
        self, maker_order_id: int, price: int, maker_remaining: int, maker_expired: bool
    ) -> None:
        self.maker_order_id = maker_order_id
        self.price = price
        self.maker_remaining = maker_remaining
        self.maker_expired = maker_expired


class Match:
    """What an incoming order takes from the book: fills, lots, cost, and prevented self-trades.

    `taker_expired` tells that self-trade prevention ended the incoming order.
    """

    __slots__ = ("cost", "fills", "lots", "preventions", "taker_expired")

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.preventions: list[Prevention] = []
        self.lots = 0
        self.cost = 0
        self.taker_expired = False


class OrderBook:
    """Resting orders of one symbol: best price first, then first come first served.

    `update_id` counts changes of the book; the prices whose level changed since the last
    `drain_changes` are remembered, so a depth stream can send only what moved.
    """

    __slots__ = (
        "_ask_prices",
        "_asks",
        "_bid_prices",
        "_bids",
        "_changed_asks",
        "_changed_bids",
        "_orders",
        "update_id",
    )

    def __init__(self) -> None:
        self._bids: dict[int, deque[RestingOrder]] = {}
        self._asks: dict[int, deque[RestingOrder]] = {}
        self._bid_prices: list[int] = []
        self._ask_prices: list[int] = []
        self._orders: dict[int, RestingOrder] = {}
        self._changed_bids: set[int] = set()
        self._changed_asks: set[int] = set()
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
        self._changed(order.is_buy, order.price)
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
        self._changed(order.is_buy, order.price)
        self.update_id += 1
        return order

    def would_take(self, is_buy: bool, price: int) -> bool:
        """Return whether an order at this price would match a resting order at once."""
        if is_buy:
            best_ask = self.best_ask()
            return best_ask is not None and best_ask <= price
        best_bid = self.best_bid()
        return best_bid is not None and best_bid >= price

    def preview(
        self,
        is_buy: bool,
        limit: int,
        max_lots: int,
        max_cost: int,
        owner: str = "",
        stp: int = STP_NONE,
    ) -> Match:
        """Return what an incoming order would take, without changing the book."""
        return self._match(is_buy, limit, max_lots, max_cost, owner, stp, False)

    def take(
        self,
        is_buy: bool,
        limit: int,
        max_lots: int,
        max_cost: int,
        owner: str = "",
        stp: int = STP_NONE,
    ) -> Match:
        """Match an incoming order against the book and remove what it takes.

        A buy takes asks priced at or below `limit`, a sell takes bids at or above it, until
        `max_lots` lots are taken or the next lot would cost more than `max_cost` tick-lots.
        Resting orders of `owner` are handled by the self-trade prevention mode `stp`.
        """
        match = self._match(is_buy, limit, max_lots, max_cost, owner, stp, True)
        if match.fills or match.preventions:
            self.update_id += 1
        return match

    def depth(self, is_buy: bool, levels: int) -> list[tuple[int, int]]:
        """Return up to `levels` price levels of one side, best first, as (price, lots)."""
        prices = self._bid_prices[::-1] if is_buy else self._ask_prices
        result: list[tuple[int, int]] = []
        for price in prices[:levels]:
            result.append((price, self.level_lots(is_buy, price)))
        return result

    def level_lots(self, is_buy: bool, price: int) -> int:
        """Return the lots resting at one price of one side; 0 when no one rests there."""
        queue = (self._bids if is_buy else self._asks).get(price)
        lots = 0
        if queue is not None:
            for order in queue:
                lots += order.remaining
        return lots

    def count_update(self) -> None:
        """Count an update that changed no level, so a depth stream can send one anyway."""
        self.update_id += 1

    def drain_changes(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Return the bid and ask levels changed since the last call, as (price, lots now).

        A level that emptied is reported with 0 lots, as Binance's depth stream does.
        """
        bids = [(price, self.level_lots(True, price)) for price in sorted(self._changed_bids)]
        asks = [(price, self.level_lots(False, price)) for price in sorted(self._changed_asks)]
        self._changed_bids = set()
        self._changed_asks = set()
        return bids, asks

    def _changed(self, is_buy: bool, price: int) -> None:
        """Remember that a level changed."""
        (self._changed_bids if is_buy else self._changed_asks).add(price)

    def _match(
        self,
        is_buy: bool,
        limit: int,
        max_lots: int,
        max_cost: int,
        owner: str,
        stp: int,
        execute: bool,
    ) -> Match:
        """Match an incoming order level by level, best price first; remove emptied levels."""
        prices = self._ask_prices if is_buy else self._bid_prices
        book = self._asks if is_buy else self._bids
        match = Match()
        count = len(prices)
        visited = 0
        for index in range(count):
            price = prices[index] if is_buy else prices[count - 1 - index]
            if (is_buy and price > limit) or (not is_buy and price < limit):
                break
            visited += 1
            emptied = self._match_level(
                book[price], price, max_lots, max_cost, owner, stp, execute, match
            )
            if not emptied or match.taker_expired:
                break
        if execute:
            self._remove_emptied(is_buy, visited)
        return match

    def _remove_emptied(self, is_buy: bool, visited: int) -> None:
        """Drop the empty levels among the best `visited` ones, marking each visited level."""
        prices = self._ask_prices if is_buy else self._bid_prices
        book = self._asks if is_buy else self._bids
        count = len(prices)
        best = prices[:visited] if is_buy else prices[count - visited :]
        emptied = 0
        for price in best:
            self._changed(not is_buy, price)
            if not book[price]:
                del book[price]
                emptied += 1
        if is_buy:
            del prices[:emptied]
        else:
            del prices[count - emptied :]

    def _match_level(
        self,
        queue: deque[RestingOrder],
        price: int,
        max_lots: int,
        max_cost: int,
        owner: str,
        stp: int,
        execute: bool,
        match: Match,
    ) -> bool:
        """Match the orders of one price level in turn; return whether the level was used up.

        Orders matched in full and orders expired by self-trade prevention leave the queue.
        """
        consumed = 0
        used_up = True
        for order in queue:
            room = min(max_lots - match.lots, (max_cost - match.cost) // price)
            if room <= 0:
                used_up = False
                break
            if stp != STP_NONE and order.owner == owner:
                expires_maker = stp in (STP_EXPIRE_MAKER, STP_EXPIRE_BOTH)
                match.preventions.append(
                    Prevention(order.order_id, price, order.remaining, expires_maker)
                )
                if expires_maker:
                    consumed += 1
                else:
                    used_up = False
                if stp != STP_EXPIRE_MAKER:
                    match.taker_expired = True
                    break
                continue
            lots = min(order.remaining, room)
            complete = lots == order.remaining
            match.lots += lots
            match.cost += lots * price
            if execute:
                order.remaining -= lots
                match.fills.append(Fill(order.order_id, order.owner, price, lots, order.remaining))
            if not complete:
                used_up = False
                break
            consumed += 1
        if used_up and consumed < len(queue):
            used_up = False
        if execute:
            for _ in range(consumed):
                del self._orders[queue.popleft().order_id]
        return used_up
