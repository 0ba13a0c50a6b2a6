"""The JSON shapes of Binance's spot REST answers, built from the exchange's records."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from appliance.exchanges.simulator.const import (
    ASSET_SCALE,
    COMMISSION_DENOMINATOR,
    MAKER_COMMISSION,
    TAKER_COMMISSION,
)
from appliance.exchanges.simulator.instrument import (
    ORDER_TYPES,
    Instrument,
    decimal_text,
    units_text,
)
from appliance.exchanges.simulator.matching import OrderBook
from appliance.exchanges.simulator.orders import Order, PublicTrade, Trade
from appliance.exchanges.simulator.wallet import Wallets

Json = dict[str, Any]
ZERO = decimal_text(Decimal(0))
NO_ORDER_LIST = -1
STP_MODE = "NONE"


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
        "defaultSelfTradePreventionMode": STP_MODE,
        "allowedSelfTradePreventionModes": [STP_MODE],
    }


def exchange_info(instruments: Iterable[Instrument], now: int) -> Json:
    """Return `/api/v3/exchangeInfo` for some symbols."""
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [symbol_info(instrument) for instrument in instruments],
    }


def _order_core(order: Order, instrument: Instrument) -> Json:
    """Return the fields every order answer shares."""
    request = order.request
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        "price": instrument.price_text(request.price),
        "origQty": instrument.quantity_text(order.quantity),
        "executedQty": instrument.quantity_text(order.executed),
        "cummulativeQuoteQty": instrument.quote_text(order.cumulative_quote),
        "status": order.status.value,
        "timeInForce": request.time_in_force.value,
        "type": request.order_type.value,
        "side": request.side.value,
    }


def order_ack(order: Order) -> Json:
    """Return the ACK answer to a new order."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def order_result(order: Order, instrument: Instrument) -> Json:
    """Return the RESULT answer to a new order."""
    return {
        **order_ack(order),
        **_order_core(order, instrument),
        "workingTime": order.time,
        "selfTradePreventionMode": STP_MODE,
    }


def order_full(order: Order, instrument: Instrument, trades: Iterable[Trade]) -> Json:
    """Return the FULL answer to a new order: the result and the fills it made at once."""
    fills = [
        {
            "price": instrument.price_text(trade.price),
            "qty": instrument.quantity_text(trade.lots),
            "commission": units_text(trade.commission),
            "commissionAsset": trade.commission_asset,
            "tradeId": trade.trade_id,
        }
        for trade in trades
    ]
    return {**order_result(order, instrument), "fills": fills}


def order_details(order: Order, instrument: Instrument) -> Json:
    """Return an order as `GET /api/v3/order` and `/api/v3/openOrders` show it."""
    return {
        **_order_core(order, instrument),
        "stopPrice": ZERO,
        "icebergQty": ZERO,
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.time,
        "origQuoteOrderQty": instrument.quote_text(order.request.quote_quantity),
        "selfTradePreventionMode": STP_MODE,
    }


def canceled_order(order: Order, instrument: Instrument, cancel_id: str) -> Json:
    """Return the answer to a cancel: the order, under the id the cancel was given."""
    return {
        **_order_core(order, instrument),
        "origClientOrderId": order.client_order_id,
        "clientOrderId": cancel_id,
        "transactTime": order.update_time,
        "selfTradePreventionMode": STP_MODE,
    }


def my_trade(trade: Trade, instrument: Instrument) -> Json:
    """Return one of an account's trades as `/api/v3/myTrades` shows it."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": NO_ORDER_LIST,
        "price": instrument.price_text(trade.price),
        "qty": instrument.quantity_text(trade.lots),
        "quoteQty": instrument.quote_text(trade.price * trade.lots),
        "commission": units_text(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
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


def account_info(account: str, uid: int, wallets: Wallets, omit_zero: bool, now: int) -> Json:
    """Return `/api/v3/account`: commissions, permissions and balances."""
    balances = [
        {"asset": asset, "free": units_text(balance.free), "locked": units_text(balance.locked)}
        for asset, balance in wallets.balances(account)
        if not omit_zero or balance.free or balance.locked
    ]
    return {
        "makerCommission": MAKER_COMMISSION,
        "takerCommission": TAKER_COMMISSION,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": _rate(MAKER_COMMISSION),
            "taker": _rate(TAKER_COMMISSION),
            "buyer": ZERO,
            "seller": ZERO,
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": uid,
    }


def depth(book: OrderBook, instrument: Instrument, limit: int) -> Json:
    """Return `/api/v3/depth`: the best `limit` levels of each side."""
    return {
        "lastUpdateId": book.update_id,
        "bids": _levels(book, instrument, True, limit),
        "asks": _levels(book, instrument, False, limit),
    }


def book_ticker(book: OrderBook, instrument: Instrument) -> Json:
    """Return `/api/v3/ticker/bookTicker` of one symbol: best bid and ask with their sizes."""
    bid = _levels(book, instrument, True, 1) or [[ZERO, ZERO]]
    ask = _levels(book, instrument, False, 1) or [[ZERO, ZERO]]
    return {
        "symbol": instrument.symbol,
        "bidPrice": bid[0][0],
        "bidQty": bid[0][1],
        "askPrice": ask[0][0],
        "askQty": ask[0][1],
    }


def price_ticker(instrument: Instrument, last_price: int | None) -> Json:
    """Return `/api/v3/ticker/price` of one symbol: its last trade price."""
    price = ZERO if last_price is None else instrument.price_text(last_price)
    return {"symbol": instrument.symbol, "price": price}


def _levels(book: OrderBook, instrument: Instrument, is_buy: bool, limit: int) -> list[list[str]]:
    """Return price levels of one side as Binance writes them."""
    return [
        [instrument.price_text(price), instrument.quantity_text(lots)]
        for price, lots in book.depth(is_buy, limit)
    ]


def _rate(basis_points: int) -> str:
    """Return a commission in basis points as a decimal rate."""
    return units_text(basis_points * ASSET_SCALE // COMMISSION_DENOMINATOR)


def admin_account(name: str, api_key: str | None, wallets: Wallets, open_orders: int) -> Json:
    """Return an account as `GET /sim/accounts/{name}` shows it: never its secret."""
    balances = {
        asset: {"free": units_text(balance.free), "locked": units_text(balance.locked)}
        for asset, balance in wallets.balances(name)
    }
    return {"name": name, "apiKey": api_key, "balances": balances, "openOrders": open_orders}


def admin_open_order(order: Order, instrument: Instrument) -> Json:
    """Return an open order as `GET /sim/open-orders` lists it: with its account's name."""
    return {
        "account": order.account,
        "symbol": order.symbol,
        "orderId": order.order_id,
        "clientOrderId": order.client_order_id,
        "side": order.request.side.value,
        "type": order.request.order_type.value,
        "price": instrument.price_text(order.request.price),
        "origQty": instrument.quantity_text(order.quantity),
        "executedQty": instrument.quantity_text(order.executed),
        "status": order.status.value,
        "time": order.time,
    }
