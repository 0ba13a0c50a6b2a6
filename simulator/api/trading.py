"""Binance's signed account and trading endpoints."""

from __future__ import annotations

from enum import StrEnum

from aiohttp import web

from simulator import errors, views
from simulator.accounts import Account
from simulator.api.keys import ACCOUNTS, EXCHANGE, FAULTS, ORDER_COUNTS
from simulator.api.request import answer, signed_params
from simulator.const import (
    AVERAGE_PRICE_MINUTES,
    DEFAULT_STP_MODE,
    ORDERS_DEFAULT_LIMIT,
    ORDERS_MAX_LIMIT,
    TRADES_DEFAULT_LIMIT,
    TRADES_MAX_LIMIT,
)
from simulator.exchange import SpotExchange
from simulator.history import check_day_range, select_orders, select_trades
from simulator.instrument import Instrument
from simulator.orders import (
    OrderRequest,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    new_client_order_id,
)
from simulator.params import Params

routes = web.RouteTableDef()

UNSUPPORTED_STP_MODES = frozenset({"DECREMENT", "TRANSFER"})
"""STP modes Binance knows that this exchange does not allow on any symbol."""


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
    """Place an order and answer as `newOrderRespType` asks, with the order count headers."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    order_request = read_order(params, exchange, signer)
    response_type = params.optional_choice(
        "newOrderRespType", ResponseType, errors.invalid_value("newOrderRespType")
    )
    params.check_all_read()
    counts = request.app[ORDER_COUNTS].count(signer.name)
    request.app[FAULTS].check_order()
    order, trades = exchange.place(order_request)
    instrument = exchange.instrument(order.symbol)
    if response_type is None:
        full = order_request.order_type in (OrderType.LIMIT, OrderType.MARKET)
        response_type = ResponseType.FULL if full else ResponseType.ACK
    if response_type is ResponseType.ACK:
        return answer(views.order_ack(order), headers=counts)
    if response_type is ResponseType.RESULT:
        return answer(views.order_result(order, instrument), headers=counts)
    return answer(views.order_full(order, instrument, trades), headers=counts)


@routes.post("/api/v3/order/test")
async def test_order(request: web.Request) -> web.Response:
    """Check a new order as `POST /api/v3/order` would, without placing it."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    read_order(params, exchange, signer)
    params.optional_choice(
        "newOrderRespType", ResponseType, errors.invalid_value("newOrderRespType")
    )
    compute_rates = params.optional_flag("computeCommissionRates")
    params.check_all_read()
    return answer(views.commission_rates() if compute_rates else {})


def read_order(params: Params, exchange: SpotExchange, signer: Account) -> OrderRequest:
    """Return a checked order from the parameters of `POST /api/v3/order`."""
    instrument = exchange.instrument(params.symbol())
    side = params.choice("side", Side, errors.BinanceError(-1117, "Invalid side."))
    order_type = params.choice("type", OrderType, errors.BinanceError(-1116, "Invalid orderType."))
    time_in_force = params.optional_choice(
        "timeInForce", TimeInForce, errors.BinanceError(-1115, "Invalid timeInForce.")
    )
    client_id = params.client_order_id("newClientOrderId") or new_client_order_id()
    stp_mode = read_stp_mode(params) or signer.stp_mode or DEFAULT_STP_MODE
    if order_type is OrderType.MARKET:
        return _market_order(
            params, instrument, signer.name, side, time_in_force, client_id, stp_mode
        )
    if order_type is OrderType.LIMIT and time_in_force is None:
        raise errors.mandatory_missing("timeInForce")
    if order_type is OrderType.LIMIT_MAKER and time_in_force is not None:
        raise errors.not_required("timeInForce")
    if "quoteOrderQty" in params:
        raise errors.not_required("quoteOrderQty")
    price = instrument.price_ticks(params.decimal("price"))
    lots = instrument.quantity_lots(params.decimal("quantity"))
    instrument.check_percent_price(
        side is Side.BUY, price, exchange.average_price(instrument.symbol, AVERAGE_PRICE_MINUTES)
    )
    instrument.check_notional(price, lots)
    return OrderRequest(
        signer.name,
        instrument.symbol,
        side,
        order_type,
        time_in_force or TimeInForce.GTC,
        price,
        lots,
        0,
        client_id,
        stp_mode,
    )


def read_stp_mode(params: Params) -> SelfTradePrevention | None:
    """Return the `selfTradePreventionMode` an order asks for, None when it names none."""
    text = params.optional_text("selfTradePreventionMode")
    if text in UNSUPPORTED_STP_MODES:
        raise errors.BinanceError(
            -1013, "This symbol does not allow the specified self-trade prevention mode."
        )
    if text is None:
        return None
    try:
        return SelfTradePrevention(text)
    except ValueError:
        raise errors.invalid_value("selfTradePreventionMode") from None


def _market_order(
    params: Params,
    instrument: Instrument,
    account: str,
    side: Side,
    time_in_force: TimeInForce | None,
    client_id: str,
    stp_mode: SelfTradePrevention,
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
        stp_mode,
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
    cancel_id = params.client_order_id("newClientOrderId")
    params.check_all_read()
    order = exchange.cancel(signer.name, instrument.symbol, order_id, client_id, cancel_id)
    return answer(views.canceled_order(order, instrument))


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
    return answer([views.canceled_order(order, instrument) for order in orders])


@routes.get("/api/v3/allOrders")
async def all_orders(request: web.Request) -> web.Response:
    """Return the signing account's orders on one symbol: open, filled, canceled, expired."""
    exchange = request.app[EXCHANGE]
    signer, params = await signed_params(request)
    instrument = exchange.instrument(params.symbol())
    from_id = params.optional_integer("orderId")
    start = params.optional_integer("startTime")
    end = params.optional_integer("endTime")
    limit = params.limit(ORDERS_DEFAULT_LIMIT, ORDERS_MAX_LIMIT)
    params.check_all_read()
    check_day_range(start, end)
    orders = exchange.all_orders(signer.name, instrument.symbol)
    chosen = select_orders(orders, from_id, start, end, limit)
    return answer([views.order_details(order, instrument) for order in chosen])


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
    check_day_range(start, end)
    trades = [
        trade
        for trade in exchange.trades(signer.name, instrument.symbol)
        if order_id is None or trade.order_id == order_id
    ]
    chosen = select_trades(trades, from_id, start, end, limit)
    return answer([views.my_trade(trade, instrument) for trade in chosen])
