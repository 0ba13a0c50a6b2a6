"""Binance's signed account and trading endpoints."""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from appliance.exchanges.simulator import errors, views
from appliance.exchanges.simulator.api.keys import ACCOUNTS, EXCHANGE
from appliance.exchanges.simulator.api.request import answer, new_client_order_id, signed_params
from appliance.exchanges.simulator.const import TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT
from appliance.exchanges.simulator.history import select_trades
from appliance.exchanges.simulator.instrument import Instrument
from appliance.exchanges.simulator.orders import OrderRequest, OrderType, Side, TimeInForce
from appliance.exchanges.simulator.params import Params

routes = web.RouteTableDef()


class ResponseType(StrEnum):
    """How much a new-order answer tells."""

    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


@routes.get("/api/v3/account")
async def account(request: web.Request) -> web.Response:
    """Return the signing account's commissions and balances."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    omit_zero = params.optional_flag("omitZeroBalances")
    params.check_all_read()
    uid = request.app[ACCOUNTS].uid(signer.name)
    return answer(
        views.account_info(signer.name, uid, exchange.wallets, omit_zero, exchange.clock())
    )


@routes.post("/api/v3/order")
async def new_order(request: web.Request) -> web.Response:
    """Place an order and answer as `newOrderRespType` asks."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    order_request = read_order(params, instrument, signer.name)
    response_type = params.optional_choice(
        "newOrderRespType", ResponseType, errors.invalid_value("newOrderRespType")
    )
    stp_mode = params.optional_text("selfTradePreventionMode")
    if stp_mode not in (None, views.STP_MODE):
        raise errors.invalid_value("selfTradePreventionMode")
    params.check_all_read()
    order, trades = exchange.place(order_request)
    if response_type is None:
        full = order_request.order_type in (OrderType.LIMIT, OrderType.MARKET)
        response_type = ResponseType.FULL if full else ResponseType.ACK
    if response_type is ResponseType.ACK:
        return answer(views.order_ack(order))
    if response_type is ResponseType.RESULT:
        return answer(views.order_result(order, instrument))
    return answer(views.order_full(order, instrument, trades))


def read_order(params: Params, instrument: Instrument, account: str) -> OrderRequest:
    """Return a checked order from the parameters of `POST /api/v3/order`."""
    side = params.choice("side", Side, errors.BinanceError(-1117, "Invalid side."))
    order_type = params.choice("type", OrderType, errors.BinanceError(-1116, "Invalid orderType."))
    time_in_force = params.optional_choice(
        "timeInForce", TimeInForce, errors.BinanceError(-1115, "Invalid timeInForce.")
    )
    client_id = params.client_order_id("newClientOrderId") or new_client_order_id()
    if order_type is OrderType.MARKET:
        return _market_order(params, instrument, account, side, time_in_force, client_id)
    if order_type is OrderType.LIMIT and time_in_force is None:
        raise errors.mandatory_missing("timeInForce")
    if order_type is OrderType.LIMIT_MAKER and time_in_force is not None:
        raise errors.not_required("timeInForce")
    if "quoteOrderQty" in params:
        raise errors.not_required("quoteOrderQty")
    price = instrument.price_ticks(params.decimal("price"))
    lots = instrument.quantity_lots(params.decimal("quantity"))
    instrument.check_notional(price, lots)
    return OrderRequest(
        account,
        instrument.symbol,
        side,
        order_type,
        time_in_force or TimeInForce.GTC,
        price,
        lots,
        0,
        client_id,
    )


def _market_order(
    params: Params,
    instrument: Instrument,
    account: str,
    side: Side,
    time_in_force: TimeInForce | None,
    client_id: str,
) -> OrderRequest:
    """Return a checked market order: by base quantity or by quote amount."""
    if time_in_force is not None:
        raise errors.not_required("timeInForce")
    if "price" in params:
        raise errors.not_required("price")
    quantity = params.optional_decimal("quantity")
    quote_quantity = params.optional_decimal("quoteOrderQty")
    if quantity is None and quote_quantity is None:
        raise errors.one_of_missing("quantity", "quoteOrderQty")
    if quantity is not None and quote_quantity is not None:
        raise errors.not_required("quoteOrderQty")
    lots = 0 if quantity is None else instrument.quantity_lots(quantity)
    tick_lots = 0 if quote_quantity is None else instrument.quote_tick_lots(quote_quantity)
    return OrderRequest(
        account,
        instrument.symbol,
        side,
        OrderType.MARKET,
        TimeInForce.GTC,
        0,
        lots,
        tick_lots,
        client_id,
    )


def read_order_ref(params: Params) -> tuple[int | None, str | None]:
    """Return the `orderId` and `origClientOrderId` naming an order; one must be sent."""
    order_id = params.optional_integer("orderId")
    client_id = params.client_order_id("origClientOrderId")
    if order_id is None and client_id is None:
        raise errors.one_of_missing("origClientOrderId", "orderId")
    return order_id, client_id


@routes.delete("/api/v3/order")
async def cancel_order(request: web.Request) -> web.Response:
    """Cancel one open order."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    order_id, client_id = read_order_ref(params)
    cancel_id = params.client_order_id("newClientOrderId") or new_client_order_id()
    params.check_all_read()
    order = exchange.cancel(signer.name, instrument.symbol, order_id, client_id)
    return answer(views.canceled_order(order, instrument, cancel_id))


@routes.get("/api/v3/order")
async def query_order(request: web.Request) -> web.Response:
    """Return one order of the signing account, open or recently closed."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    order_id, client_id = read_order_ref(params)
    params.check_all_read()
    order = exchange.order(signer.name, instrument.symbol, order_id, client_id)
    return answer(views.order_details(order, instrument))


@routes.get("/api/v3/openOrders")
async def open_orders(request: web.Request) -> web.Response:
    """Return the signing account's open orders, on one symbol or all."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    symbol = params.optional_symbol()
    if symbol is not None:
        exchange.instrument(symbol)
    params.check_all_read()
    orders = exchange.open_orders(signer.name, symbol)
    return answer(
        [views.order_details(order, exchange.instrument(order.symbol)) for order in orders]
    )


@routes.delete("/api/v3/openOrders")
async def cancel_open_orders(request: web.Request) -> web.Response:
    """Cancel every open order of the signing account on one symbol."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    params.check_all_read()
    orders = exchange.cancel_all(signer.name, instrument.symbol)
    return answer(
        [views.canceled_order(order, instrument, new_client_order_id()) for order in orders]
    )


@routes.get("/api/v3/myTrades")
async def my_trades(request: web.Request) -> web.Response:
    """Return the signing account's trades on one symbol."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    order_id = params.optional_integer("orderId")
    from_id = params.optional_integer("fromId")
    start = params.optional_integer("startTime")
    end = params.optional_integer("endTime")
    limit = params.limit(TRADES_DEFAULT_LIMIT, TRADES_MAX_LIMIT)
    params.check_all_read()
    trades = [
        trade
        for trade in exchange.trades(signer.name, instrument.symbol)
        if order_id is None or trade.order_id == order_id
    ]
    chosen = select_trades(trades, from_id, start, end, limit)
    return answer([views.my_trade(trade, instrument) for trade in chosen])
