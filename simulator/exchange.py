"""The spot exchange: books, balances, orders and trades of every listed symbol."""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction

from simulator import errors
from simulator.candles import CandleSeries
from simulator.const import (
    COMMISSION_DENOMINATOR,
    HISTORY_LIMIT,
    MAKER_COMMISSION,
    PUBLIC_TRADES_LIMIT,
    TAKER_COMMISSION,
)
from simulator.instrument import Instrument
from simulator.matching import (
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
    UNBOUNDED,
    Fill,
    OrderBook,
    Prevention,
    RestingOrder,
)
from simulator.orders import (
    ExecutionType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    PreventedMatch,
    PublicTrade,
    SelfTradePrevention,
    TimeInForce,
    Trade,
    new_client_order_id,
)
from simulator.reports import (
    AccountPosition,
    BalanceUpdate,
    ExchangeEvent,
    ExecutionReport,
    Listener,
    TapeTrade,
)
from simulator.wallet import Wallets

STP_CODES = {
    SelfTradePrevention.NONE: STP_NONE,
    SelfTradePrevention.EXPIRE_TAKER: STP_EXPIRE_TAKER,
    SelfTradePrevention.EXPIRE_MAKER: STP_EXPIRE_MAKER,
    SelfTradePrevention.EXPIRE_BOTH: STP_EXPIRE_BOTH,
}


def wall_clock_ms() -> int:
    """Return the time in milliseconds since the epoch, as Binance stamps everything."""
    return time.time_ns() // 1_000_000


