"""Real ccxt async binance, pointed at the simulator, trades on it unchanged, with HMAC and
Ed25519 keys alike."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from appliance.exchanges.venue import point_at_simulator
from tests.simulator.conftest import (
    KEY_TYPES,
    AccountFactory,
    Credentials,
    ed25519_pem_pair,
)

FILL_TIMEOUT_S = 30.0


@pytest.fixture(params=KEY_TYPES)
async def account(request: pytest.FixtureRequest, make_account: AccountFactory) -> Credentials:
    """Return a fresh account with MTS, USDT and USDC, signing with each key type in turn."""
    return await make_account(
        {"MTS": "10000", "USDT": "20000", "USDC": "5000"}, key_type=request.param
    )


async def test_load_markets_lists_active_spot_markets_with_their_filters(binance: Any) -> None:
    market = binance.market("MTS/USDT")
    assert set(binance.markets) == {"MTS/USDT", "MTS/USDC", "BTC/USDT"}
    assert market["spot"] and market["active"] and market["type"] == "spot"
    assert market["precision"]["price"] == 0.0001
    assert market["precision"]["amount"] == 0.1
    assert market["limits"]["cost"]["min"] == 5
    assert binance.market("BTC/USDT")["precision"]["price"] == 0.01


async def test_load_markets_asks_only_for_exchange_info(simulator: Any, account: Any) -> None:
    requested: list[str] = []

    class RecordingBinance(ccxt.binance):  # type: ignore[misc]
        async def fetch(self, url: str, *args: Any, **kwargs: Any) -> Any:
            requested.append(url)
            return await super().fetch(url, *args, **kwargs)

    exchange = RecordingBinance({"apiKey": account.api_key, "secret": account.secret})
    point_at_simulator(exchange, simulator.base_url)
    try:
        await exchange.load_markets()
    finally:
        await exchange.close()
    assert requested == [f"{simulator.base_url}/api/v3/exchangeInfo"]


async def test_order_book_shows_the_outside_liquidity(binance: Any) -> None:
    book = await binance.fetch_order_book("MTS/USDT", 5)
    assert 0 < len(book["bids"]) <= 5 and 0 < len(book["asks"]) <= 5
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["nonce"] is not None


async def test_limit_order_lifecycle(
    binance: Any, account: Any, simulator: Any, http: aiohttp.ClientSession
) -> None:
    assert (await binance.fetch_balance())["free"]["USDT"] == 20000
    created = await binance.create_order(
        "MTS/USDT", "limit", "buy", 100, 0.5, {"newClientOrderId": "life-1"}
    )
    assert (created["status"], created["clientOrderId"], created["price"]) == (
        "open",
        "life-1",
        0.5,
    )

    fetched = await binance.fetch_order(created["id"], "MTS/USDT")
    by_client_id = await binance.fetch_order(None, "MTS/USDT", {"clientOrderId": "life-1"})
    assert fetched["id"] == by_client_id["id"] == created["id"]
    assert [order["id"] for order in await binance.fetch_open_orders("MTS/USDT")] == [created["id"]]
    balance = await binance.fetch_balance()
    assert (balance["free"]["USDT"], balance["used"]["USDT"]) == (19950, 50)

    cancelled = await binance.cancel_order(created["id"], "MTS/USDT")
    assert cancelled["status"] == "canceled"
    assert await binance.fetch_open_orders("MTS/USDT") == []
    assert (await binance.fetch_balance())["free"]["USDT"] == 20000
    async with http.get(
        f"{simulator.base_url}/sim/open-orders", params={"account": account.name}
    ) as response:
        assert await response.json() == []


async def test_bid_inside_the_spread_is_filled_by_outside_takers(
    binance: Any, simulator: Any, http: Any
) -> None:
    book = await binance.fetch_order_book("MTS/USDC", 5)
    best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
    bid = round((best_bid + best_ask) / 2 - 0.0001, 4)
    assert best_bid < bid < best_ask
    created = await binance.create_order(
        "MTS/USDC", "limit", "buy", 8, bid, {"newClientOrderId": "inside-1"}
    )
    deadline = time.monotonic() + FILL_TIMEOUT_S
    order = created
    while order["status"] == "open" and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        order = await binance.fetch_order(created["id"], "MTS/USDC")
    if order["status"] == "open":
        await binance.cancel_order(created["id"], "MTS/USDC")
    assert order["status"] == "closed", "no outside taker sold into the top bid"

    trades = await binance.fetch_my_trades("MTS/USDC")
    assert sum(trade["amount"] for trade in trades) == pytest.approx(8)
    assert all(
        trade["order"] == created["id"] and trade["takerOrMaker"] == "maker" for trade in trades
    )
    assert all(trade["fee"]["currency"] == "MTS" for trade in trades)
    assert sum(trade["fee"]["cost"] for trade in trades) == pytest.approx(0.008)
    balance = await binance.fetch_balance()
    assert balance["total"]["MTS"] == pytest.approx(10000 + 8 - 0.008)
    assert balance["total"]["USDC"] == pytest.approx(5000 - 8 * bid)


async def test_market_order_fills_against_the_book_and_pays_taker_commission(binance: Any) -> None:
    sold = await binance.create_order("MTS/USDT", "market", "sell", 10)
    assert sold["status"] == "closed" and sold["filled"] == 10
    assert sold["fee"]["currency"] == "USDT"
    assert sold["fee"]["cost"] == pytest.approx(sold["cost"] * 0.001)
    assert (await binance.fetch_balance())["total"]["MTS"] == 9990


async def test_post_only_order_that_would_take_is_refused(binance: Any) -> None:
    ask = (await binance.fetch_order_book("MTS/USDT", 5))["asks"][0][0]
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await binance.create_order("MTS/USDT", "limit", "buy", 10, ask, {"postOnly": True})


async def test_duplicate_open_client_order_id_is_refused(binance: Any) -> None:
    await binance.create_order("MTS/USDT", "limit", "sell", 10, 2.0, {"newClientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await binance.create_order(
            "MTS/USDT", "limit", "sell", 10, 2.1, {"newClientOrderId": "dup"}
        )
    await binance.cancel_all_orders("MTS/USDT")
    assert await binance.fetch_open_orders("MTS/USDT") == []


async def test_order_beyond_the_balance_is_refused(binance: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await binance.create_order("MTS/USDT", "limit", "sell", 20000, 2.0)


async def test_unknown_order_is_reported_as_not_found(binance: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        await binance.fetch_order("999999999", "MTS/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        await binance.cancel_order("999999999", "MTS/USDT")


async def test_wrong_secret_is_an_authentication_error(
    simulator: Any, account: Any, make_binance: Any, http: aiohttp.ClientSession
) -> None:
    other_secret = ed25519_pem_pair()[0] if "PRIVATE KEY" in account.secret else "not-the-secret"
    forged = type(account)(account.name, account.api_key, other_secret)
    exchange = make_binance(forged)
    await exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        await exchange.fetch_balance()
    assert exchange.last_http_response is not None
    assert '"code": -1022' in exchange.last_http_response


async def test_unknown_api_key_is_an_authentication_error(make_binance: Any, account: Any) -> None:
    exchange = make_binance(type(account)("nobody", "x" * 64, account.secret))
    with pytest.raises(ccxt.AuthenticationError):
        await exchange.fetch_balance()


async def test_every_rest_method_the_box_uses(binance: Any) -> None:
    symbol = "MTS/USDT"
    assert abs(await binance.fetch_time() - time.time() * 1000) < 60_000
    book = await binance.fetch_order_book(symbol, 5)
    bid, ask = book["bids"][0][0], book["asks"][0][0]

    resting = await binance.create_order(symbol, "limit", "buy", 10, round(bid * 0.9, 4))
    assert resting["status"] == "open"
    assert (await binance.fetch_order(resting["id"], symbol))["status"] == "open"
    assert [o["id"] for o in await binance.fetch_open_orders(symbol)] == [resting["id"]]
    await binance.cancel_order(resting["id"], symbol)

    ioc = await binance.create_order(
        symbol, "limit", "buy", 10, round(bid * 0.9, 4), {"timeInForce": "IOC"}
    )
    fok = await binance.create_order(
        symbol, "limit", "sell", 10_000, round(bid * 0.95, 4), {"timeInForce": "FOK"}
    )
    assert (ioc["status"], fok["status"], fok["filled"]) == ("expired", "expired", 0)
    bought = await binance.create_order(symbol, "market", "buy", 20)
    assert bought["status"] == "closed" and bought["average"] >= ask * 0.99

    await binance.create_order(symbol, "limit", "sell", 10, round(ask * 1.5, 4))
    await binance.create_order(symbol, "limit", "sell", 10, round(ask * 1.6, 4))
    cancelled = await binance.cancel_all_orders(symbol)
    assert sorted(order["status"] for order in cancelled) == ["canceled", "canceled"]

    history = await binance.fetch_orders(symbol)
    assert [o["status"] for o in history] == [
        "canceled",
        "expired",
        "expired",
        "closed",
        "canceled",
        "canceled",
    ]
    closed = await binance.fetch_closed_orders(symbol)
    assert [order["id"] for order in closed] == [bought["id"]]
    trades = await binance.fetch_my_trades(symbol)
    assert sum(trade["amount"] for trade in trades) == pytest.approx(20)
    assert {trade["order"] for trade in trades} == {bought["id"]}

    ticker = await binance.fetch_ticker(symbol)
    assert ticker["bid"] > 0 and ticker["ask"] > ticker["bid"] and ticker["baseVolume"] > 0
    candles = await binance.fetch_ohlcv(symbol, "1m", limit=5)
    assert candles and all(low <= high for _, _, high, low, _, _ in candles)
    public = await binance.fetch_trades(symbol, limit=10)
    assert 0 < len(public) <= 10
    balance = await binance.fetch_balance()
    assert balance["total"]["MTS"] == pytest.approx(10000 + 20 - 0.02)


async def test_test_order_is_checked_but_never_placed(binance: Any) -> None:
    await binance.create_order("MTS/USDT", "limit", "buy", 10, 1.0, {"test": True})
    with pytest.raises(ccxt.ExchangeError, match="PERCENT_PRICE_BY_SIDE"):
        await binance.create_order("MTS/USDT", "limit", "buy", 10, 100.0, {"test": True})
    assert await binance.fetch_open_orders("MTS/USDT") == []
