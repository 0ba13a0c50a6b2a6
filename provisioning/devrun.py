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

from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import open_reader
from provisioning.factory import ProvisioningError, is_provisioned

SIMULATOR_PORT = 9100
PANEL_WAIT = 60.0
STOP_WAIT = 60.0


def start_simulator(simdata: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start the simulator on loopback and return it with its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance.exchanges.simulator", "--host", "127.0.0.1",
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


def wait_for_panel(url: str, supervisor: subprocess.Popen[bytes]) -> bool:
    """Wait until the panel answers its health check; False if the box died first."""
    deadline = time.monotonic() + PANEL_WAIT
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline and supervisor.poll() is None:
        try:
            with direct.open(f"{url}/api/health", timeout=2) as response:
                return bool(json.load(response).get("status") == "ok")
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.5)
    return False


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
