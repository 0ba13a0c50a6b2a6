"""Every bad request gets Binance's `{"code", "msg"}` shape with a 4xx status, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

LIMIT_BUY = {
    "symbol": "MTSUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "10",
    "price": "1.0",
}


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    """Return the status and JSON body of a GET."""
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_unknown_symbol_is_invalid_symbol(
    simulator: Any, http: aiohttp.ClientSession, call_signed: Any, account: Any
) -> None:
    assert await get_json(http, f"{simulator.base_url}/api/v3/depth?symbol=NOPEUSDT") == (
        400,
        {"code": -1121, "msg": "Invalid symbol."},
    )
    status, body = await call_signed(
        "POST", "/api/v3/order", account, {**LIMIT_BUY, "symbol": "NOPEUSDT"}
    )
    assert (status, body["code"]) == (400, -1121)


async def test_malformed_quantity_is_illegal_characters(call_signed: Any, account: Any) -> None:
    status, body = await call_signed(
        "POST", "/api/v3/order", account, {**LIMIT_BUY, "quantity": "1e3"}
    )
    assert status == 400
    assert body == {
        "code": -1100,
        "msg": "Illegal characters found in parameter 'quantity'; "
        "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    }


async def test_missing_mandatory_parameter(call_signed: Any, account: Any) -> None:
    without_side = {name: value for name, value in LIMIT_BUY.items() if name != "side"}
    status, body = await call_signed("POST", "/api/v3/order", account, without_side)
    assert (status, body) == (
        400,
        {
            "code": -1102,
            "msg": "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
        },
    )
    status, body = await call_signed("GET", "/api/v3/order", account, {"symbol": "MTSUSDT"})
    assert (status, body["code"]) == (400, -1102)


@pytest.mark.parametrize(
    ("change", "code", "msg"),
    [
        ({"price": "1.00005"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "10.05"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "1"}, -1013, "Filter failure: NOTIONAL"),
        ({"price": "1.000000001"}, -1111, "Parameter 'price' has too much precision."),
        ({"side": "HOLD"}, -1117, "Invalid side."),
        ({"type": "STOP"}, -1116, "Invalid orderType."),
        ({"timeInForce": "GTX"}, -1115, "Invalid timeInForce."),
        (
            {"icebergQty": "1"},
            -1104,
            "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.",
        ),
        ({"newClientOrderId": "has space"}, -1100, None),
        ({"quantity": "100000"}, -2010, "Account has insufficient balance for requested action."),
    ],
)
async def test_order_refusals(
    call_signed: Any, account: Any, change: dict[str, str], code: int, msg: str | None
) -> None:
    status, body = await call_signed("POST", "/api/v3/order", account, {**LIMIT_BUY, **change})
    assert (status, body["code"]) == (400, code)
    assert msg is None or body["msg"] == msg


async def test_market_order_takes_no_price(call_signed: Any, account: Any) -> None:
    market = {"symbol": "MTSUSDT", "side": "SELL", "type": "MARKET", "quantity": "10", "price": "1"}
    status, body = await call_signed("POST", "/api/v3/order", account, market)
    assert (status, body) == (
        400,
        {"code": -1106, "msg": "Parameter 'price' sent when not required."},
    )


async def test_unknown_orders_answer_cancel_rejected_and_no_such_order(
    call_signed: Any, account: Any
) -> None:
    ref = {"symbol": "MTSUSDT", "orderId": "987654321"}
    assert await call_signed("DELETE", "/api/v3/order", account, ref) == (
        400,
        {"code": -2011, "msg": "Unknown order sent."},
    )
    assert await call_signed("GET", "/api/v3/order", account, ref) == (
        400,
        {"code": -2013, "msg": "Order does not exist."},
    )


async def test_wrong_signature_is_refused_with_1022(
    simulator: Any, http: aiohttp.ClientSession, account: Any
) -> None:
    query = f"timestamp={int(time.time() * 1000)}&signature={'0' * 64}"
    async with http.get(
        f"{simulator.base_url}/api/v3/account?{query}", headers={"X-MBX-APIKEY": account.api_key}
    ) as response:
        assert response.status == 400
        assert await response.json() == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }


async def test_unknown_or_missing_api_key_is_refused_with_401(
    simulator: Any, http: aiohttp.ClientSession
) -> None:
    url = f"{simulator.base_url}/api/v3/account?timestamp=1&signature=00"
    async with http.get(url, headers={"X-MBX-APIKEY": "unknown"}) as response:
        assert (response.status, (await response.json())["code"]) == (401, -2015)
    async with http.get(url) as response:
        assert (response.status, (await response.json())["code"]) == (401, -2014)


async def test_stale_or_future_timestamp_is_refused(call_signed: Any, account: Any) -> None:
    now = int(time.time() * 1000)
    status, body = await call_signed("GET", "/api/v3/account", account, {"timestamp": now - 60_000})
    assert (status, body) == (
        400,
        {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
    )
    status, body = await call_signed("GET", "/api/v3/account", account, {"timestamp": now + 5_000})
    assert (status, body["code"]) == (400, -1021)
    window = {"timestamp": now - 20_000, "recvWindow": 30_000}
    assert (await call_signed("GET", "/api/v3/account", account, window))[0] == 200


async def test_signature_in_the_query_covers_a_form_body_too(
    simulator: Any, http: aiohttp.ClientSession, account: Any
) -> None:
    query = urlencode({"symbol": "MTSUSDT", "side": "BUY", "type": "LIMIT"})
    body = urlencode(
        {
            "timeInForce": "GTC",
            "quantity": "10",
            "price": "0.5",
            "timestamp": int(time.time() * 1000),
        }
    )
    signature = hmac.new(
        account.secret.encode(), (query + body).encode(), hashlib.sha256
    ).hexdigest()
    async with http.post(
        f"{simulator.base_url}/api/v3/order?{query}&signature={signature}",
        data=body,
        headers={
            "X-MBX-APIKEY": account.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "NEW"


async def test_duplicate_parameter_is_refused(simulator: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get_json(
        http, f"{simulator.base_url}/api/v3/depth?symbol=MTSUSDT&symbol=MTSUSDT"
    )
    assert (status, body) == (
        400,
        {"code": -1101, "msg": "Duplicate values for a parameter detected."},
    )


async def test_unknown_path_and_method_answer_json(
    simulator: Any, http: aiohttp.ClientSession
) -> None:
    assert await get_json(http, f"{simulator.base_url}/api/v3/orderList?symbol=MTSUSDT") == (
        404,
        {"code": -1020, "msg": "This operation is not supported."},
    )
    async with http.put(f"{simulator.base_url}/api/v3/order") as response:
        assert (response.status, (await response.json())["code"]) == (405, -1020)


async def test_body_over_64_kib_is_refused_not_awaited(
    simulator: Any, http: aiohttp.ClientSession, account: Any
) -> None:
    huge = "symbol=MTSUSDT&" + "x=" + "9" * (70 * 1024)
    async with http.post(
        f"{simulator.base_url}/api/v3/order",
        data=huge,
        headers={
            "X-MBX-APIKEY": account.api_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ) as response:
        assert response.status == 413
        assert (await response.json())["code"] == -1101
    assert await get_json(http, f"{simulator.base_url}/api/v3/ping") == (200, {})


async def test_admin_refuses_a_name_in_use_and_never_shows_a_secret(
    simulator: Any, http: aiohttp.ClientSession, account: Any
) -> None:
    async with http.post(
        f"{simulator.base_url}/sim/accounts", json={"name": account.name, "balances": {}}
    ) as response:
        assert response.status == 409
        assert set(await response.json()) == {"code", "msg"}
    status, shown = await get_json(http, f"{simulator.base_url}/sim/accounts/{account.name}")
    assert status == 200
    assert shown == {
        "name": account.name,
        "apiKey": account.api_key,
        "balances": {
            "MTS": {"free": "10000.00000000", "locked": "0.00000000"},
            "USDC": {"free": "5000.00000000", "locked": "0.00000000"},
            "USDT": {"free": "20000.00000000", "locked": "0.00000000"},
        },
        "openOrders": 0,
        "enableWithdrawals": False,
    }
    assert account.secret not in str(shown)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", -1135),
        (b'{"name": "bad name!", "balances": {}}', -1130),
        (b'{"name": "ok-name", "balances": {"MTS": 1.5}}', -1130),
        (b'{"name": "ok-name", "balances": {}, "extra": 1}', -1104),
    ],
)
async def test_admin_refuses_malformed_accounts(
    simulator: Any, http: aiohttp.ClientSession, payload: bytes, code: int
) -> None:
    async with http.post(f"{simulator.base_url}/sim/accounts", data=payload) as response:
        assert (response.status, (await response.json())["code"]) == (400, code)


async def test_unknown_account_is_404(simulator: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get_json(http, f"{simulator.base_url}/sim/accounts/nobody-here")
    assert status == 404 and set(body) == {"code", "msg"}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("/api/v3/klines?symbol=MTSUSDT&interval=7m", 400, -1120),
        ("/api/v3/klines?symbol=MTSUSDT", 400, -1102),
        ("/api/v3/klines?symbol=MTSUSDT&interval=1m&limit=ten", 400, -1100),
        ("/api/v3/klines?symbol=MTSUSDT&interval=1m&startTime=9&endTime=1", 400, -1128),
        ("/api/v3/klines?symbol=MTSUSDT&interval=1m&timeZone=%2B05:00", 400, -1130),
        ("/api/v3/ticker/24hr?symbol=MTSUSDT&type=HUGE", 400, -1139),
        ("/api/v3/ticker/24hr?symbols=MTSUSDT", 400, -1100),
        ("/api/v3/avgPrice?symbol=mtsusdt", 400, -1100),
        ("/api/v3/depth?symbol=MTSUSDT&limit=-5", 400, -1100),
    ],
)
async def test_malformed_market_data_requests(
    simulator: Any, http: aiohttp.ClientSession, query: str, status: int, code: int
) -> None:
    answer_status, body = await get_json(http, f"{simulator.base_url}{query}")
    assert (answer_status, body["code"]) == (status, code)
    assert set(body) == {"code", "msg"}


async def test_order_history_ranges_longer_than_a_day_are_refused(
    call_signed: Any, account: Any
) -> None:
    span = {"symbol": "MTSUSDT", "startTime": "1", "endTime": str(2 * 86_400_000)}
    for path in ("/api/v3/allOrders", "/api/v3/myTrades"):
        assert await call_signed("GET", path, account, span) == (
            400,
            {"code": -1127, "msg": "More than 24 hours between startTime and endTime."},
        )


async def test_test_order_refuses_what_a_new_order_refuses(call_signed: Any, account: Any) -> None:
    without_price = {name: value for name, value in LIMIT_BUY.items() if name != "price"}
    status, body = await call_signed("POST", "/api/v3/order/test", account, without_price)
    assert (status, body["code"]) == (400, -1102)
    status, body = await call_signed(
        "POST", "/api/v3/order/test", account, {**LIMIT_BUY, "computeCommissionRates": "true"}
    )
    assert status == 200
    assert body["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}


@pytest.mark.parametrize(
    ("path", "payload", "status", "code"),
    [
        ("/sim/faults", b"{not json", 400, -1135),
        ("/sim/faults", b'{"latency_ms": -1}', 400, -1130),
        ("/sim/limits", b'{"request_weight_per_minute": "lots"}', 400, -1130),
        ("/sim/market", b'{"running": "maybe"}', 400, -1130),
        ("/sim/accounts", b'{"name": "k1", "ed25519_public_key": "nope"}', 400, -1130),
        ("/sim/accounts", b'{"name": "k2", "self_trade_prevention_mode": "X"}', 400, -1130),
        ("/sim/accounts/nobody-here/deposits", b'{"asset": "USDT", "amount": "1"}', 404, -1130),
        ("/sim/accounts/sim-taker/ed25519-keys", b'{"ed25519_public_key": "x"}', 409, -1130),
        ("/sim/faults", b"x" * (70 * 1024), 413, -1101),
    ],
)
async def test_admin_refuses_malformed_settings(
    simulator: Any,
    http: aiohttp.ClientSession,
    path: str,
    payload: bytes,
    status: int,
    code: int,
) -> None:
    async with http.post(f"{simulator.base_url}{path}", data=payload) as response:
        assert (response.status, (await response.json())["code"]) == (status, code)


async def test_deposits_are_checked(
    simulator: Any, http: aiohttp.ClientSession, account: Any
) -> None:
    url = f"{simulator.base_url}/sim/accounts/{account.name}/deposits"
    for payload in ({"asset": "USDT", "amount": "0"}, {"asset": 5}, {"asset": "usdt"}):
        async with http.post(url, json=payload) as response:
            assert response.status == 400 and set(await response.json()) == {"code", "msg"}
