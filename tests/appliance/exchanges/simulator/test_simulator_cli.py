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


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the simulator's command line to completion."""
    return subprocess.run(
        [sys.executable, "-m", "appliance.exchanges.simulator", *args],
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
