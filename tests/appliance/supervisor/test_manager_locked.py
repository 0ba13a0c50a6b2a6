"""A box that keeps no PIN boots locked: its bots start only once the panel unlocks it."""

from __future__ import annotations

import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import pytest

from appliance.datadir import DataDir
from appliance.license import BoxKind
from appliance.store.access import Role
from appliance.store.appliance_db import ProcessStatus, processes
from appliance.store.database import open_reader
from appliance.supervisor.manager import LOCKED_DETAIL
from hsm.softkeys import DEV_KEY_PIN_FILE, soft_device
from provisioning import const
from provisioning.devkey import DEFAULT_DEV_KEY, enrol_dev_key, make_dev_key
from provisioning.factory import BoxSpec, provision
from provisioning.sim_accounts import open_account
from provisioning.vendor import PUBLIC_FILE, init_vendor, load_vendor_key
from tests.conftest import REPO, RunningSimulator, free_port, stop_process

BALANCES = {"MTS": "10000", "USDT": "20000", "USDC": "20000"}
BOTS = tuple(const.BOT_UIDS)
@dataclass(frozen=True)
class LockedBox:
    """A provisioned box without a PIN file, under its supervisor, and the token's PIN."""

    data: DataDir
    pin: str = field(repr=False)
    supervisor: subprocess.Popen[str]
    port: int

    def rows(self) -> dict[str, ProcessStatus]:
        """Return the supervisor's process rows from appliance.db."""
        db = open_reader(self.data.appliance_db)
        try:
            return processes(db)
        finally:
            db.close()


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the database or a row is not there yet
            pass
        time.sleep(0.2)
    pytest.fail(f"within {timeout:.0f} s: {what}")


def unlock_from_the_panel(box: LockedBox) -> None:
    """Log in to the panel over HTTPS with the owner's software key, and unlock the box."""
    url = f"https://127.0.0.1:{box.port}"
    with httpx.Client(base_url=url, verify=ssl.create_default_context(
            cafile=box.data.panel_cert), headers={"origin": url}) as browser:
        eventually(lambda: browser.get("/api/health").status_code == 200, 60, "the panel answers")
        key_pin = (box.data.hsm / DEV_KEY_PIN_FILE).read_text().strip()
        login = browser.post("/login", data={"device": soft_device(DEFAULT_DEV_KEY),
                                             "pin": key_pin})
        assert login.status_code == 303, login.text
        assert "The box is locked" in browser.get("/unlock").text
        unlocked = browser.post("/unlock", data={"pin": box.pin})
        assert (unlocked.status_code, unlocked.headers["location"]) == (303, "/")


@pytest.fixture
def box(simulator: RunningSimulator) -> Iterator[LockedBox]:
    # The children may run under their own uids: the data dir must be reachable by them.
    root = Path(tempfile.mkdtemp(prefix="mmbox-locked-", dir="/tmp"))
    root.chmod(0o755)
    vendor = root / "vendor"
    init_vendor(vendor)
    data, pin = DataDir(root / "data"), secrets.token_hex(16)
    credentials = [open_account(simulator.url, bot, BALANCES) for bot in BOTS]
    port = free_port()
    # A development box, for its software operator key, but without its PIN file: it boots
    # locked as a production box does.
    provision(data, BoxSpec(exchange_url=simulator.url, panel_port=port,
                            kind=BoxKind.DEVELOPMENT), load_vendor_key(vendor), pin, credentials)
    key = make_dev_key(data)
    enrol_dev_key(data, "owner", Role.OWNER, key)
    assert not data.pin_file.exists()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "appliance.supervisor", "--data", str(data.root),
         "--vendor-key", str(vendor / PUBLIC_FILE)], cwd=REPO, text=True)
    yield LockedBox(data, pin, supervisor, port)
    stop_process(supervisor)
    shutil.rmtree(root)


def wait_until_locked(box: LockedBox) -> dict[str, ProcessStatus]:
    """Return the process rows once the signer shows that the box waits to be unlocked."""
    eventually(lambda: box.rows()["signer"].detail == LOCKED_DETAIL, 60,
               "the signer's row says the box is locked")
    return box.rows()


def test_the_bots_start_only_after_the_panel_unlocks_the_box(box: LockedBox) -> None:
    rows = wait_until_locked(box)
    assert rows["signer"].state == "RUNNING"
    assert "panel" in rows, "the panel must run while locked: it is where the box is unlocked"
    time.sleep(1.5)  # a few of the supervisor's polls: still no bot
    assert not set(BOTS) & set(box.rows())
    assert box.supervisor.poll() is None
    unlock_from_the_panel(box)
    eventually(lambda: all(box.rows()[bot].state == "RUNNING" for bot in BOTS), 60,
               "both bots run after the unlock")
    assert box.rows()["signer"].detail == ""
    box.supervisor.send_signal(signal.SIGTERM)
    assert box.supervisor.wait(timeout=60) == 0


def test_sigterm_while_locked_stops_the_box_cleanly(box: LockedBox) -> None:
    rows = wait_until_locked(box)
    children = [rows[name].pid for name in ("signer", "panel", "alerts")]
    box.supervisor.send_signal(signal.SIGTERM)
    assert box.supervisor.wait(timeout=30) == 0
    assert not any(pid is not None and psutil.pid_exists(pid) for pid in children)
    assert {name: row.state for name, row in box.rows().items()} == {
        "signer": "STOPPED", "panel": "STOPPED", "alerts": "STOPPED"}
    assert not box.data.control_sock.exists()
