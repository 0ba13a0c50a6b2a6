"""Real ccxt.pro binance, pointed at the simulator's websockets, streams what Binance streams."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from appliance.exchanges.venue import point_at_simulator
from tests.simulator.conftest import (
    KEY_TYPES,
    AccountFactory,
    Launcher,
    ProClientFactory,
    RunningSimulator,
    create_account,
)

SYMBOL = "MTS/USDT"
SYNC_TIMEOUT_S = 20.0
FUNDS = {"MTS": "10000", "USDT": "20000"}


async def next_update(watch: Any, *args: Any) -> Any:
    """Return the next update of a ccxt.pro watch call, failing the test if none comes."""
    return await asyncio.wait_for(watch(*args), SYNC_TIMEOUT_S)


async def test_market_streams_match_the_rest_api(
    make_account: AccountFactory, make_pro: ProClientFactory
) -> None:
    exchange = make_pro(await make_account(FUNDS))
    book = await next_update(exchange.watch_order_book, SYMBOL)
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["nonce"] is not None
    trades = await next_update(exchange.watch_trades, SYMBOL)
    assert trades and all(trade["symbol"] == SYMBOL and trade["amount"] > 0 for trade in trades)
    tops = await next_update(exchange.watch_bids_asks, [SYMBOL])
    assert tops[SYMBOL]["bid"] < tops[SYMBOL]["ask"]
    ticker = await next_update(exchange.watch_ticker, SYMBOL)
    assert ticker["symbol"] == SYMBOL and ticker["last"] > 0 and ticker["baseVolume"] > 0


async def until(watch: Any, done: Any, *args: Any) -> Any:
    """Return the first update of a ccxt.pro watch call that `done` accepts."""
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    while time.monotonic() < deadline:
        update = await asyncio.wait_for(watch(*args), SYNC_TIMEOUT_S)
        if done(update):
            return update
    raise AssertionError(f"{watch.__name__} never delivered the update awaited")


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_user_data_stream_reports_orders_fills_and_balances(
    key_type: str, quiet: RunningSimulator, http: aiohttp.ClientSession, make_pro: ProClientFactory
) -> None:
    maker_account = await create_account(http, quiet.base_url, FUNDS, key_type=key_type)
    maker = make_pro(maker_account, quiet.base_url)
    taker = make_pro(await create_account(http, quiet.base_url, FUNDS), quiet.base_url)
    await maker.load_markets()
    orders = asyncio.create_task(maker.watch_orders(SYMBOL))
    fills = asyncio.create_task(maker.watch_my_trades(SYMBOL))
    balances = asyncio.create_task(
        until(maker.watch_balance, lambda balance: balance["MTS"]["total"] == 10000 - 10)
    )
    await asyncio.sleep(0.5)
    book = await maker.fetch_order_book(SYMBOL, 5)
    price = round(book["bids"][0][0] + 0.0001, 4)
    placed = await maker.create_order(SYMBOL, "limit", "sell", 10, price)
    seen = await asyncio.wait_for(orders, SYNC_TIMEOUT_S)
    assert seen[0]["id"] == placed["id"] and seen[0]["price"] == price

    await taker.create_order(SYMBOL, "limit", "buy", 10, price)
    trades = await asyncio.wait_for(fills, SYNC_TIMEOUT_S)
    assert [(t["order"], t["price"], t["amount"], t["takerOrMaker"]) for t in trades] == [
        (placed["id"], price, 10, "maker")
    ]
    assert {t["fee"]["currency"] for t in trades} == {"USDT"}
    balance = await asyncio.wait_for(balances, SYNC_TIMEOUT_S)
    assert balance["USDT"]["total"] == pytest.approx(20000 + 10 * price * 0.999)
    streamed = [order for order in maker.orders if order["id"] == placed["id"]]
    assert [(order["status"], order["filled"]) for order in streamed] == [("closed", 10)]


async def watch_book_until_cancelled(exchange: Any, resyncs: list[str]) -> None:
    """Keep ccxt.pro's book of SYMBOL up to date, re-syncing after every failure."""
    while True:
        try:
            await exchange.watch_order_book(SYMBOL)
        except (ccxtpro.NetworkError, ccxtpro.ExchangeError) as exc:
            resyncs.append(type(exc).__name__)
            await asyncio.sleep(0.05)


async def test_websocket_book_agrees_with_the_simulator_after_drops_and_gaps(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running: RunningSimulator = launch_simulator(
        tmp_path / "state",
        "--seed",
        "21",
        "--set",
        "market.min_interval_s=0.05",
        "--set",
        "market.max_interval_s=0.15",
        "--set",
        "faults.ws_drop_rate=0.5",
        "--set",
        "faults.depth_gap_rate=0.05",
        "--set",
        "faults.crossed_book_rate=0.05",
    )
    credentials = await create_account(http, running.base_url, FUNDS)
    exchange = ccxtpro.binance({"apiKey": credentials.api_key, "secret": credentials.secret})
    point_at_simulator(exchange, running.base_url)
    resyncs: list[str] = []
    watcher = asyncio.create_task(watch_book_until_cancelled(exchange, resyncs))
    try:
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while not {"ChecksumError", "NetworkError"} <= set(resyncs) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert {"ChecksumError", "NetworkError"} <= set(resyncs), resyncs
        async with http.post(f"{running.base_url}/sim/faults", json={}) as response:
            assert response.status == 200
        async with http.post(f"{running.base_url}/sim/market", json={"running": False}) as response:
            assert (await response.json())["running"] is False
        local, truth = await settled_books(exchange, http, running.base_url)
        assert local["bids"] == [[float(p), float(q)] for p, q in truth["bids"]]
        assert local["asks"] == [[float(p), float(q)] for p, q in truth["asks"]]
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await exchange.close()


async def settled_books(
    exchange: Any, http: aiohttp.ClientSession, base_url: str
) -> tuple[Any, dict[str, Any]]:
    """Return ccxt.pro's book of SYMBOL and the REST book once both stand at one update id."""
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    truth: dict[str, Any] = {"lastUpdateId": -1}
    while time.monotonic() < deadline:
        book = exchange.orderbooks.get(SYMBOL)
        nonce = None if book is None else book["nonce"]
        if nonce is not None and nonce == truth["lastUpdateId"]:
            return book, truth
        if nonce is None or nonce > truth["lastUpdateId"]:
            async with http.get(
                f"{base_url}/api/v3/depth", params={"symbol": "MTSUSDT", "limit": "1000"}
            ) as response:
                truth = await response.json()
        await asyncio.sleep(0.05)
    raise AssertionError("the websocket book never caught up with the simulator's")