class SpotExchange:
    """Everything that trades: the one object that owns books, balances and order records.

    Listeners hear every order change, balance change and trade as it happens, in order.
    """

    def __init__(
        self, instruments: Iterable[Instrument], clock: Callable[[], int] = wall_clock_ms
    ) -> None:
        self.instruments = {instrument.symbol: instrument for instrument in instruments}
        self.wallets = Wallets()
        self.clock = clock
        self._books = {symbol: OrderBook() for symbol in self.instruments}
        self._candles = {symbol: CandleSeries() for symbol in self.instruments}
        self._orders: dict[int, Order] = {}
        self._open: dict[str, dict[int, Order]] = {}
        self._client_ids: dict[str, dict[str, int]] = {}
        self._closed: dict[str, deque[int]] = {}
        self._trades: dict[tuple[str, str], deque[Trade]] = {}
        self._tape = {
            symbol: deque[PublicTrade](maxlen=PUBLIC_TRADES_LIMIT) for symbol in self.instruments
        }
        self._next_trade_id = dict.fromkeys(self.instruments, 1)
        self._next_prevented_id = dict.fromkeys(self.instruments, 0)
        self._next_order_id = 1
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event from now on; it must not change the exchange."""
        self._listeners.append(listener)

    def open_account(self, account: str, balances: Mapping[str, int]) -> None:
        """Start trading for an account with its starting balances (1e-8 units)."""
        self.wallets.open(account, balances)
        self._open[account] = {}
        self._client_ids[account] = {}
        self._closed[account] = deque()

    def has_account(self, account: str) -> bool:
        """Return whether the account trades here."""
        return account in self._open

    def deposit(self, account: str, asset: str, units: int) -> None:
        """Credit funds that arrive from outside trading, as a deposit would."""
        self.wallets.deposit(account, asset, units)
        now = self.clock()
        self._report(BalanceUpdate(account, asset, units, now))
        self._report(AccountPosition(account, (asset,), now))

    def instrument(self, symbol: str) -> Instrument:
        """Return a listed symbol's rules, or refuse an unknown symbol."""
        instrument = self.instruments.get(symbol)
        if instrument is None:
            raise errors.invalid_symbol()
        return instrument

    def book(self, symbol: str) -> OrderBook:
        """Return a listed symbol's order book."""
        self.instrument(symbol)
        return self._books[symbol]

    def candles(self, symbol: str) -> CandleSeries:
        """Return a listed symbol's trading per minute."""
        self.instrument(symbol)
        return self._candles[symbol]

    def average_price(self, symbol: str, minutes: int) -> Fraction | None:
        """Return the volume-weighted price of the last minutes in ticks; None before a trade."""
        return self.candles(symbol).average_price(self.clock(), minutes)

    def place(self, request: OrderRequest) -> tuple[Order, list[Trade]]:
        """Place a new order: match what crosses, rest what a GTC limit order leaves over.

        Return the order and the trades it made as taker.
        """
        instrument = self.instrument(request.symbol)
        if self._is_open_client_id(request.account, request.client_order_id):
            raise errors.order_rejected("Duplicate order sent.")
        book = self._books[request.symbol]
        if request.order_type is OrderType.LIMIT_MAKER and book.would_take(
            request.is_buy, request.price
        ):
            raise errors.order_rejected("Order would immediately match and take.")
        limit, max_lots, max_cost = _match_bounds(request)
        stp = STP_CODES[request.stp_mode]
        preview = book.preview(request.is_buy, limit, max_lots, max_cost, request.account, stp)
        if request.time_in_force is TimeInForce.FOK and preview.lots < request.quantity:
            return self._kill(request), []
        rests = _rests(request) and not preview.taker_expired
        rest_lots = request.quantity - preview.lots if rests else 0
        self._lock(request, instrument, preview.cost, preview.lots, rest_lots)
        order = self._register(request, request.quantity or preview.lots)
        self._report_order(order, ExecutionType.NEW)
        match = book.take(request.is_buy, limit, max_lots, max_cost, request.account, stp)
        trades = [self._settle(order, fill, instrument) for fill in match.fills]
        for index, prevention in enumerate(match.preventions):
            ends_taker = match.taker_expired and index == len(match.preventions) - 1
            self._prevent(order, prevention, instrument, ends_taker)
        self._rest_or_close(order, rest_lots)
        touched = {order.account}
        touched.update(fill.maker_owner for fill in match.fills)
        self._report_positions(touched, instrument)
        return order, trades

    def cancel(
        self,
        account: str,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
        cancel_client_id: str | None = None,
    ) -> Order:
        """Cancel an open order by exchange id or client id and give back what it held."""
        order = self._find(account, symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise errors.unknown_order_cancel()
        self._cancel(order, cancel_client_id or new_client_order_id())
        self._report_positions({account}, self.instruments[symbol])
        return order

    def cancel_all(self, account: str, symbol: str) -> list[Order]:
        """Cancel every open order of an account on one symbol."""
        instrument = self.instrument(symbol)
        orders = self.open_orders(account, symbol)
        if not orders:
            raise errors.unknown_order_cancel()
        for order in orders:
            self._cancel(order, new_client_order_id())
        self._report_positions({account}, instrument)
        return orders

    def order(
        self, account: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order:
        """Return one of an account's orders, open or recently closed."""
        order = self._find(account, symbol, order_id, client_id)
        if order is None:
            raise errors.no_such_order()
        return order

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        """Return an account's open orders, oldest first, on one symbol or all."""
        return [o for o in self._open[account].values() if symbol is None or o.symbol == symbol]

    def all_orders(self, account: str, symbol: str) -> list[Order]:
        """Return an account's open and recently closed orders on one symbol, oldest first."""
        self.instrument(symbol)
        ids = [*self._closed[account], *self._open[account]]
        orders = [self._orders[order_id] for order_id in ids if order_id in self._orders]
        return sorted(
            (order for order in orders if order.symbol == symbol), key=lambda o: o.order_id
        )

    def all_open_orders(self) -> list[Order]:
        """Return every open order of every account, oldest first."""
        orders = [order for opened in self._open.values() for order in opened.values()]
        return sorted(orders, key=lambda order: order.order_id)

    def trades(self, account: str, symbol: str) -> deque[Trade]:
        """Return an account's recent trades on one symbol, oldest first."""
        self.instrument(symbol)
        return self._trades.get((account, symbol), deque())

    def tape(self, symbol: str) -> deque[PublicTrade]:
        """Return a symbol's recent public trades, oldest first."""
        self.instrument(symbol)
        return self._tape[symbol]

    def last_price(self, symbol: str) -> int | None:
        """Return the price of a symbol's latest trade, or None before its first."""
        tape = self.tape(symbol)
        return tape[-1].price if tape else None

    def _report(self, event: ExchangeEvent) -> None:
        """Tell every listener about an event."""
        for listener in self._listeners:
            listener(event)

    def _report_order(
        self,
        order: Order,
        execution: ExecutionType,
        trade: Trade | None = None,
        prevented: PreventedMatch | None = None,
        prevented_lots: int = 0,
    ) -> None:
        """Tell listeners that an order changed, with a copy of the order as it is now."""
        if self._listeners:
            snapshot = copy.copy(order)
            self._report(
                ExecutionReport(
                    snapshot, execution, order.update_time, trade, prevented, prevented_lots
                )
            )

    def _report_positions(self, accounts: set[str], instrument: Instrument) -> None:
        """Tell listeners which accounts' balances of a symbol's assets may have changed."""
        now = self.clock()
        for account in sorted(accounts):
            self._report(AccountPosition(account, (instrument.base, instrument.quote), now))

    def _is_open_client_id(self, account: str, client_id: str) -> bool:
        """Return whether an open order of the account already has this client id."""
        order_id = self._client_ids[account].get(client_id)
        return order_id is not None and order_id in self._open[account]

    def _kill(self, request: OrderRequest) -> Order:
        """Record a fill-or-kill order that cannot fill in full, and end it unfilled."""
        killed = self._register(request, request.quantity)
        self._report_order(killed, ExecutionType.NEW)
        self._close(killed, OrderStatus.EXPIRED)
        self._report_order(killed, ExecutionType.EXPIRED)
        return killed

    def _lock(
        self, request: OrderRequest, instrument: Instrument, cost: int, lots: int, rest_lots: int
    ) -> None:
        """Hold what an order can spend: the cost of its fills and of its resting part."""
        if request.is_buy:
            tick_lots = cost + rest_lots * request.price
            units = tick_lots * instrument.quote_units_per_tick_lot
            self.wallets.lock(request.account, instrument.quote, units)
        else:
            units = (lots + rest_lots) * instrument.base_units_per_lot
            self.wallets.lock(request.account, instrument.base, units)

    def _release(self, order: Order, lots: int, price: int) -> None:
        """Give back what `lots` of an order resting at `price` held."""
        instrument = self.instruments[order.symbol]
        if order.request.is_buy:
            units = lots * price * instrument.quote_units_per_tick_lot
            self.wallets.unlock(order.account, instrument.quote, units)
        else:
            self.wallets.unlock(
                order.account, instrument.base, lots * instrument.base_units_per_lot
            )

    def _rest_or_close(self, order: Order, rest_lots: int) -> None:
        """Rest what is left of an order in the book, or end the order's life."""
        if order.status is OrderStatus.EXPIRED_IN_MATCH:
            self._remember_closed(order)
            last = order.prevented_matches[-1]
            self._report_order(
                order, ExecutionType.TRADE_PREVENTION, None, last, last.taker_prevented
            )
        elif rest_lots:
            request = order.request
            resting = RestingOrder(
                order.order_id, order.account, request.is_buy, request.price, rest_lots
            )
            self._books[order.symbol].rest(resting)
            self._open[order.account][order.order_id] = order
        elif order.executed and order.executed == order.quantity:
            self._close(order, OrderStatus.FILLED)
        else:
            self._close(order, OrderStatus.EXPIRED)
            self._report_order(order, ExecutionType.EXPIRED)

    def _register(self, request: OrderRequest, quantity: int) -> Order:
        """Record a new order under the next order id."""
        now = self.clock()
        order = Order(self._next_order_id, request, now, quantity, update_time=now)
        self._next_order_id += 1
        self._orders[order.order_id] = order
        self._client_ids[request.account][request.client_order_id] = order.order_id
        return order

    def _settle(self, taker: Order, fill: Fill, instrument: Instrument) -> Trade:
        """Move the assets of one fill, charge both sides, record the trade; return the taker's."""
        maker = self._orders[fill.maker_order_id]
        now = self.clock()
        buyer, seller = (taker, maker) if taker.request.is_buy else (maker, taker)
        self.wallets.pay(buyer.account, instrument.quote, _quote_units(fill, instrument))
        self.wallets.pay(seller.account, instrument.base, _base_units(fill, instrument))
        trade_id = self._next_trade_id[instrument.symbol]
        self._next_trade_id[instrument.symbol] += 1
        printed = PublicTrade(
            trade_id,
            fill.price,
            fill.lots,
            now,
            buyer is maker,
            buyer.order_id,
            seller.order_id,
        )
        self._tape[instrument.symbol].append(printed)
        self._candles[instrument.symbol].record(printed)
        maker_trade = self._trade_side(
            maker, trade_id, fill, instrument, is_buyer=buyer is maker, is_maker=True
        )
        if not fill.maker_remaining:
            del self._open[maker.account][maker.order_id]
            self._close(maker, OrderStatus.FILLED)
        self._report_order(maker, ExecutionType.TRADE, trade=maker_trade)
        trade = self._trade_side(taker, trade_id, fill, instrument, buyer is taker, is_maker=False)
        self._report_order(taker, ExecutionType.TRADE, trade=trade)
        self._report(TapeTrade(instrument.symbol, printed))
        return trade

    def _prevent(
        self, taker: Order, prevention: Prevention, instrument: Instrument, ends_taker: bool
    ) -> None:
        """Record a self-trade the book prevented: expire the maker, the taker, or both."""
        prevented_id = self._next_prevented_id[instrument.symbol]
        self._next_prevented_id[instrument.symbol] += 1
        taker_lots = taker.quantity - taker.executed if ends_taker else 0
        maker_lots = prevention.maker_remaining if prevention.maker_expired else 0
        record = PreventedMatch(
            prevented_id,
            taker.order_id,
            prevention.maker_order_id,
            prevention.price,
            taker_lots,
            maker_lots,
            taker.request.stp_mode,
        )
        taker.prevented_matches.append(record)
        now = self.clock()
        if prevention.maker_expired:
            maker = self._orders[prevention.maker_order_id]
            self._release(maker, maker_lots, prevention.price)
            del self._open[maker.account][maker.order_id]
            maker.prevent(maker_lots, prevented_id, now)
            self._remember_closed(maker)
            self._report_order(
                maker, ExecutionType.TRADE_PREVENTION, prevented=record, prevented_lots=maker_lots
            )
        if ends_taker:
            taker.prevent(taker_lots, prevented_id, now)

    def _trade_side(
        self,
        order: Order,
        trade_id: int,
        fill: Fill,
        instrument: Instrument,
        is_buyer: bool,
        is_maker: bool,
    ) -> Trade:
        """Credit one side of a fill less its commission, and record that side's trade."""
        asset = instrument.base if is_buyer else instrument.quote
        received = _base_units(fill, instrument) if is_buyer else _quote_units(fill, instrument)
        rate = MAKER_COMMISSION if is_maker else TAKER_COMMISSION
        commission = received * rate // COMMISSION_DENOMINATOR
        self.wallets.receive(order.account, asset, received, commission)
        now = self.clock()
        order.record_fill(fill.lots, fill.price, now)
        trade = Trade(
            trade_id,
            order.symbol,
            order.order_id,
            fill.price,
            fill.lots,
            now,
            is_buyer,
            is_maker,
            commission,
            asset,
        )
        self._remember_trade(order.account, trade)
        return trade

    def _remember_trade(self, account: str, trade: Trade) -> None:
        """Keep a trade in the account's recent history of its symbol."""
        key = (account, trade.symbol)
        trades = self._trades.get(key)
        if trades is None:
            trades = self._trades[key] = deque(maxlen=HISTORY_LIMIT)
        trades.append(trade)

    def _cancel(self, order: Order, cancel_client_id: str) -> None:
        """Take an open order out of the book, give back what it held, and report it."""
        resting = self._books[order.symbol].cancel(order.order_id)
        if resting is None:
            raise errors.unknown_order_cancel()
        self._release(order, resting.remaining, resting.price)
        del self._open[order.account][order.order_id]
        order.cancel_client_id = cancel_client_id
        self._close(order, OrderStatus.CANCELED)
        self._report_order(order, ExecutionType.CANCELED)

    def _close(self, order: Order, status: OrderStatus) -> None:
        """End an order's life with a final status."""
        order.close(status, self.clock())
        self._remember_closed(order)

    def _remember_closed(self, order: Order) -> None:
        """Keep a closed order, forgetting the oldest beyond the history limit."""
        closed = self._closed[order.account]
        closed.append(order.order_id)
        if len(closed) > HISTORY_LIMIT:
            forgotten = self._orders.pop(closed.popleft())
            client_ids = self._client_ids[forgotten.account]
            if client_ids.get(forgotten.client_order_id) == forgotten.order_id:
                del client_ids[forgotten.client_order_id]

    def _find(
        self, account: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        """Return an account's order by id or client id on a symbol, or None."""
        self.instrument(symbol)
        if order_id is None and client_id is not None:
            order_id = self._client_ids[account].get(client_id)
        order = self._orders.get(order_id) if order_id is not None else None
        if order is None or order.account != account or order.symbol != symbol:
            return None
        if client_id is not None and order.client_order_id != client_id:
            return None
        return order


def _base_units(fill: Fill, instrument: Instrument) -> int:
    """Return the base asset a fill moves, in 1e-8 units."""
    return fill.lots * instrument.base_units_per_lot


def _quote_units(fill: Fill, instrument: Instrument) -> int:
    """Return the quote asset a fill moves, in 1e-8 units."""
    return fill.price * fill.lots * instrument.quote_units_per_tick_lot


def _match_bounds(request: OrderRequest) -> tuple[int, int, int]:
    """Return the price limit, lot bound and cost bound an order matches within."""
    if request.order_type is OrderType.MARKET:
        limit = UNBOUNDED if request.is_buy else 0
    else:
        limit = request.price
    return limit, request.quantity or UNBOUNDED, request.quote_quantity or UNBOUNDED


def _rests(request: OrderRequest) -> bool:
    """Return whether what an order does not fill at once waits in the book."""
    return request.order_type is not OrderType.MARKET and request.time_in_force is TimeInForce.GTC
