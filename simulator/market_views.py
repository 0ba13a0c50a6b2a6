"""The JSON shapes of Binance's spot market data: exchange info, books, trades, tickers, klines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from simulator.candles import Candle
from simulator.const import DAY_MS, DEFAULT_STP_MODE
from simulator.exchange import SpotExchange
from simulator.instrument import (
    ORDER_TYPES,
    Instrument,
    decimal_text,
)
from simulator.matching import OrderBook
from simulator.orders import PublicTrade, SelfTradePrevention

Json = dict[str, Any]
ZERO = decimal_text(Decimal(0))


def symbol_info(instrument: Instrument) -> Json:
    """Return one symbol of `/api/v3/exchangeInfo`."""
    return {
        "symbol": instrument.symbol,
        "status": "TRADING",
        "baseAsset": instrument.base,
        "baseAssetPrecision": 8,
        "quoteAsset": instrument.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": instrument.filters(),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": DEFAULT_STP_MODE.value,
        "allowedSelfTradePreventionModes": [mode.value for mode in SelfTradePrevention],
    }


def exchange_info(instruments: Iterable[Instrument], rate_limits: list[Json], now: int) -> Json:
    """Return `/api/v3/exchangeInfo` for some symbols."""
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": rate_limits,
        "exchangeFilters": [],
        "symbols": [symbol_info(instrument) for instrument in instruments],
    }


def public_trade(trade: PublicTrade, instrument: Instrument) -> Json:
    """Return a trade of the tape as `/api/v3/trades` shows it."""
    return {
        "id": trade.trade_id,
        "price": instrument.price_text(trade.price),
        "qty": instrument.quantity_text(trade.lots),
        "quoteQty": instrument.quote_text(trade.price * trade.lots),
        "time": trade.time,
        "isBuyerMaker": trade.is_buyer_maker,
        "isBestMatch": True,
    }


def aggregate_trade(trade: PublicTrade, instrument: Instrument) -> Json:
    """Return a trade of the tape as `/api/v3/aggTrades` shows it: one trade per aggregate."""
    return {
        "a": trade.trade_id,
        "p": instrument.price_text(trade.price),
        "q": instrument.quantity_text(trade.lots),
        "f": trade.trade_id,
        "l": trade.trade_id,
        "T": trade.time,
        "m": trade.is_buyer_maker,
        "M": True,
    }


def depth(book: OrderBook, instrument: Instrument, limit: int) -> Json:
    """Return `/api/v3/depth`: the best `limit` levels of each side."""
    return {
        "lastUpdateId": book.update_id,
        "bids": levels(book, instrument, True, limit),
        "asks": levels(book, instrument, False, limit),
    }


def levels(book: OrderBook, instrument: Instrument, is_buy: bool, limit: int) -> list[list[str]]:
    """Return price levels of one side as Binance writes them."""
    return level_texts(instrument, book.depth(is_buy, limit))


def level_texts(instrument: Instrument, pairs: Iterable[tuple[int, int]]) -> list[list[str]]:
    """Return (price, lots) pairs as Binance's [price, quantity] texts."""
    return [[instrument.price_text(price), instrument.quantity_text(lots)] for price, lots in pairs]


def top_of_book(book: OrderBook, instrument: Instrument) -> tuple[list[str], list[str]]:
    """Return the best bid and best ask as [price, quantity] texts, zeros for an empty side."""
    bid = levels(book, instrument, True, 1) or [[ZERO, ZERO]]
    ask = levels(book, instrument, False, 1) or [[ZERO, ZERO]]
    return bid[0], ask[0]


def book_ticker(book: OrderBook, instrument: Instrument) -> Json:
    """Return `/api/v3/ticker/bookTicker` of one symbol: best bid and ask with their sizes."""
    bid, ask = top_of_book(book, instrument)
    return {
        "symbol": instrument.symbol,
        "bidPrice": bid[0],
        "bidQty": bid[1],
        "askPrice": ask[0],
        "askQty": ask[1],
    }


def price_ticker(instrument: Instrument, last_price: int | None) -> Json:
    """Return `/api/v3/ticker/price` of one symbol: its last trade price."""
    price = ZERO if last_price is None else instrument.price_text(last_price)
    return {"symbol": instrument.symbol, "price": price}


