"""`GET /sapi/v1/account/apiRestrictions` as Binance documents it, read by real ccxt: what the
calling key may do, whether it may withdraw (set by the admin, kept across a restart), and
Binance's refusals and weight headers."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from tests.simulator.conftest import (
    KEY_TYPES,
    ClientFactory,
    Credentials,
    Launcher,
    RunningSimulator,
    binance_client,
    create_account,
    ed25519_pem_pair,
    send_signed,
)

PATH = "/sapi/v1/account/apiRestrictions"
SAPI_USED_WEIGHT = "X-SAPI-USED-IP-WEIGHT-1M"
API_USED_WEIGHT = "X-MBX-USED-WEIGHT-1M"
BOOLEAN_FIELDS = {
    "ipRestrict",
    "enableInternalTransfer",
    "enableFutures",
    "enablePortfolioMarginTrading",
    "enableVanillaOptions",
    "permitsUniversalTransfer",
    "enableReading",
    "enableSpotAndMarginTrading",
    "enableWithdrawals",
    "enableMargin",
}
"""The documented boolean fields of the answer."""
TIME_FIELDS = {"createTime", "tradingAuthorityExpirationTime"}
"""The documented int64 millisecond fields of the answer."""
SPOT_ONLY = {
    "enableInternalTransfer": False,
    "enableFutures": False,
    "enablePortfolioMarginTrading": False,
    "enableVanillaOptions": False,
    "permitsUniversalTransfer": False,
    "enableReading": True,
    "enableSpotAndMarginTrading": True,
    "enableMargin": False,
}
"""What every simulator key may do besides withdrawing: read and trade spot, nothing else."""


def now_ms() -> int:
    """Return the wall clock in milliseconds."""
    return int(time.time() * 1000)


async def restrictions(exchange: Any) -> dict[str, Any]:
    """Return the key's permissions through ccxt's implicit method for the endpoint."""
    answer: dict[str, Any] = await exchange.sapi_get_account_apirestrictions()
    return answer


async def set_withdrawals(
    http: aiohttp.ClientSession, base_url: str, name: str, enabled: object
) -> tuple[int, Any]:
    """Ask the admin endpoint to allow or forbid an account's withdrawals."""
    async with http.post(
        f"{base_url}/sim/accounts/{name}/api-restrictions", json={"enable_withdrawals": enabled}
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_ccxt_reads_every_documented_field_for_its_own_key(
    key_type: str,
    simulator: RunningSimulator,
    http: aiohttp.ClientSession,
    make_binance: ClientFactory,
) -> None:
    before = now_ms()
    account = await create_account(http, simulator.base_url, {"USDT": "10"}, key_type=key_type)
    after = now_ms()
    exchange = make_binance(account)

    answer = await restrictions(exchange)

    assert exchange.last_request_url.startswith(f"{simulator.base_url}{PATH}?")
    assert set(answer) == BOOLEAN_FIELDS | TIME_FIELDS
    assert all(type(answer[name]) is bool for name in BOOLEAN_FIELDS)
    assert all(type(answer[name]) is int for name in TIME_FIELDS)
    assert {name: answer[name] for name in SPOT_ONLY} == SPOT_ONLY
    assert (answer["enableWithdrawals"], answer["ipRestrict"]) == (False, False)
    assert before <= answer["createTime"] <= after
    assert answer["tradingAuthorityExpirationTime"] > after


async def test_each_key_of_an_account_reports_its_own_creation_time(
    simulator: RunningSimulator, http: aiohttp.ClientSession, make_binance: ClientFactory
) -> None:
    account = await create_account(http, simulator.base_url, {})
    await asyncio.sleep(0.01)
    private_pem, public_pem = ed25519_pem_pair()
    async with http.post(
        f"{simulator.base_url}/sim/accounts/{account.name}/ed25519-keys",
        json={"ed25519_public_key": public_pem},
    ) as response:
        added = Credentials(account.name, (await response.json())["apiKey"], private_pem)
    first = await restrictions(make_binance(account))
    second = await restrictions(make_binance(added))
    assert first["createTime"] < second["createTime"]


async def test_withdrawal_enabled_account_reports_it_until_the_admin_forbids_it(
    simulator: RunningSimulator, http: aiohttp.ClientSession, make_binance: ClientFactory
) -> None:
    account = await create_account(http, simulator.base_url, {}, enable_withdrawals=True)
    exchange = make_binance(account)
    answer = await restrictions(exchange)
    assert (answer["enableWithdrawals"], answer["ipRestrict"]) == (True, True)
    assert {name: answer[name] for name in SPOT_ONLY} == SPOT_ONLY

    assert await set_withdrawals(http, simulator.base_url, account.name, False) == (
        200,
        {"name": account.name, "enableWithdrawals": False},
    )
    assert (await restrictions(exchange))["enableWithdrawals"] is False
    async with http.get(f"{simulator.base_url}/sim/accounts/{account.name}") as response:
        assert (await response.json())["enableWithdrawals"] is False

    await set_withdrawals(http, simulator.base_url, account.name, True)
    assert (await restrictions(exchange))["enableWithdrawals"] is True


async def test_admin_refuses_a_malformed_withdrawal_flag(
    simulator: RunningSimulator, http: aiohttp.ClientSession
) -> None:
    document = {"name": f"flag-{now_ms()}", "balances": {}, "enable_withdrawals": "yes"}
    async with http.post(f"{simulator.base_url}/sim/accounts", json=document) as response:
        assert response.status == 400
        assert await response.json() == {
            "code": -1130,
            "msg": "Data sent for parameter 'enable_withdrawals' is not valid; send true or false.",
        }
    account = await create_account(http, simulator.base_url, {})
    status, body = await set_withdrawals(http, simulator.base_url, account.name, 1)
    assert (status, body["code"]) == (400, -1130)
    status, body = await set_withdrawals(http, simulator.base_url, account.name, None)
    assert (status, body["code"]) == (400, -1102)
    status, body = await set_withdrawals(http, simulator.base_url, "nobody-at-all", True)
    assert (status, body["code"]) == (404, -1130)


async def test_unsigned_or_badly_signed_requests_get_binances_errors(
    simulator: RunningSimulator, http: aiohttp.ClientSession, account: Credentials
) -> None:
    url = f"{simulator.base_url}{PATH}"
    stamped = f"{url}?timestamp={now_ms()}"
    async with http.get(stamped) as response:
        assert (response.status, await response.json()) == (
            401,
            {"code": -2014, "msg": "API-key format invalid."},
        )
    async with http.get(stamped, headers={"X-MBX-APIKEY": "x" * 64}) as response:
        assert (response.status, (await response.json())["code"]) == (401, -2015)
    async with http.get(stamped, headers={"X-MBX-APIKEY": account.api_key}) as response:
        assert (response.status, await response.json()) == (
            400,
            {
                "code": -1102,
                "msg": "Mandatory parameter 'signature' was not sent, was empty/null, "
                "or malformed.",
            },
        )
    forged = f"{stamped}&signature={'0' * 64}"
    async with http.get(forged, headers={"X-MBX-APIKEY": account.api_key}) as response:
        assert (response.status, await response.json()) == (
            400,
            {"code": -1022, "msg": "Signature for this request is not valid."},
        )
        assert SAPI_USED_WEIGHT in response.headers

    base_url = simulator.base_url
    old = {"timestamp": now_ms() - 60_000}
    stale = await send_signed(http, base_url, "GET", PATH, account, old)
    assert stale[:2] == (
        400,
        {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
    )
    extra = await send_signed(http, base_url, "GET", PATH, account, {"symbol": "MTSUSDT"})
    assert (extra[0], extra[1]["code"]) == (400, -1104)


async def test_ccxt_with_a_wrong_secret_is_an_authentication_error(
    make_binance: ClientFactory, account: Credentials
) -> None:
    exchange = make_binance(Credentials(account.name, account.api_key, "not-the-secret"))
    with pytest.raises(ccxt.AuthenticationError):
        await restrictions(exchange)
    assert '"code": -1022' in exchange.last_http_response


async def test_sapi_weight_is_counted_per_endpoint_apart_from_api_weight(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running = launch_simulator(tmp_path / "state")
    account = await create_account(http, running.base_url, {})
    used: list[int] = []
    for _ in range(3):
        status, _, headers = await send_signed(http, running.base_url, "GET", PATH, account, {})
        assert status == 200 and API_USED_WEIGHT not in headers
        used.append(int(headers[SAPI_USED_WEIGHT]))
    async with http.get(f"{running.base_url}/api/v3/ping") as response:
        assert SAPI_USED_WEIGHT not in response.headers
        api_used = int(response.headers[API_USED_WEIGHT])
    for earlier, later in itertools.pairwise(used):
        assert later in (earlier + 1, 1), used
    assert api_used == 1, "sapi requests counted against the /api/ weight"
    async with http.get(f"{running.base_url}/sapi/v1/capital/config/getall") as response:
        assert (response.status, (await response.json())["code"]) == (404, -1020)
        assert response.headers[SAPI_USED_WEIGHT] == "1", "another endpoint shares the count"


async def test_injected_server_errors_reach_sapi_as_they_reach_api(
    tmp_path: Path, launch_simulator: Launcher, http: aiohttp.ClientSession
) -> None:
    running = launch_simulator(tmp_path / "state", "--set", "faults.server_error_rate=1")
    account = await create_account(http, running.base_url, {})
    status, body, _ = await send_signed(http, running.base_url, "GET", PATH, account, {})
    assert (status, body["code"]) == (503, -1001)
    async with http.post(f"{running.base_url}/sim/faults", json={}) as response:
        assert response.status == 200
    status, body, _ = await send_signed(http, running.base_url, "GET", PATH, account, {})
    assert status == 200 and body["enableWithdrawals"] is False


async def test_withdrawal_flag_and_key_times_survive_a_restart(
    tmp_path: Path, launch_simulator: Launcher
) -> None:
    state = tmp_path / "state"
    first = launch_simulator(state)
    async with aiohttp.ClientSession() as http:
        account = await create_account(http, first.base_url, {"USDT": "5"}, "keeper")
        assert (await set_withdrawals(http, first.base_url, "keeper", True))[0] == 200
    exchange = binance_client(first.base_url, account)
    try:
        before = await restrictions(exchange)
    finally:
        await exchange.close()
    assert first.stop() == 0

    second = launch_simulator(state)
    exchange = binance_client(second.base_url, account)
    try:
        after = await restrictions(exchange)
    finally:
        await exchange.close()
    assert after == before and after["enableWithdrawals"] is True


async def test_accounts_file_without_restrictions_loads_them_forbidding_withdrawals(
    tmp_path: Path, launch_simulator: Launcher
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    account = Credentials("older", "k" * 64, "s" * 64)
    entry = {
        "name": account.name,
        "apiKey": account.api_key,
        "secretKey": account.secret,
        "balances": {"USDT": "1"},
    }
    path = state / "accounts.json"
    path.write_text(json.dumps({"version": 1, "accounts": [entry]}))
    saved_ms = 1_700_000_000_000
    os.utime(path, ns=(saved_ms * 1_000_000, saved_ms * 1_000_000))
    running = launch_simulator(state)
    exchange = binance_client(running.base_url, account)
    try:
        answer = await restrictions(exchange)
    finally:
        await exchange.close()
    assert (answer["enableWithdrawals"], answer["createTime"]) == (False, saved_ms)
