"""Binance's public market data endpoints."""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from simulator import errors, market_views
from simulator.api.keys import EXCHANGE, WEIGHTS
from simulator.api.request import answer, public_params
from simulator.candles import INTERVALS_MS
from simulator.const import (
    AVERAGE_PRICE_MINUTES,
    DEPTH_DEFAULT_LIMIT,
    DEPTH_MAX_LIMIT,
    KLINES_DEFAULT_LIMIT,
    KLINES_MAX_LIMIT,
    TRADES_DEFAULT_LIMIT,
    TRADES_MAX_LIMIT,
)
from simulator.exchange import SpotExchange
from simulator.history import select_trades
from simulator.instrument import Instrument
from simulator.params import Params

routes = web.RouteTableDef()


class TickerType(StrEnum):
    """How much a 24-hour ticker tells."""

    FULL = "FULL"
    MINI = "MINI"


def selected_instruments(exchange: SpotExchange, params: Params) -> list[Instrument] | None:
    """Return the instruments of `symbol`/`symbols`, or None when neither was sent."""
    symbols = params.symbols()
    if symbols is None:
        return None
    return [exchange.instrument(symbol) for symbol in symbols]


def one_or_all(exchange: SpotExchange, params: Params) -> list[Instrument]:
    """Return the instruments asked for, every listed one when none is named."""
    chosen = selected_instruments(exchange, params)
    return list(exchange.instruments.values()) if chosen is None else chosen


@routes.get("/api/v3/ping")
async def ping(request: web.Request) -> web.Response:
    """Answer a connectivity test."""
    (await public_params(request)).check_all_read()
    return answer({})


@routes.get("/api/v3/time")
async def server_time(request: web.Request) -> web.Response:
    """Return the server clock."""
    (await public_params(request)).check_all_read()
    return answer({"serverTime": request.app[EXCHANGE].clock()})


@routes.get("/api/v3/exchangeInfo")
async def exchange_info(request: web.Request) -> web.Response:
    """Return the trading rules of every symbol, or of the symbols asked for."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    params.optional_text("permissions")
    params.optional_text("showPermissionSets")
    instruments = one_or_all(exchange, params)
    params.check_all_read()
    rate_limits = request.app[WEIGHTS].limits.exchange_info()
    return answer(market_views.exchange_info(instruments, rate_limits, exchange.clock()))


@routes.get("/api/v3/depth")
async def depth(request: web.Request) -> web.Response:
    """Return the order book of a symbol."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    limit = params.limit(DEPTH_DEFAULT_LIMIT, DEPTH_MAX_LIMIT)
    params.check_all_read()
    return answer(market_views.depth(exchange.book(instrument.symbol), instrument, limit))


@routes.get("/api/v3/trades")
async def recent_trades(request: web.Request) -> web.Response:
    """Return a symbol's latest trades."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    limit = params.limit(TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)
    params.check_all_read()
    trades = select_trades(exchange.tape(instrument.symbol), None, None, None, limit)
    return answer([market_views.public_trade(trade, instrument) for trade in trades])


@routes.get("/api/v3/aggTrades")
async def aggregate_trades(request: web.Request) -> web.Response:
    """Return a symbol's trades as aggregates, by id, by time or the latest."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    from_id = params.optional_integer("fromId")
    start = params.optional_integer("startTime")
    end = params.optional_integer("endTime")
    limit = params.limit(TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)
    params.check_all_read()
    trades = select_trades(exchange.tape(instrument.symbol), from_id, start, end, limit)
    return answer([market_views.aggregate_trade(trade, instrument) for trade in trades])


@routes.get("/api/v3/klines")
async def klines(request: web.Request) -> web.Response:
    """Return a symbol's klines of one interval: from a start, up to an end, or the latest."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    interval_ms = INTERVALS_MS.get(params.text("interval"))
    if interval_ms is None:
        raise errors.BinanceError(-1120, "Invalid interval.")
    start = params.optional_integer("startTime")
    end = params.optional_integer("endTime")
    if params.optional_text("timeZone") not in (None, "0", "+00:00"):
        raise errors.invalid_value("timeZone")
    limit = params.limit(KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT)
    params.check_all_read()
    if start is not None and end is not None and start > end:
        raise errors.BinanceError(-1128, "Combination of optional parameters invalid.")
    candles = exchange.candles(instrument.symbol)
    chosen = candles.klines(interval_ms, start, end, limit, exchange.clock())
    return answer([market_views.kline(candle, interval_ms, instrument) for candle in chosen])


@routes.get("/api/v3/avgPrice")
async def average_price(request: web.Request) -> web.Response:
    """Return a symbol's volume-weighted price over the last five minutes."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    params.check_all_read()
    average = exchange.average_price(instrument.symbol, AVERAGE_PRICE_MINUTES)
    return answer(
        market_views.average_price(average, AVERAGE_PRICE_MINUTES, instrument, exchange.clock())
    )


@routes.get("/api/v3/ticker/24hr")
async def day_ticker(request: web.Request) -> web.Response:
    """Return the rolling 24-hour statistics of one symbol, of some, or of all."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instruments = one_or_all(exchange, params)
    kind = params.optional_choice(
        "type", TickerType, errors.BinanceError(-1139, "Invalid ticker type.")
    )
    params.check_all_read()
    tickers = [
        market_views.day_ticker(
            market_views.day_statistics(exchange, instrument.symbol),
            exchange.book(instrument.symbol),
            instrument,
            full=kind is not TickerType.MINI,
        )
        for instrument in instruments
    ]
    return answer(tickers[0] if "symbol" in params else tickers)


@routes.get("/api/v3/ticker/price")
async def price_ticker(request: web.Request) -> web.Response:
    """Return the last price of one symbol, of some, or of all."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instruments = one_or_all(exchange, params)
    params.check_all_read()
    tickers = [
        market_views.price_ticker(instrument, exchange.last_price(instrument.symbol))
        for instrument in instruments
    ]
    return answer(tickers[0] if "symbol" in params else tickers)


@routes.get("/api/v3/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    """Return the best bid and ask of one symbol, of some, or of all."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instruments = one_or_all(exchange, params)
    params.check_all_read()
    tickers = [
        market_views.book_ticker(exchange.book(instrument.symbol), instrument)
        for instrument in instruments
    ]
    return answer(tickers[0] if "symbol" in params else tickers)
