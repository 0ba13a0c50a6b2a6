"""The JSON shapes of Binance's account and order answers, built from the exchange's records."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from simulator.const import (
    ASSET_SCALE,
    COMMISSION_DENOMINATOR,
    MAKER_COMMISSION,
    TAKER_COMMISSION,
    TRADING_AUTHORITY_NEVER_EXPIRES_MS,
)
from simulator.instrument import Instrument, decimal_text, units_text
from simulator.orders import Order, PreventedMatch, Trade
from simulator.wallet import Wallets

Json = dict[str, Any]
ZERO = decimal_text(Decimal(0))
NO_ORDER_LIST = -1


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


def _prevention(order: Order, instrument: Instrument) -> Json:
    """Return the self-trade prevention fields of an order: its mode, and what STP expired."""
    fields: Json = {"selfTradePreventionMode": order.request.stp_mode.value}
    if order.prevented_match_id is not None:
        fields["preventedMatchId"] = order.prevented_match_id
        fields["preventedQuantity"] = instrument.quantity_text(order.prevented_quantity)
    return fields


def prevented_match(match: PreventedMatch, instrument: Instrument) -> Json:
    """Return one prevented self-trade as a new-order answer lists it."""
    shown: Json = {
        "preventedMatchId": match.prevented_match_id,
        "makerOrderId": match.maker_order_id,
        "price": instrument.price_text(match.price),
    }
    if match.taker_prevented:
        shown["takerPreventedQuantity"] = instrument.quantity_text(match.taker_prevented)
    if match.maker_prevented:
        shown["makerPreventedQuantity"] = instrument.quantity_text(match.maker_prevented)
    return shown


def order_result(order: Order, instrument: Instrument) -> Json:
    """Return the RESULT answer to a new order."""
    return {
        **order_ack(order),
        **_order_core(order, instrument),
        "workingTime": order.time,
        **_prevention(order, instrument),
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
    full = {**order_result(order, instrument), "fills": fills}
    if order.prevented_matches:
        full["preventedMatches"] = [
            prevented_match(match, instrument) for match in order.prevented_matches
        ]
    return full


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
        **_prevention(order, instrument),
    }


def canceled_order(order: Order, instrument: Instrument) -> Json:
    """Return the answer to a cancel: the order, under the id the cancel was given."""
    return {
        **_order_core(order, instrument),
        "origClientOrderId": order.client_order_id,
        "clientOrderId": order.cancel_client_id,
        "transactTime": order.update_time,
        **_prevention(order, instrument),
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


def commission_rates() -> Json:
    """Return the commission rates `/api/v3/order/test` computes for an order."""
    zero_pair = {"maker": ZERO, "taker": ZERO}
    return {
        "standardCommissionForOrder": {
            "maker": _rate(MAKER_COMMISSION),
            "taker": _rate(TAKER_COMMISSION),
        },
        "specialCommissionForOrder": zero_pair,
        "taxCommissionForOrder": zero_pair,
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": ZERO,
        },
    }


def _rate(basis_points: int) -> str:
    """Return a commission in basis points as a decimal rate."""
    return units_text(basis_points * ASSET_SCALE // COMMISSION_DENOMINATOR)


def api_restrictions(create_time: int, enable_withdrawals: bool) -> Json:
    """Return an API key's permissions as `GET /sapi/v1/account/apiRestrictions` answers them.

    A key reads and trades spot, all the simulator serves. Binance lets a key withdraw only
    behind an IP access restriction, so a key that may withdraw has one.
    """
    return {
        "ipRestrict": enable_withdrawals,
        "createTime": create_time,
        "enableInternalTransfer": False,
        "enableFutures": False,
        "enablePortfolioMarginTrading": False,
        "enableVanillaOptions": False,
        "permitsUniversalTransfer": False,
        "enableReading": True,
        "enableSpotAndMarginTrading": True,
        "enableWithdrawals": enable_withdrawals,
        "enableMargin": False,
        "tradingAuthorityExpirationTime": TRADING_AUTHORITY_NEVER_EXPIRES_MS,
    }


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
