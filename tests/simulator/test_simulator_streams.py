"""The websocket stream server and WebSocket API: Binance's messages, its errors, no hangs."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import aiohttp
import pytest

from tests.simulator.conftest import (
    AccountFactory,
    Credentials,
    RunningSimulator,
    SignedCall,
    signature,
)

RECEIVE_TIMEOUT_S = 10.0
LIMIT_BUY = {
    "symbol": "MTSUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "10",
    "price": "1.0",
}


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    """Return the next JSON message of a websocket."""
    return json.loads(await asyncio.wait_for(ws.receive_str(), RECEIVE_TIMEOUT_S))


async def receive_where(ws: aiohttp.ClientWebSocketResponse, wanted: Any) -> Any:
    """Return the next JSON message that `wanted` accepts, skipping others."""
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while time.monotonic() < deadline:
        message = await receive(ws)
        if wanted(message):
            return message
    raise AssertionError("the awaited message never came")


async def request(ws: aiohttp.ClientWebSocketResponse, message: Any) -> Any:
    """Send a control message and return the answer carrying its id, skipping stream data."""
    await ws.send_json(message)
    return await receive_where(ws, lambda reply: "id" in reply and "e" not in reply)


def subscribe_params(credentials: Credentials) -> dict[str, Any]:
    """Return signed params of `userDataStream.subscribe.signature`."""
    params: dict[str, Any] = {"apiKey": credentials.api_key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{name}={value}" for name, value in sorted(params.items()))
    return {**params, "signature": signature(payload, credentials.secret)}


async def test_depth_updates_follow_each_other_without_gaps(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws/mtsusdt@depth@100ms") as ws:
        updates = [await receive(ws) for _ in range(5)]
    assert {update["e"] for update in updates} == {"depthUpdate"}
    assert {update["s"] for update in updates} == {"MTSUSDT"}
    for earlier, later in itertools.pairwise(updates):
        assert later["U"] == earlier["u"] + 1 and later["u"] >= later["U"]


async def test_combined_stream_wraps_each_event_with_its_stream(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    url = f"{simulator.ws_url}/stream?streams=mtsusdt@trade/mtsusdt@bookTicker"
    async with http.ws_connect(url) as ws:
        trade = await receive_where(ws, lambda message: message["stream"] == "mtsusdt@trade")
        top = await receive_where(ws, lambda message: message["stream"] == "mtsusdt@bookTicker")
    assert trade["data"]["e"] == "trade" and trade["data"]["s"] == "MTSUSDT"
    assert set(top["data"]) == {"u", "s", "b", "B", "a", "A"}
    assert float(top["data"]["b"]) < float(top["data"]["a"])


async def test_control_messages_subscribe_list_and_set_properties(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws") as ws:
        assert await request(
            ws, {"method": "SUBSCRIBE", "params": ["mtsusdt@aggTrade", "btcusdt@depth"], "id": 1}
        ) == {"result": None, "id": 1}
        assert await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": "two"}) == {
            "result": ["btcusdt@depth", "mtsusdt@aggTrade"],
            "id": "two",
        }
        await request(ws, {"method": "UNSUBSCRIBE", "params": ["btcusdt@depth"], "id": 3})
        assert (await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 4}))["result"] == [
            "mtsusdt@aggTrade"
        ]
        assert (await request(ws, {"method": "GET_PROPERTY", "params": ["combined"], "id": 5}))[
            "result"
        ] is False
        await request(ws, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 6})
        wrapped = await receive_where(ws, lambda message: "stream" in message)
    assert wrapped["stream"] == "mtsusdt@aggTrade" and wrapped["data"]["e"] == "aggTrade"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", 3),
        ("[1, 2]", 2),
        ('{"method": "SUBSCRIBE", "params": ["nopeusdt@trade"], "id": 1}', 2),
        ('{"method": "SUBSCRIBE", "params": [7], "id": 1}', 2),
        ('{"method": "TELEPORT", "id": 1}', 2),
        ('{"params": [], "id": 1}', 2),
        ('{"method": "LIST_SUBSCRIPTIONS", "id": -5}', 2),
        ('{"method": "LIST_SUBSCRIPTIONS", "id": 1, "extra": true}', 2),
        ('{"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 1}', 1),
        ('{"method": "GET_PROPERTY", "params": ["colour"], "id": 1}', 0),
    ],
)
async def test_junk_frames_get_stream_errors_and_the_connection_lives_on(
    simulator: RunningSimulator, http: aiohttp.ClientSession, frame: str, code: int
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws") as ws:
        await ws.send_str(frame)
        reply = await receive(ws)
        assert set(reply) == {"error", "id"} and reply["error"]["code"] == code
        await ws.send_bytes(b"\x00\x01")
        assert (await receive(ws))["error"]["code"] == 2
        assert await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 9}) == {
            "result": [],
            "id": 9,
        }


async def test_oversized_frame_closes_only_that_connection(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws") as ws:
        await ws.send_str("x" * (70 * 1024))
        message = await asyncio.wait_for(ws.receive(), RECEIVE_TIMEOUT_S)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    async with http.get(f"{simulator.base_url}/api/v3/ping") as response:
        assert await response.json() == {}


async def test_plain_http_to_a_websocket_path_gets_an_error_body(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    for path in ("/ws", "/stream", "/ws-api/v3"):
        async with http.get(f"{simulator.base_url}{path}") as response:
            assert response.status == 400
            assert (await response.json())["code"] == -1020


async def test_listen_key_stream_delivers_order_updates_until_closed(
    simulator: RunningSimulator,
    http: aiohttp.ClientSession,
    account: Credentials,
    call_signed: SignedCall,
) -> None:
    headers = {"X-MBX-APIKEY": account.api_key}
    stream_url = f"{simulator.base_url}/api/v3/userDataStream"
    async with http.post(stream_url, headers=headers) as response:
        listen_key = (await response.json())["listenKey"]
    async with http.post(stream_url, headers=headers) as response:
        assert (await response.json())["listenKey"] == listen_key
    async with http.ws_connect(f"{simulator.ws_url}/ws/{listen_key}") as ws:
        status, placed = await call_signed("POST", "/api/v3/order", account, LIMIT_BUY)
        assert status == 200
        report = await receive_where(ws, lambda event: event["e"] == "executionReport")
        position = await receive_where(ws, lambda event: event["e"] == "outboundAccountPosition")
        assert (report["i"], report["x"], report["X"], report["q"]) == (
            placed["orderId"],
            "NEW",
            "NEW",
            "10.00000000",
        )
        assert {"a": "USDT", "f": "19990.00000000", "l": "10.00000000"} in position["B"]
        params = {"listenKey": listen_key}
        async with http.put(stream_url, headers=headers, params=params) as response:
            assert await response.json() == {}
        async with http.put(
            stream_url, headers=headers, params={"listenKey": "x" * 64}
        ) as response:
            assert (response.status, (await response.json())["code"]) == (400, -1125)
        async with http.delete(stream_url, headers=headers, params=params) as response:
            assert await response.json() == {}
        assert (await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1}))["result"] == []


async def test_ws_api_user_stream_reports_deposits_as_balance_updates(
    simulator: RunningSimulator, http: aiohttp.ClientSession, account: Credentials
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws-api/v3") as ws:
        subscribed = await request(
            ws,
            {
                "id": "sub-1",
                "method": "userDataStream.subscribe.signature",
                "params": subscribe_params(account),
            },
        )
        assert subscribed == {"id": "sub-1", "status": 200, "result": {"subscriptionId": 0}}
        async with http.post(
            f"{simulator.base_url}/sim/accounts/{account.name}/deposits",
            json={"asset": "USDT", "amount": "25.5"},
        ) as response:
            assert response.status == 201
        update = await receive(ws)
        assert update["subscriptionId"] == 0
        assert (update["event"]["e"], update["event"]["a"], update["event"]["d"]) == (
            "balanceUpdate",
            "USDT",
            "25.50000000",
        )
        listed = await request(ws, {"id": 2, "method": "session.subscriptions"})
        assert listed["result"] == [{"subscriptionId": 0}]
        gone = await request(
            ws, {"id": 3, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 0}}
        )
        assert gone["status"] == 200
        again = await request(
            ws, {"id": 4, "method": "userDataStream.unsubscribe", "params": {"subscriptionId": 0}}
        )
        assert (again["status"], again["error"]["code"]) == (400, -2036)


@pytest.mark.parametrize(
    ("message", "status", "code"),
    [
        ("{junk", 400, -1135),
        ('{"id": 1, "method": "order.teleport", "params": {}}', 400, -1020),
        ('{"id": 1, "params": {}}', 400, -1102),
        ('{"id": 1, "method": "ping", "params": {"x": 1}}', 400, -1104),
        ('{"id": 1, "method": "userDataStream.subscribe.signature", "params": {}}', 400, -1102),
    ],
)
async def test_ws_api_refuses_bad_requests_with_binance_errors(
    simulator: RunningSimulator,
    http: aiohttp.ClientSession,
    message: str,
    status: int,
    code: int,
) -> None:
    async with http.ws_connect(f"{simulator.ws_url}/ws-api/v3") as ws:
        await ws.send_str(message)
        reply = await receive(ws)
        assert (reply["status"], reply["error"]["code"]) == (status, code)
        assert (await request(ws, {"id": 7, "method": "ping"}))["status"] == 200


async def test_ws_api_refuses_a_bad_signature_and_an_unknown_key(
    simulator: RunningSimulator, http: aiohttp.ClientSession, make_account: AccountFactory
) -> None:
    account = await make_account({"USDT": "1"})
    params = subscribe_params(account)
    method = "userDataStream.subscribe.signature"
    async with http.ws_connect(f"{simulator.ws_url}/ws-api/v3") as ws:
        forged = await request(
            ws, {"id": 1, "method": method, "params": {**params, "signature": "0" * 64}}
        )
        assert (forged["status"], forged["error"]["code"]) == (400, -1022)
        unknown = await request(
            ws, {"id": 2, "method": method, "params": {**params, "apiKey": "k" * 64}}
        )
        assert (unknown["status"], unknown["error"]["code"]) == (401, -2015)
        stale = subscribe_params(account) | {"timestamp": 1}
        stale["signature"] = signature(
            "&".join(f"{k}={v}" for k, v in sorted(stale.items()) if k != "signature"),
            account.secret,
        )
        old = await request(ws, {"id": 3, "method": method, "params": stale})
        assert (old["status"], old["error"]["code"]) == (400, -1021)
