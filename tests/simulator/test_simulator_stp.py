"""Self-trade prevention as Binance does it: the taker's mode decides, nothing self-trades."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from simulator.errors import BinanceError
from simulator.exchange import SpotExchange
from simulator.listing import parse_market
from simulator.orders import (
    ExecutionType,
    OrderRequest,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from simulator.reports import ExchangeEvent, ExecutionReport
from tests.simulator.conftest import (
    AccountFactory,
    RunningSimulator,
    SignedCall,
    create_account,
    send_signed,
    signature,
)
from tests.simulator.test_simulator_streams import receive_where, request

UNIT = 10**8
MTS = parse_market("MTSUSDT=1.25").instrument


def new_exchange() -> tuple[SpotExchange, list[ExchangeEvent]]:
    """Return an exchange with accounts `me` and `other`, and the events it reports."""
    exchange = SpotExchange([MTS], clock=lambda: 1_700_000_000_000)
    for name in ("me", "other"):
        exchange.open_account(name, {"MTS": 100 * UNIT, "USDT": 200 * UNIT})
    events: list[ExchangeEvent] = []
    exchange.subscribe(events.append)
    return exchange, events


def limit(
    account: str,
    side: Side,
    price: str,
    quantity: str,
    mode: SelfTradePrevention = SelfTradePrevention.NONE,
) -> OrderRequest:
    """Return a GTC limit order on MTSUSDT."""
    return OrderRequest(
        account,
        MTS.symbol,
        side,
        OrderType.LIMIT,
        TimeInForce.GTC,
        int(Decimal(price) / MTS.tick_size),
        int(Decimal(quantity) / MTS.step_size),
        0,
        f"{account}-{side}-{price}-{quantity}",
        mode,
    )


def held(exchange: SpotExchange, account: str, asset: str) -> int:
    """Return what an account's open orders hold of an asset, in 1e-8 units."""
    return exchange.wallets.balance(account, asset).locked


def test_expire_taker_ends_the_incoming_order_and_keeps_the_resting_one() -> None:
    exchange, _ = new_exchange()
    maker, _ = exchange.place(limit("me", Side.SELL, "1.25", "10"))
    taker, trades = exchange.place(
        limit("me", Side.BUY, "1.30", "10", SelfTradePrevention.EXPIRE_TAKER)
    )
    assert trades == []
    assert (taker.status, taker.prevented_quantity, taker.prevented_match_id) == (
        OrderStatus.EXPIRED_IN_MATCH,
        100,
        0,
    )
    assert maker.status is OrderStatus.NEW and maker.prevented_match_id is None
    assert held(exchange, "me", "USDT") == 0 and held(exchange, "me", "MTS") == 10 * UNIT


def test_expire_maker_clears_own_orders_and_trades_with_others() -> None:
    exchange, events = new_exchange()
    own, _ = exchange.place(limit("me", Side.SELL, "1.25", "10"))
    exchange.place(limit("other", Side.SELL, "1.26", "10"))
    taker, trades = exchange.place(
        limit("me", Side.BUY, "1.30", "20", SelfTradePrevention.EXPIRE_MAKER)
    )
    assert [(trade.price, trade.lots) for trade in trades] == [(12600, 100)]
    assert (own.status, own.prevented_quantity) == (OrderStatus.EXPIRED_IN_MATCH, 100)
    assert taker.status is OrderStatus.PARTIALLY_FILLED
    assert [match.maker_order_id for match in taker.prevented_matches] == [own.order_id]
    assert held(exchange, "me", "MTS") == 0
    assert held(exchange, "me", "USDT") == 10 * 130 * UNIT // 100
    prevention = [
        event
        for event in events
        if isinstance(event, ExecutionReport) and event.execution is ExecutionType.TRADE_PREVENTION
    ]
    assert [(e.order.order_id, e.prevented_lots) for e in prevention] == [(own.order_id, 100)]


def test_expire_both_ends_both_orders() -> None:
    exchange, _ = new_exchange()
    maker, _ = exchange.place(limit("me", Side.BUY, "1.20", "10"))
    taker, trades = exchange.place(
        limit("me", Side.SELL, "1.20", "30", SelfTradePrevention.EXPIRE_BOTH)
    )
    assert trades == []
    assert (maker.status, taker.status) == (OrderStatus.EXPIRED_IN_MATCH,) * 2
    assert (maker.prevented_quantity, taker.prevented_quantity) == (100, 300)
    assert maker.prevented_match_id == taker.prevented_match_id == 0
    assert held(exchange, "me", "USDT") == held(exchange, "me", "MTS") == 0
    assert exchange.book(MTS.symbol).best_bid() is None


def test_mode_none_lets_an_account_trade_with_itself() -> None:
    exchange, _ = new_exchange()
    exchange.place(limit("me", Side.SELL, "1.25", "10"))
    taker, trades = exchange.place(limit("me", Side.BUY, "1.25", "10"))
    assert taker.status is OrderStatus.FILLED and len(trades) == 1


def test_a_maker_order_that_would_take_is_refused_even_against_its_own_account() -> None:
    exchange, _ = new_exchange()
    exchange.place(limit("me", Side.SELL, "1.25", "10"))
    post_only = limit("me", Side.BUY, "1.25", "10", SelfTradePrevention.EXPIRE_MAKER)
    with pytest.raises(BinanceError, match="immediately match and take"):
        exchange.place(replace(post_only, order_type=OrderType.LIMIT_MAKER))


