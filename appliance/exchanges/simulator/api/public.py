"""Binance's public market data endpoints."""

from __future__ import annotations

from aiohttp import web

from appliance.exchanges.simulator import views
from appliance.exchanges.simulator.api.keys import EXCHANGE
from appliance.exchanges.simulator.api.request import answer, public_params
from appliance.exchanges.simulator.const import (
    DEPTH_DEFAULT_LIMIT,
    DEPTH_MAX_LIMIT,
    TRADES_DEFAULT_LIMIT,
    TRADES_MAX_LIMIT,
)
from appliance.exchanges.simulator.exchange import SpotExchange
from appliance.exchanges.simulator.history import select_trades
from appliance.exchanges.simulator.instrument import Instrument
from appliance.exchanges.simulator.params import Params

routes = web.RouteTableDef()


def selected_instruments(exchange: SpotExchange, params: Params) -> list[Instrument] | None:
    """Return the instruments of `symbol`/`symbols`, or None when neither was sent."""
    symbols = params.symbols()
    if symbols is None:
        return None
    return [exchange.instrument(symbol) for symbol in symbols]


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
    chosen = selected_instruments(exchange, params)
    params.check_all_read()
    instruments = exchange.instruments.values() if chosen is None else chosen
    return answer(views.exchange_info(instruments, exchange.clock()))


@routes.get("/api/v3/depth")
async def depth(request: web.Request) -> web.Response:
    """Return the order book of a symbol."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    limit = params.limit(DEPTH_DEFAULT_LIMIT, DEPTH_MAX_LIMIT)
    params.check_all_read()
    return answer(views.depth(exchange.book(instrument.symbol), instrument, limit))


@routes.get("/api/v3/trades")
async def recent_trades(request: web.Request) -> web.Response:
    """Return a symbol's latest trades."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    instrument = exchange.instrument(params.symbol())
    limit = params.limit(TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)
    params.check_all_read()
    trades = select_trades(exchange.tape(instrument.symbol), None, None, None, limit)
    return answer([views.public_trade(trade, instrument) for trade in trades])


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
    return answer([views.aggregate_trade(trade, instrument) for trade in trades])


@routes.get("/api/v3/ticker/price")
async def price_ticker(request: web.Request) -> web.Response:
    """Return the last price of one symbol, of some, or of all."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    chosen = selected_instruments(exchange, params)
    params.check_all_read()
    tickers = [
        views.price_ticker(instrument, exchange.last_price(instrument.symbol))
        for instrument in (exchange.instruments.values() if chosen is None else chosen)
    ]
    return answer(tickers[0] if "symbol" in params else tickers)


@routes.get("/api/v3/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    """Return the best bid and ask of one symbol, of some, or of all."""
    exchange = request.app[EXCHANGE]
    params = await public_params(request)
    chosen = selected_instruments(exchange, params)
    params.check_all_read()
    tickers = [
        views.book_ticker(exchange.book(instrument.symbol), instrument)
        for instrument in (exchange.instruments.values() if chosen is None else chosen)
    ]
    return answer(tickers[0] if "symbol" in params else tickers)
