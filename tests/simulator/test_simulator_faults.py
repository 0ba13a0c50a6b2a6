"""Every injected fault can be switched on and off while the simulator runs, and does what a
real exchange's fault does."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.simulator.conftest import (
    Credentials,
    Launcher,
    RunningSimulator,
    create_account,
    send_signed,
    start_simulator,
)

FAST_MARKET = ("--set", "market.min_interval_s=0.05", "--set", "market.max_interval_s=0.1")
SHORT_S = 0.5
STREAM_TIMEOUT_S = 10.0
_client_ids = itertools.count(1)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """Run one simulator with a busy market for the fault tests of this module."""
    running = start_simulator(
        tmp_path_factory.mktemp("faulty") / "state", "--seed", "5", *FAST_MARKET
    )
    yield running
    assert running.stop() == 0


@pytest.fixture(autouse=True)
async def no_faults_after(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> AsyncIterator[None]:
    """Switch every fault off when a test ends."""
    yield
    await set_faults(http, faulty, {})


async def set_faults(
    http: aiohttp.ClientSession, running: RunningSimulator, plan: dict[str, Any]
) -> tuple[int, Any]:
    """Replace the faults in force; return the admin endpoint's status and answer."""
    async with http.post(f"{running.base_url}/sim/faults", json=plan) as response:
        return response.status, await response.json()


async def ping_status(http: aiohttp.ClientSession, running: RunningSimulator) -> int:
    """Return the HTTP status of a ping."""
    async with http.get(f"{running.base_url}/api/v3/ping") as response:
        return response.status


def sell_order(client_id: str) -> dict[str, str]:
    """Return a resting sell far above the market, under a client order id."""
    return {
        "symbol": "MTSUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "10",
        "price": "2.5",
        "newClientOrderId": client_id,
    }