async def inside_spread(http: aiohttp.ClientSession, running: RunningSimulator) -> tuple[str, str]:
    """Return the prices one tick inside MTSUSDT's best bid and best ask."""
    async with http.get(f"{running.base_url}/api/v3/depth?symbol=MTSUSDT&limit=1") as response:
        book = await response.json()
    tick = MTS.tick_size
    return str(Decimal(book["bids"][0][0]) + tick), str(Decimal(book["asks"][0][0]) - tick)


def resting_sell(price: str, **extra: str) -> dict[str, str]:
    """Return a GTC limit sell of 10 MTS."""
    return {
        "symbol": "MTSUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "10",
        "price": price,
        **extra,
    }


async def test_account_default_mode_applies_and_answers_show_prevented_matches(
    quiet: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    account = await create_account(
        http, quiet.base_url, {"MTS": "100", "USDT": "200"}, stp_mode="EXPIRE_TAKER"
    )
    _, ask = await inside_spread(http, quiet)
    status, resting, _ = await send_signed(
        http, quiet.base_url, "POST", "/api/v3/order", account, resting_sell(ask)
    )
    assert (status, resting["selfTradePreventionMode"]) == (200, "EXPIRE_TAKER")
    buy = resting_sell(ask, side="BUY")
    status, taken, _ = await send_signed(
        http, quiet.base_url, "POST", "/api/v3/order", account, buy
    )
    assert (taken["status"], taken["fills"], taken["preventedQuantity"]) == (
        "EXPIRED_IN_MATCH",
        [],
        "10.00000000",
    )
    assert taken["preventedMatches"] == [
        {
            "preventedMatchId": taken["preventedMatchId"],
            "makerOrderId": resting["orderId"],
            "price": f"{Decimal(ask):.8f}",
            "takerPreventedQuantity": "10.00000000",
        }
    ]
    buy["selfTradePreventionMode"] = "EXPIRE_MAKER"
    _, expired, _ = await send_signed(http, quiet.base_url, "POST", "/api/v3/order", account, buy)
    query = {"symbol": "MTSUSDT", "orderId": resting["orderId"]}
    _, shown, _ = await send_signed(http, quiet.base_url, "GET", "/api/v3/order", account, query)
    assert (shown["status"], shown["preventedQuantity"]) == ("EXPIRED_IN_MATCH", "10.00000000")
    assert shown["preventedMatchId"] == expired["preventedMatches"][0]["preventedMatchId"]
    assert expired["status"] == "NEW"
    cancel_all = {"symbol": "MTSUSDT"}
    await send_signed(http, quiet.base_url, "DELETE", "/api/v3/openOrders", account, cancel_all)


@pytest.mark.parametrize(
    ("mode", "code"), [("DECREMENT", -1013), ("TRANSFER", -1013), ("SOMETIMES", -1130)]
)
async def test_unsupported_modes_are_refused(
    make_account: AccountFactory, call_signed: SignedCall, mode: str, code: int
) -> None:
    account = await make_account({"MTS": "100"})
    order = {
        "symbol": "MTSUSDT",
        "side": "SELL",
        "type": "MARKET",
        "quantity": "10",
        "selfTradePreventionMode": mode,
    }
    status, body = await call_signed("POST", "/api/v3/order", account, order)
    assert (status, body["code"]) == (400, code)


async def test_user_stream_reports_trade_prevention(
    quiet: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    account = await create_account(http, quiet.base_url, {"MTS": "100", "USDT": "200"})
    params: dict[str, Any] = {"apiKey": account.api_key, "timestamp": int(time.time() * 1000)}
    params["signature"] = signature(
        "&".join(f"{k}={v}" for k, v in sorted(params.items())), account.secret
    )
    bid, _ = await inside_spread(http, quiet)
    async with http.ws_connect(f"{quiet.ws_url}/ws-api/v3") as ws:
        await request(
            ws, {"id": 1, "method": "userDataStream.subscribe.signature", "params": params}
        )
        _, resting, _ = await send_signed(
            http, quiet.base_url, "POST", "/api/v3/order", account, resting_sell(bid, side="BUY")
        )
        stp = resting_sell(bid, selfTradePreventionMode="EXPIRE_BOTH")
        await send_signed(http, quiet.base_url, "POST", "/api/v3/order", account, stp)
        maker = await receive_where(ws, lambda m: m.get("event", {}).get("x") == "TRADE_PREVENTION")
        taker = await receive_where(ws, lambda m: m.get("event", {}).get("x") == "TRADE_PREVENTION")
    assert (maker["event"]["i"], maker["event"]["X"]) == (resting["orderId"], "EXPIRED_IN_MATCH")
    assert (maker["event"]["A"], maker["event"]["B"]) == ("10.00000000", "10.00000000")
    assert taker["event"]["V"] == "EXPIRE_BOTH"
    assert maker["event"]["v"] == taker["event"]["v"]
    assert maker["event"]["U"] == taker["event"]["i"] and taker["event"]["U"] == resting["orderId"]