@dataclass(frozen=True)
class DayStatistics:
    """A symbol's trading over the rolling 24 hours up to `close_time`.

    Without a trade in the window every price is the last price and every count zero.
    """

    open_time: int
    close_time: int
    traded: Candle | None
    previous_close: int
    last_price: int
    last_lots: int

    @property
    def open_price(self) -> int:
        """Return the first price of the window."""
        return self.traded.open if self.traded else self.last_price

    @property
    def high(self) -> int:
        """Return the highest price of the window."""
        return self.traded.high if self.traded else self.last_price

    @property
    def low(self) -> int:
        """Return the lowest price of the window."""
        return self.traded.low if self.traded else self.last_price

    @property
    def volume(self) -> int:
        """Return the lots traded in the window."""
        return self.traded.volume if self.traded else 0

    @property
    def quote_volume(self) -> int:
        """Return the tick-lots traded in the window."""
        return self.traded.quote if self.traded else 0

    @property
    def first_id(self) -> int:
        """Return the first trade id of the window, -1 without trades."""
        return self.traded.first_id if self.traded else -1

    @property
    def last_id(self) -> int:
        """Return the last trade id of the window, -1 without trades."""
        return self.traded.last_id if self.traded else -1

    @property
    def count(self) -> int:
        """Return how many trades the window holds."""
        return self.traded.count if self.traded else 0

    def change_text(self, instrument: Instrument) -> str:
        """Return the price change over the window, negative when the price fell."""
        change = self.last_price - self.open_price
        text = instrument.price_text(abs(change))
        return f"-{text}" if change < 0 else text

    def change_percent(self) -> str:
        """Return the price change as Binance's percent text with three decimals."""
        if not self.open_price:
            return "0.000"
        change = self.last_price - self.open_price
        return f"{Decimal(change * 100) / Decimal(self.open_price):.3f}"

    def weighted_average(self, instrument: Instrument) -> str:
        """Return the volume-weighted average price of the window."""
        if not self.traded:
            return ZERO
        return fraction_price(Fraction(self.traded.quote, self.traded.volume), instrument)


def fraction_price(ticks: Fraction, instrument: Instrument) -> str:
    """Return a price in fractional ticks as Binance's eight-decimal text."""
    return decimal_text(Decimal(ticks.numerator) / ticks.denominator * instrument.tick_size)


def day_statistics(exchange: SpotExchange, symbol: str) -> DayStatistics:
    """Return a symbol's rolling 24-hour statistics as of now."""
    now = exchange.clock()
    candles = exchange.candles(symbol)
    tape = exchange.tape(symbol)
    open_time = now - DAY_MS
    last_price = tape[-1].price if tape else 0
    return DayStatistics(
        open_time,
        now,
        candles.summary(open_time, now),
        candles.close_before(open_time) or 0,
        last_price,
        tape[-1].lots if tape else 0,
    )


def day_ticker(
    stats: DayStatistics, book: OrderBook, instrument: Instrument, full: bool = True
) -> Json:
    """Return `/api/v3/ticker/24hr` of one symbol, FULL or MINI."""
    mini: Json = {
        "symbol": instrument.symbol,
        "openPrice": instrument.price_text(stats.open_price),
        "highPrice": instrument.price_text(stats.high),
        "lowPrice": instrument.price_text(stats.low),
        "lastPrice": instrument.price_text(stats.last_price),
        "volume": instrument.quantity_text(stats.volume),
        "quoteVolume": instrument.quote_text(stats.quote_volume),
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": stats.first_id,
        "lastId": stats.last_id,
        "count": stats.count,
    }
    if not full:
        return mini
    bid, ask = top_of_book(book, instrument)
    return {
        "symbol": instrument.symbol,
        "priceChange": stats.change_text(instrument),
        "priceChangePercent": stats.change_percent(),
        "weightedAvgPrice": stats.weighted_average(instrument),
        "prevClosePrice": instrument.price_text(stats.previous_close),
        "lastQty": instrument.quantity_text(stats.last_lots),
        "bidPrice": bid[0],
        "bidQty": bid[1],
        "askPrice": ask[0],
        "askQty": ask[1],
        **mini,
    }


def kline(candle: Candle, interval_ms: int, instrument: Instrument) -> list[Any]:
    """Return one kline as `/api/v3/klines` writes it."""
    return [
        candle.open_time,
        instrument.price_text(candle.open),
        instrument.price_text(candle.high),
        instrument.price_text(candle.low),
        instrument.price_text(candle.close),
        instrument.quantity_text(candle.volume),
        candle.open_time + interval_ms - 1,
        instrument.quote_text(candle.quote),
        candle.count,
        instrument.quantity_text(candle.taker_buy_volume),
        instrument.quote_text(candle.taker_buy_quote),
        "0",
    ]


def average_price(average: Fraction | None, minutes: int, instrument: Instrument, now: int) -> Json:
    """Return `/api/v3/avgPrice`: the volume-weighted price of the last minutes."""
    price = ZERO if average is None else fraction_price(average, instrument)
    return {"mins": minutes, "price": price, "closeTime": now}