async def test_fault_plans_are_checked_and_shown(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    status, body = await set_faults(http, faulty, {"server_error_rate": 2})
    assert (status, body["code"]) == (400, -1130) and "server_error_rate" in body["msg"]
    status, body = await set_faults(http, faulty, {"earthquake_rate": 0.1})
    assert (status, body["code"]) == (400, -1104)
    status, body = await set_faults(http, faulty, {"latency_ms": 5, "ws_drop_rate": 0.25})
    assert status == 200
    async with http.get(f"{faulty.base_url}/sim/faults") as response:
        shown = await response.json()
    assert (shown["latency_ms"], shown["ws_drop_rate"], shown["timeout_rate"]) == (5, 0.25, 0)


async def test_server_errors_answer_503_and_some_orders_still_take_effect(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    account = await create_account(http, faulty.base_url, {"MTS": "1000"})
    await set_faults(http, faulty, {"server_error_rate": 1})
    answers: dict[str, int] = {}
    for _ in range(12):
        client_id = f"fault-{next(_client_ids)}"
        status, body, _ = await send_signed(
            http, faulty.base_url, "POST", "/api/v3/order", account, sell_order(client_id)
        )
        assert status == 503
        answers[client_id] = body["code"]
    assert set(answers.values()) == {-1001, -1007}
    await set_faults(http, faulty, {})
    assert await ping_status(http, faulty) == 200
    async with http.get(
        f"{faulty.base_url}/sim/open-orders", params={"account": account.name}
    ) as response:
        placed = {order["clientOrderId"] for order in await response.json()}
    assert placed == {client_id for client_id, code in answers.items() if code == -1007}


async def test_timeouts_leave_requests_unanswered_until_switched_off(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    await set_faults(http, faulty, {"timeout_rate": 1, "timeout_s": 60})
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            f"{faulty.base_url}/api/v3/time", timeout=aiohttp.ClientTimeout(total=SHORT_S)
        ):
            pass
    await set_faults(http, faulty, {})
    assert await ping_status(http, faulty) == 200


async def test_latency_delays_every_answer_until_switched_off(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    await set_faults(http, faulty, {"latency_ms": 20_000})
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            f"{faulty.base_url}/api/v3/ping", timeout=aiohttp.ClientTimeout(total=SHORT_S)
        ):
            pass
    await set_faults(http, faulty, {})
    assert await ping_status(http, faulty) == 200


async def test_rejected_orders_come_back_as_new_order_rejected(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    account = await create_account(http, faulty.base_url, {"MTS": "1000"})
    await set_faults(http, faulty, {"order_reject_rate": 1})
    order = sell_order(f"reject-{next(_client_ids)}")
    status, body, _ = await send_signed(
        http, faulty.base_url, "POST", "/api/v3/order", account, order
    )
    assert (status, body) == (400, {"code": -2010, "msg": "NEW_ORDER_REJECTED"})
    status, _, _ = await send_signed(http, faulty.base_url, "GET", "/api/v3/account", account, {})
    assert status == 200
    await set_faults(http, faulty, {})
    status, body, _ = await send_signed(
        http, faulty.base_url, "POST", "/api/v3/order", account, order
    )
    assert (status, body["status"]) == (200, "NEW")


async def receive_text(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> Any:
    """Return the next websocket message, or None when none comes in time."""
    try:
        return await ws.receive(timeout)
    except TimeoutError:
        return None


async def test_dropped_connections_end_without_a_close_frame(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    await set_faults(http, faulty, {"ws_drop_rate": 1})
    async with http.ws_connect(f"{faulty.ws_url}/ws/mtsusdt@trade") as ws:
        message = await ws.receive(STREAM_TIMEOUT_S)
        while message.type is aiohttp.WSMsgType.TEXT:
            message = await ws.receive(STREAM_TIMEOUT_S)
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert ws.close_code != aiohttp.WSCloseCode.OK
    await set_faults(http, faulty, {})
    async with http.ws_connect(f"{faulty.ws_url}/ws/mtsusdt@depth@100ms") as ws:
        for _ in range(15):
            assert (await ws.receive(STREAM_TIMEOUT_S)).type is aiohttp.WSMsgType.TEXT


async def test_stale_streams_go_silent_but_stay_open(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{faulty.ws_url}/ws/mtsusdt@depth@100ms") as ws:
        await set_faults(http, faulty, {"ws_stale_rate": 1, "ws_stale_s": 3})
        silent = False
        for _ in range(40):
            if await receive_text(ws, 1.5) is None:
                silent = True
                break
        assert silent, "the stream never went silent"
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        reply = json.loads((await ws.receive(STREAM_TIMEOUT_S)).data)
        assert reply == {"result": ["mtsusdt@depth@100ms"], "id": 1}
        await set_faults(http, faulty, {})
        update = json.loads((await ws.receive(STREAM_TIMEOUT_S)).data)
        assert update["e"] == "depthUpdate"


async def depth_updates(
    faulty: RunningSimulator, http: aiohttp.ClientSession, count: int
) -> list[dict[str, Any]]:
    """Return the next `count` depth updates of MTSUSDT as one connection receives them."""
    async with http.ws_connect(f"{faulty.ws_url}/ws/mtsusdt@depth@100ms") as ws:
        return [json.loads((await ws.receive(STREAM_TIMEOUT_S)).data) for _ in range(count)]


def gaps(updates: list[dict[str, Any]]) -> int:
    """Return how many updates do not start right after the previous one."""
    return sum(1 for a, b in itertools.pairwise(updates) if b["U"] != a["u"] + 1)


async def test_depth_gaps_skip_updates_until_switched_off(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    await set_faults(http, faulty, {"depth_gap_rate": 0.75})
    assert gaps(await depth_updates(faulty, http, 8)) > 0
    await set_faults(http, faulty, {})
    assert gaps(await depth_updates(faulty, http, 8)) == 0


def crossed_after_each(snapshot: dict[str, Any], updates: list[dict[str, Any]]) -> list[bool]:
    """Apply depth updates to a REST snapshot; return whether the book is crossed after each."""
    sides = {side: {price: qty for price, qty in snapshot[side]} for side in ("bids", "asks")}
    crossed = []
    for update in updates:
        if update["u"] <= snapshot["lastUpdateId"]:
            continue
        for side, key in (("bids", "b"), ("asks", "a")):
            for price, qty in update[key]:
                if float(qty):
                    sides[side][price] = qty
                else:
                    sides[side].pop(price, None)
        best_bid = max(float(price) for price in sides["bids"])
        best_ask = min(float(price) for price in sides["asks"])
        crossed.append(best_bid >= best_ask)
    return crossed


async def crossed_states(
    faulty: RunningSimulator, http: aiohttp.ClientSession, count: int
) -> list[bool]:
    """Follow MTSUSDT's book from a snapshot; return whether it is crossed after each update."""
    async with http.ws_connect(f"{faulty.ws_url}/ws/mtsusdt@depth@100ms") as ws:
        first = json.loads((await ws.receive(STREAM_TIMEOUT_S)).data)
        async with http.get(
            f"{faulty.base_url}/api/v3/depth", params={"symbol": "MTSUSDT", "limit": "1000"}
        ) as response:
            snapshot = await response.json()
        updates = [first] + [
            json.loads((await ws.receive(STREAM_TIMEOUT_S)).data) for _ in range(count)
        ]
    return crossed_after_each(snapshot, updates)


async def test_crossed_book_shows_and_takes_back_a_crossed_level(
    faulty: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    await set_faults(http, faulty, {"crossed_book_rate": 1})
    states = await crossed_states(faulty, http, 10)
    assert True in states
    assert all(not (a and b) for a, b in itertools.pairwise(states))
    await set_faults(http, faulty, {})
    assert not any((await crossed_states(faulty, http, 10))[1:])


async def error_pattern(running: RunningSimulator, http: aiohttp.ClientSession) -> list[int]:
    """Return the statuses of 20 pings under a 50 % server error rate."""
    await set_faults(http, running, {"server_error_rate": 0.5})
    return [await ping_status(http, running) for _ in range(20)]


async def test_faults_repeat_with_the_seed(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    first = launch_simulator(tmp_path / "first", "--seed", "11")
    again = launch_simulator(tmp_path / "again", "--seed", "11")
    other = launch_simulator(tmp_path / "other", "--seed", "12")
    pattern = await error_pattern(first, http)
    assert set(pattern) == {200, 503}
    assert await error_pattern(again, http) == pattern
    assert await error_pattern(other, http) != pattern


async def test_faults_configured_at_start_apply_from_the_first_request(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"faults": {"order_reject_rate": 1.0}}))
    running = launch_simulator(tmp_path / "state", "--config", str(config))
    account: Credentials = await create_account(http, running.base_url, {"MTS": "100"})
    status, body, _ = await send_signed(
        http, running.base_url, "POST", "/api/v3/order", account, sell_order("first")
    )
    assert (status, body["code"]) == (400, -2010)
