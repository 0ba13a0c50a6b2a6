"""The API log records each request's path, status and weight, and never a secret."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from appliance.exchanges.api_log import ApiLog, ApiLogMixin
from appliance.exchanges.venue import point_at_simulator
from provisioning.sim_accounts import open_account
from tests.conftest import RunningSimulator


class LoggedBinance(ApiLogMixin, ccxt_async.binance):  # type: ignore[misc]
    """binance whose requests go to an API log."""


@pytest.fixture
async def logged(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[Any]:
    credential = open_account(simulator.url, "bot-1", {"MTS": "100", "USDT": "1000"})
    client = LoggedBinance({"apiKey": credential.api_key, "secret": credential.secret})
    point_at_simulator(client, simulator.url)
    client.api_log = ApiLog(tmp_path / "api.log")
    client.secrets = (credential.api_key, credential.secret)
    yield client
    await client.close()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_requests_are_logged_without_any_secret(logged: Any, tmp_path: Path) -> None:
    await logged.load_markets()
    await logged.fetch_balance()
    await logged.create_order("MTS/USDT", "limit", "buy", 10, 1.0)
    records = lines(tmp_path / "api.log")
    assert [(r["method"], r["path"]) for r in records] == [
        ("GET", "/api/v3/exchangeInfo"), ("GET", "/api/v3/account"), ("POST", "/api/v3/order")]
    assert all(r["status"] == 200 and isinstance(r["weight"], int) for r in records)
    text = (tmp_path / "api.log").read_text()
    for secret in (*logged.secrets, "signature"):
        assert secret not in text


async def test_a_request_without_an_answer_is_logged_with_its_error(
    logged: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    await logged.load_markets()
    request = urllib.request.Request(
        f"{simulator.url}/sim/faults", json.dumps({"timeout_rate": 1.0}).encode(),
        {"Content-Type": "application/json"})
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5)
    logged.timeout = 500
    with pytest.raises(ccxt_async.RequestTimeout):
        await logged.fetch_balance()
    last = lines(tmp_path / "api.log")[-1]
    assert (last["path"], last["status"], last["error"]) == (
        "/api/v3/account", None, "RequestTimeout")


def test_the_log_rotates_at_its_size_limit(tmp_path: Path) -> None:
    log = ApiLog(tmp_path / "api.log", max_bytes=200)
    for _ in range(10):
        log.record("GET", "http://x/api/v3/depth?symbol=A&signature=s", 200, 2)
    assert (tmp_path / "api.log.1").exists()
    assert (tmp_path / "api.log").stat().st_size <= 400
    assert "signature" not in (tmp_path / "api.log").read_text()
