"""Request weights, 429 and 418 as Binance answers them, and the new-order rate limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from simulator.config import ConfigError, load_config
from tests.simulator.conftest import (
    Launcher,
    RunningSimulator,
    binance_client,
    create_account,
    send_signed,
)

USED_WEIGHT = "X-MBX-USED-WEIGHT-1M"
MAX_REQUESTS = 200

PUBLIC_WEIGHTS: list[tuple[str, dict[str, str], int]] = [
    ("/api/v3/ping", {}, 1),
    ("/api/v3/time", {}, 1),
    ("/api/v3/exchangeInfo", {}, 10),
    ("/api/v3/depth", {"symbol": "MTSUSDT"}, 5),
    ("/api/v3/depth", {"symbol": "MTSUSDT", "limit": "500"}, 25),
    ("/api/v3/depth", {"symbol": "MTSUSDT", "limit": "1000"}, 50),
    ("/api/v3/depth", {"symbol": "MTSUSDT", "limit": "5000"}, 250),
    ("/api/v3/trades", {"symbol": "MTSUSDT"}, 10),
    ("/api/v3/aggTrades", {"symbol": "MTSUSDT"}, 2),
    ("/api/v3/klines", {"symbol": "MTSUSDT", "interval": "1m"}, 2),
    ("/api/v3/avgPrice", {"symbol": "MTSUSDT"}, 2),
    ("/api/v3/ticker/24hr", {"symbol": "MTSUSDT"}, 2),
    ("/api/v3/ticker/24hr", {}, 80),
    ("/api/v3/ticker/price", {"symbol": "MTSUSDT"}, 2),
    ("/api/v3/ticker/price", {}, 4),
    ("/api/v3/ticker/bookTicker", {}, 4),
    ("/api/v3/depth", {"symbol": "NOPEUSDT"}, 5),
]
SIGNED_WEIGHTS: list[tuple[str, str, dict[str, str], int]] = [
    ("GET", "/api/v3/account", {}, 20),
    ("GET", "/api/v3/openOrders", {"symbol": "MTSUSDT"}, 6),
    ("GET", "/api/v3/openOrders", {}, 80),
    ("GET", "/api/v3/allOrders", {"symbol": "MTSUSDT"}, 20),
    ("GET", "/api/v3/myTrades", {"symbol": "MTSUSDT"}, 20),
    ("GET", "/api/v3/order", {"symbol": "MTSUSDT", "orderId": "1"}, 4),
    (
        "POST",
        "/api/v3/order/test",
        {"symbol": "MTSUSDT", "side": "SELL", "type": "MARKET", "quantity": "10"},
        1,
    ),
    (
        "POST",
        "/api/v3/order/test",
        {
            "symbol": "MTSUSDT",
            "side": "SELL",
            "type": "MARKET",
            "quantity": "10",
            "computeCommissionRates": "true",
        },
        20,
    ),
    (
        "POST",
        "/api/v3/order",
        {"symbol": "MTSUSDT", "side": "SELL", "type": "MARKET", "quantity": "10"},
        1,
    ),
]


def check_counted(used: list[int], weights: list[int]) -> None:
    """Check each answer's used weight grew by its request's weight (or a new minute began)."""
    for earlier, later, weight in zip(used, used[1:], weights[1:], strict=False):
        assert later in (earlier + weight, weight), (earlier, later, weight)


async def test_every_answer_tells_the_weight_used_this_minute(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running = launch_simulator(tmp_path / "state")
    account = await create_account(http, running.base_url, {"MTS": "100"})
    used: list[int] = []
    weights: list[int] = []
    for path, params, weight in PUBLIC_WEIGHTS:
        async with http.get(f"{running.base_url}{path}", params=params) as response:
            used.append(int(response.headers[USED_WEIGHT]))
            weights.append(weight)
    for method, path, params, weight in SIGNED_WEIGHTS:
        _, _, headers = await send_signed(http, running.base_url, method, path, account, params)
        used.append(int(headers[USED_WEIGHT]))
        weights.append(weight)
    check_counted(used, weights)
    async with http.get(f"{running.base_url}/sim/limits") as response:
        assert USED_WEIGHT not in response.headers


async def statuses_until_banned(http: aiohttp.ClientSession, base_url: str) -> list[Any]:
    """Ping until the IP is banned; return each answer's status, Retry-After and code."""
    seen: list[Any] = []
    for _ in range(MAX_REQUESTS):
        async with http.get(f"{base_url}/api/v3/ping") as response:
            body = await response.json()
            seen.append((response.status, response.headers.get("Retry-After"), body))
            if response.status == 418:
                return seen
    raise AssertionError("keeping on after 429s never got the IP banned")


