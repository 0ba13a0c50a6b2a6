"""The JSON events of Binance's websocket streams: market data and the user data stream."""

from __future__ import annotations

from typing import Any

from simulator.instrument import Instrument, units_text
from simulator.market_views import (
    ZERO,
    DayStatistics,
    level_texts,
    top_of_book,
)
from simulator.matching import OrderBook
from simulator.orders import ExecutionType, OrderType, PublicTrade, TimeInForce
from simulator.reports import AccountPosition, BalanceUpdate, ExecutionReport
from simulator.wallet import Wallets

Json = dict[str, Any]


def execution_report(report: ExecutionReport, instrument: Instrument, now: int) -> Json:
    """Return an `executionReport` of the user data stream."""
    order, trade = report.order, report.trade
    request = order.request
    canceled = report.execution is ExecutionType.CANCELED
    resting = (
        order.is_open
        and request.order_type is not OrderType.MARKET
        and request.time_in_force is TimeInForce.GTC
    )
    event: Json = {
        "e": "executionReport",
        "E": now,
        "s": order.symbol,
        "c": order.cancel_client_id if canceled else order.client_order_id,
        "S": request.side.value,
        "o": request.order_type.value,
        "f": request.time_in_force.value,
        "q": instrument.quantity_text(order.quantity),
        "p": instrument.price_text(request.price),
        "P": ZERO,
        "F": ZERO,
        "g": -1,
        "C": order.client_order_id if canceled else "",
        "x": report.execution.value,
        "X": order.status.value,
        "r": "NONE",
        "i": order.order_id,
        "l": instrument.quantity_text(trade.lots if trade else 0),
        "z": instrument.quantity_text(order.executed),
        "L": instrument.price_text(trade.price if trade else 0),
        "n": units_text(trade.commission) if trade else "0",
        "N": trade.commission_asset if trade else None,
        "T": report.time,
        "t": trade.trade_id if trade else -1,
        "I": order.order_id,
        "w": resting,
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": order.time,
        "Z": instrument.quote_text(order.cumulative_quote),
        "Y": instrument.quote_text(trade.price * trade.lots if trade else 0),
        "Q": instrument.quote_text(request.quote_quantity),
        "V": request.stp_mode.value,
    }
    if resting:
        event["W"] = order.time
    if report.prevented is not None:
        prevented = report.prevented
        is_taker = prevented.taker_order_id == order.order_id
        event.update(
            {
                "v": prevented.prevented_match_id,
                "A": instrument.quantity_text(order.prevented_quantity),
                "B": instrument.quantity_text(report.prevented_lots),
                "U": prevented.maker_order_id if is_taker else prevented.taker_order_id,
                "Cs": order.symbol,
                "pl": instrument.quantity_text(report.prevented_lots),
                "pL": instrument.price_text(prevented.price),
                "pY": instrument.quote_text(report.prevented_lots * prevented.price),
            }
        )
    return event


def account_position(position: AccountPosition, wallets: Wallets, now: int) -> Json:
    """Return an `outboundAccountPosition`: the current balances of the assets that changed."""
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": position.time,
        "B": [
            {
                "a": asset,
                "f": units_text(wallets.balance(position.account, asset).free),
                "l": units_text(wallets.balance(position.account, asset).locked),
            }
            for asset in position.assets
        ],
    }


def balance_update(update: BalanceUpdate, now: int) -> Json:
    """Return a `balanceUpdate`: funds that arrived or left outside trading."""
    return {
        "e": "balanceUpdate",
        "E": now,
        "a": update.asset,
        "d": units_text(update.delta),
        "T": update.time,
    }


def listen_key_expired(listen_key: str, now: int) -> Json:
    """Return the event that ends a user data stream whose listen key expired."""
    return {"e": "listenKeyExpired", "E": now, "listenKey": listen_key}


def trade(symbol: str, printed: PublicTrade, instrument: Instrument, now: int) -> Json:
    """Return a `trade` stream event."""
    return {
        "e": "trade",
        "E": now,
        "s": symbol,
        "t": printed.trade_id,
        "p": instrument.price_text(printed.price),
        "q": instrument.quantity_text(printed.lots),
        "b": printed.buyer_order_id,
        "a": printed.seller_order_id,
        "T": printed.time,
        "m": printed.is_buyer_maker,
        "M": True,
    }


def aggregate_trade(symbol: str, printed: PublicTrade, instrument: Instrument, now: int) -> Json:
    """Return an `aggTrade` stream event: one trade per aggregate, as the REST endpoint has it."""
    return {
        "e": "aggTrade",
        "E": now,
        "s": symbol,
        "a": printed.trade_id,
        "p": instrument.price_text(printed.price),
        "q": instrument.quantity_text(printed.lots),
        "f": printed.trade_id,
        "l": printed.trade_id,
        "T": printed.time,
        "m": printed.is_buyer_maker,
        "M": True,
    }


def depth_update(
    symbol: str,
    first_id: int,
    last_id: int,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    instrument: Instrument,
    now: int,
) -> Json:
    """Return a `depthUpdate`: levels changed by updates first_id..last_id, with their lots now."""
    return {
        "e": "depthUpdate",
        "E": now,
        "s": symbol,
        "U": first_id,
        "u": last_id,
        "b": level_texts(instrument, bids),
        "a": level_texts(instrument, asks),
    }


def partial_depth(book: OrderBook, instrument: Instrument, levels: int) -> Json:
    """Return a partial book depth event: the best levels of each side."""
    return {
        "lastUpdateId": book.update_id,
        "bids": level_texts(instrument, book.depth(True, levels)),
        "asks": level_texts(instrument, book.depth(False, levels)),
    }


def book_ticker(book: OrderBook, instrument: Instrument) -> Json:
    """Return a `bookTicker` event: best bid and ask with their sizes."""
    bid, ask = top_of_book(book, instrument)
    return {
        "u": book.update_id,
        "s": instrument.symbol,
        "b": bid[0],
        "B": bid[1],
        "a": ask[0],
        "A": ask[1],
    }


def day_ticker(
    stats: DayStatistics, book: OrderBook, instrument: Instrument, now: int, full: bool
) -> Json:
    """Return a `24hrTicker` event, or a `24hrMiniTicker` when not `full`."""
    mini: Json = {
        "e": "24hrTicker" if full else "24hrMiniTicker",
        "E": now,
        "s": instrument.symbol,
        "c": instrument.price_text(stats.last_price),
        "o": instrument.price_text(stats.open_price),
        "h": instrument.price_text(stats.high),
        "l": instrument.price_text(stats.low),
        "v": instrument.quantity_text(stats.volume),
        "q": instrument.quote_text(stats.quote_volume),
    }
    if not full:
        return mini
    bid, ask = top_of_book(book, instrument)
    return {
        **mini,
        "p": stats.change_text(instrument),
        "P": stats.change_percent(),
        "w": stats.weighted_average(instrument),
        "x": instrument.price_text(stats.previous_close),
        "Q": instrument.quantity_text(stats.last_lots),
        "b": bid[0],
        "B": bid[1],
        "a": ask[0],
        "A": ask[1],
        "O": stats.open_time,
        "C": stats.close_time,
        "F": stats.first_id,
        "L": stats.last_id,
        "n": stats.count,
    }
