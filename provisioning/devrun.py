"""Run a development box: the exchange simulator, then the box's supervisor, until Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import open_reader
from provisioning.factory import ProvisioningError, is_provisioned

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Loopback calls never go through a proxy."""
SIMULATOR_PORT = 9100
PANEL_WAIT = 60.0
STOP_WAIT = 60.0


def start_simulator(simdata: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start the simulator on loopback and return it with its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1",
         "--port", str(port), "--state", str(simdata)],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("simulator listening on "):
        process.kill()
        raise ProvisioningError(
            f"the exchange simulator did not start on 127.0.0.1:{port} (is the port taken?); "
            "stop whatever holds it, or pass --sim-port")
    return process, line.split()[-1]


def exchange_url(data: DataDir) -> str:
    """Return the simulator URL a provisioned box trades on."""
    db = open_reader(data.appliance_db)
    try:
        urls = [e.api_url for e in appliance_db.exchanges(db).values() if e.api_url]
    finally:
        db.close()
    if not urls:
        raise ProvisioningError(f"{data.root} trades on no simulator; remove it to start afresh")
    return urls[0]


def check_pairing(data: DataDir, simdata: Path) -> None:
    """Refuse a box whose exchange accounts the simulator no longer has, or the reverse."""
    accounts = simdata / "accounts.json"
    if is_provisioned(data) and not accounts.exists():
        raise ProvisioningError(
            f"{data.root} holds keys for simulator accounts that {simdata} no longer has; "
            f"remove {data.root} to provision a new development box")
    if not is_provisioned(data) and simdata.exists():
        # A new box gets a new exchange: the old accounts' secrets are in no token any more.
        shutil.rmtree(simdata)


def panel_url(data: DataDir) -> str:
    """Return the panel's address as provisioned."""
    db = open_reader(data.appliance_db)
    try:
        settings = appliance_db.settings(db)
    finally:
        db.close()
    return f"http://{settings.get('panel_host', '127.0.0.1')}:{settings.get('panel_port', 8080)}"


def panel_call(url: str, body: dict[str, Any] | None = None) -> Any:
    """GET (or, with a body, POST) one panel API URL and return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with DIRECT.open(request, timeout=5) as response:
        return json.load(response)


def wait_for_panel(url: str, supervisor: subprocess.Popen[bytes]) -> bool:
    """Wait until the panel reports every bot running; False if the box died first."""
    deadline = time.monotonic() + PANEL_WAIT
    while time.monotonic() < deadline and supervisor.poll() is None:
        try:
            states = panel_call(f"{url}/api/health")["bots"].values()
            if states and all(state == "RUNNING" for state in states):
                return True
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    return False


def activate_pairs(url: str) -> list[str]:
    """Activate every pair of every bot through the panel, as the operator would."""
    activated = []
    for bot, view in panel_call(f"{url}/api/bots")["bots"].items():
        for pair in view["pairs"]:
            panel_call(f"{url}/api/bots/{bot}/symbols/activate", {"symbol": pair["symbol"]})
            activated.append(f"{pair['symbol']} on {bot}")
    return activated


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Send SIGTERM and wait; SIGKILL only if it does not finish in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_box(data: DataDir, vendor_public: Path) -> subprocess.Popen[bytes]:
    """Start the supervisor in its own session, so Ctrl-C reaches it only through us."""
    return subprocess.Popen(
        [sys.executable, "-m", "appliance.supervisor", "--data", str(data.root),
         "--vendor-key", str(vendor_public)], start_new_session=True)