async def test_past_the_limit_429_with_retry_after_then_a_418_ban(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running = launch_simulator(
        tmp_path / "state",
        "--set",
        "limits.request_weight_per_minute=20",
        "--set",
        "limits.bans_after=2",
        "--set",
        "limits.ban_s=90",
    )
    seen = await statuses_until_banned(http, running.base_url)
    assert [status for status, _, _ in seen[-3:]] == [429, 429, 418]
    for status, retry_after, body in seen[-3:]:
        assert body["code"] == -1003 and retry_after is not None
        assert 0 < int(retry_after) <= (60 if status == 429 else 90)
    assert "IP banned until" in seen[-1][2]["msg"]

    exchange = binance_client(running.base_url, await create_account(http, running.base_url, {}))
    try:
        with pytest.raises(ccxt.DDoSProtection):
            await exchange.fetch_time()
    finally:
        await exchange.close()
    async with http.post(f"{running.base_url}/sim/limits", json={}) as response:
        assert (await response.json())["request_weight_per_minute"] == 6000
    async with http.get(f"{running.base_url}/api/v3/ping") as response:
        assert (response.status, response.headers[USED_WEIGHT]) == (200, "1")


async def test_a_shorter_weight_interval_names_its_window_everywhere(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running = launch_simulator(
        tmp_path / "state",
        "--set",
        "limits.request_weight_per_minute=20",
        "--set",
        "limits.request_weight_interval=10S",
    )
    async with http.get(f"{running.base_url}/api/v3/exchangeInfo") as response:
        limits = (await response.json())["rateLimits"]
    assert {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "SECOND",
        "intervalNum": 10,
        "limit": 20,
    } in limits
    for _ in range(MAX_REQUESTS):
        async with http.get(f"{running.base_url}/api/v3/ping") as response:
            assert USED_WEIGHT not in response.headers
            used = int(response.headers["X-MBX-USED-WEIGHT-10S"])
            if response.status == 429:
                body, retry_after = await response.json(), response.headers["Retry-After"]
                break
    else:
        raise AssertionError("the weight limit never refused a request")
    assert used > 20 and 0 < int(retry_after) <= 10
    assert body["msg"].startswith(
        "Too much request weight used; current limit is 20 request weight per 10 SECOND."
    )


@pytest.mark.parametrize("interval", ["1H", "0S", "10", "m", "1m", "1.5M"])
def test_a_weight_interval_binance_cannot_spell_is_refused(interval: str) -> None:
    with pytest.raises(ConfigError, match="request_weight_interval"):
        load_config(None, [f"limits.request_weight_interval={interval}"])


async def test_new_orders_past_the_order_limit_are_refused_without_retry_after(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running: RunningSimulator = launch_simulator(
        tmp_path / "state", "--set", "limits.orders_per_10s=3"
    )
    account = await create_account(http, running.base_url, {"MTS": "1000"})
    order = {"symbol": "MTSUSDT", "side": "SELL", "type": "MARKET", "quantity": "10"}
    counts: list[str | None] = []
    for _ in range(20):
        status, body, headers = await send_signed(
            http, running.base_url, "POST", "/api/v3/order", account, order
        )
        if status == 429:
            assert body == {
                "code": -1015,
                "msg": "Too many new orders; current limit is 3 orders per 10 SECOND.",
            }
            assert "Retry-After" not in headers
            break
        counts.append(headers["X-MBX-ORDER-COUNT-10S"])
    else:
        raise AssertionError("the order limit never refused an order")
    assert counts[-1] == "3" and counts[-3:] == ["1", "2", "3"]
