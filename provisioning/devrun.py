"""Run a development box: the exchange simulator, then the box's supervisor, until Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from appliance.datadir import DataDir
from appliance.ipc import IpcError, SyncIpcClient
from appliance.store import appliance_db
from appliance.store.database import close_writer, open_reader, open_writer
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


def upgrade(data: DataDir) -> None:
    """Bring a provisioned box's appliance.db up to this version's schema before it is read.

    The supervisor does it too when it starts, but the development box reads appliance.db
    before that (the simulator URL it trades on).
    """
    db = open_writer(data.appliance_db)
    try:
        appliance_db.create_schema(db)
    finally:
        close_writer(db)


def exchange_url(data: DataDir) -> str | None:
    """Return the simulator URL a provisioned box trades on; None before it has an account."""
    db = open_reader(data.appliance_db)
    try:
        urls = [e.api_url for e in appliance_db.exchanges(db).values() if e.api_url]
    finally:
        db.close()
    return urls[0] if urls else None


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
    return f"https://{settings.get('panel_host', '127.0.0.1')}:{settings.get('panel_port', 8080)}"


def panel_opener(data: DataDir) -> urllib.request.OpenerDirector:
    """Return an opener that trusts the box's own panel certificate, and no proxy."""
    context = ssl.create_default_context(cafile=data.panel_cert)
    return urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                       urllib.request.HTTPSHandler(context=context))


def get_json(url: str, opener: urllib.request.OpenerDirector = DIRECT,
             token: str | None = None) -> Any:
    """GET one URL and return its JSON answer; with `token`, as an API token's script."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with opener.open(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return json.load(response)


def control(data: DataDir, op: str, **args: Any) -> Any:
    """Ask the box's supervisor one thing on its control socket (root or the box's own user)."""
    client = SyncIpcClient(data.control_sock)
    try:
        return client.call(op, **args)
    finally:
        client.close()


def wait_for_box(data: DataDir, supervisor: subprocess.Popen[bytes]) -> bool:
    """Wait until every bot runs and the panel answers; False if the box died first."""
    url, opener = panel_url(data), panel_opener(data)
    deadline = time.monotonic() + PANEL_WAIT
    while time.monotonic() < deadline and supervisor.poll() is None:
        try:
            processes = control(data, "status")["processes"]
            bots = [p for name, p in processes.items() if name.startswith("bot-")]
            if (bots and all(p["state"] == "RUNNING" for p in bots)
                    and get_json(f"{url}/api/health", opener)["status"] == "ok"):
                return True
        except (IpcError, urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.5)
    return False


def activate_pairs(data: DataDir) -> list[str]:
    """Activate every pair of every bot, asking the supervisor as the panel would."""
    db = open_reader(data.appliance_db)
    try:
        pairs = appliance_db.pairs(db)
    finally:
        db.close()
    activated = []
    for pair in pairs:
        control(data, "symbol_action", bot=pair.bot, symbol=pair.symbol, action="activate",
                actor="development box")
        activated.append(f"{pair.symbol} on {pair.bot}")
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
