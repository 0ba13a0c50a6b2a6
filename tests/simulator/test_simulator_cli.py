"""The command line: loopback only, chosen markets, accounts that survive a restart."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import REPO
from tests.simulator.conftest import (
    Credentials,
    binance_client,
    create_account,
    ed25519_pem_pair,
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the simulator's command line to completion."""
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_non_loopback_host_is_refused(tmp_path: Path) -> None:
    result = run_cli("--host", "0.0.0.0", "--port", "0", "--state", str(tmp_path))
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
    assert result.stdout == ""


def test_malformed_market_is_refused(tmp_path: Path) -> None:
    result = run_cli("--port", "0", "--state", str(tmp_path), "--market", "MTSXYZ=1")
    assert result.returncode == 2
    assert "symbol 'MTSXYZ'" in result.stderr


async def test_accounts_survive_a_restart_in_a_private_file(
    tmp_path: Path, launch_simulator: Any
) -> None:
    state = tmp_path / "state"
    first = launch_simulator(state, "--market", "ABCUSDT=2.5")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{first.base_url}/sim/accounts", json={"name": "keeper", "balances": {"ABC": "7"}}
        ) as response:
            created = await response.json()
        async with http.get(f"{first.base_url}/api/v3/exchangeInfo") as response:
            symbols = [entry["symbol"] for entry in (await response.json())["symbols"]]
        assert symbols == ["ABCUSDT"]
        assert first.stop() == 0

        accounts_file = state / "accounts.json"
        assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
        assert [entry["name"] for entry in json.loads(accounts_file.read_text())["accounts"]] == [
            "keeper"
        ]
        assert list(state.iterdir()) == [accounts_file]

        second = launch_simulator(state, "--market", "ABCUSDT=2.5")
        async with http.get(f"{second.base_url}/sim/accounts/keeper") as response:
            shown = await response.json()
        assert shown["apiKey"] == created["apiKey"]
        assert shown["balances"] == {"ABC": {"free": "7.00000000", "locked": "0.00000000"}}
        async with http.post(
            f"{second.base_url}/sim/accounts", json={"name": "keeper", "balances": {}}
        ) as response:
            assert response.status == 409
    assert second.stop(signal.SIGINT) == 0


async def test_ipv6_loopback_is_served_with_a_bracketed_url(
    tmp_path: Path, launch_simulator: Any
) -> None:
    running = launch_simulator(tmp_path / "state", "--host", "::1")
    assert running.base_url.startswith("http://[::1]:")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{running.base_url}/api/v3/ping") as response,
    ):
        assert await response.json() == {}


def test_unreadable_accounts_file_stops_start_with_advice(tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text("{broken")
    result = run_cli("--port", "0", "--state", str(tmp_path))
    assert result.returncode == 1
    assert "delete it to start the simulator with no accounts" in result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--set", "faults.latency_ms=soon"), "faults.latency_ms"),
        (("--set", "latency=5"), "SECTION.NAME=VALUE"),
        (("--set", "weather.rain_rate=0.5"), "weather"),
        (("--set", "market.min_taker_size=50"), "min_taker_size must not exceed"),
        (("--config", "/nonexistent/run.json"), "cannot read configuration"),
    ],
)
def test_bad_run_configuration_is_refused_with_what_to_fix(
    tmp_path: Path, args: tuple[str, ...], complaint: str
) -> None:
    result = run_cli("--port", "0", "--state", str(tmp_path), *args)
    assert result.returncode == 2
    assert complaint in result.stderr


async def test_settings_override_the_config_file(tmp_path: Path, launch_simulator: Any) -> None:
    config = tmp_path / "run.json"
    config.write_text(
        json.dumps(
            {
                "market": {"volatility_bps": 4, "drift_bps": 0.5},
                "limits": {"request_weight_per_minute": 1200},
            }
        )
    )
    running = launch_simulator(
        tmp_path / "state", "--config", str(config), "--set", "market.volatility_bps=2.5"
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{running.base_url}/sim/market") as response:
            market = await response.json()
        async with http.get(f"{running.base_url}/api/v3/exchangeInfo") as response:
            limits = (await response.json())["rateLimits"]
    assert market["running"] is True
    assert (market["profile"]["volatility_bps"], market["profile"]["drift_bps"]) == (2.5, 0.5)
    assert {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 1200,
    } in limits


async def test_ed25519_keys_and_the_stp_default_survive_a_restart(
    tmp_path: Path, launch_simulator: Any
) -> None:
    state = tmp_path / "state"
    first = launch_simulator(state)
    private_pem, public_pem = ed25519_pem_pair()
    async with aiohttp.ClientSession() as http:
        created = await create_account(
            http, first.base_url, {"USDT": "50"}, "keyed", stp_mode="EXPIRE_BOTH"
        )
        async with http.post(
            f"{first.base_url}/sim/accounts/keyed/ed25519-keys",
            json={"ed25519_public_key": public_pem},
        ) as response:
            assert response.status == 201
            added = (await response.json())["apiKey"]
        async with http.post(
            f"{first.base_url}/sim/accounts/keyed/ed25519-keys",
            json={"ed25519_public_key": public_pem},
        ) as response:
            assert response.status == 409
        assert first.stop() == 0

        second = launch_simulator(state)
        async with http.get(f"{second.base_url}/sim/accounts/keyed") as response:
            shown = await response.json()
        assert shown["apiKey"] == created.api_key and shown["ed25519ApiKeys"] == [added]
        assert private_pem not in json.dumps(shown) and public_pem not in json.dumps(shown)
        exchange = binance_client(second.base_url, Credentials("keyed", added, private_pem))
        try:
            assert (await exchange.fetch_balance())["free"]["USDT"] == 50
            await exchange.load_markets()
            placed = await exchange.create_order("MTS/USDT", "limit", "buy", 10, 1.0)
            assert placed["info"]["selfTradePreventionMode"] == "EXPIRE_BOTH"
        finally:
            await exchange.close()
