"""The whole box end to end: supervisor, signer, two bots on the simulator, and the panel."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from appliance.datadir import DataDir
from appliance.store.events import EventKind, open_events, read_events
from provisioning.devrun import activate_pairs, panel_call, wait_for_panel
from tests.conftest import REPO, RunningSimulator, free_port, start_simulator, stop_process

pytestmark = pytest.mark.e2e
BOTS = ("bot-1", "bot-2")


@dataclass
class RunningBox:
    """A provisioned box under its supervisor, and the simulator it trades on."""

    data: DataDir
    simulator: RunningSimulator
    supervisor: subprocess.Popen[bytes]
    panel: str


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"within {timeout:.0f} s: {what}")


@pytest.fixture(scope="module")
def box() -> Iterator[RunningBox]:
    # The children run under their own uids: the data dir must be reachable by them.
    root = Path(tempfile.mkdtemp(prefix="mmbox-e2e-", dir="/tmp"))
    root.chmod(0o755)
    simulator = start_simulator(root / "simdata", "--seed", "11")
    data, port = DataDir(root / "data"), free_port()
    subprocess.run(
        [sys.executable, "-m", "provisioning.devbox", "provision", "--data", str(data.root),
         "--exchange-url", simulator.url, "--panel-port", str(port)], cwd=REPO, check=True)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "appliance.supervisor", "--data", str(data.root),
         "--vendor-key", str(REPO / ".devvendor" / "vendor.pub")], cwd=REPO)
    running = RunningBox(data, simulator, supervisor, f"http://127.0.0.1:{port}")
    yield running
    stop_process(supervisor)  # type: ignore[arg-type]
    stop_process(simulator.process)
    shutil.rmtree(root)


def fills(data: DataDir, bot: str) -> int:
    db = open_events(data.events_db(bot))
    try:
        return len(read_events(db, kinds=(EventKind.FILL,)))
    finally:
        db.close()


def test_both_bots_fill_within_a_minute_and_the_panel_shows_it(box: RunningBox) -> None:
    assert wait_for_panel(box.panel, box.supervisor), "the panel never showed both bots running"
    assert len(activate_pairs(box.panel)) == len(BOTS)
    eventually(lambda: all(fills(box.data, bot) for bot in BOTS), 60,
               "both bots have fills in their events.db")
    bots = eventually(lambda: panel_call(f"{box.panel}/api/bots")["bots"], 10, "panel lists bots")
    for bot in BOTS:
        assert bots[bot]["state"] == "RUNNING"
        assert bots[bot]["recent_fills"], f"{bot}'s fills are not on the panel"
        assert bots[bot]["positions"][0]["fills"] >= 1


def test_a_killed_bot_is_restarted(box: RunningBox) -> None:
    pid = panel_call(f"{box.panel}/api/bots")["bots"]["bot-1"]["pid"]
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        bot = panel_call(f"{box.panel}/api/bots")["bots"]["bot-1"]
        return bool(bot["state"] == "RUNNING" and bot["pid"] != pid and bot["restarts"] == 1)

    eventually(restarted, 60, "the supervisor restarts bot-1")
    pairs = panel_call(f"{box.panel}/api/bots")["bots"]["bot-1"]["pairs"]
    assert [pair["state"] for pair in pairs] == ["PAUSED"], "a restarted bot starts paused"


def box_processes(supervisor_pid: int) -> list[psutil.Process]:
    """Return the supervisor and every process it started."""
    supervisor = psutil.Process(supervisor_pid)
    return [supervisor, *supervisor.children(recursive=True)]


def test_no_secret_outside_the_token(box: RunningBox) -> None:
    """After keys were imported, bots traded and one was killed, no secret shows anywhere.

    Secrets: the exchange API secrets (the simulator, playing the exchange, holds them) and the
    token's user PIN. Only the token's own files may hold them; the signer's audit log, though
    inside hsm/, is a log and must not.
    """
    accounts = json.loads((box.simulator.state / "accounts.json").read_text())
    secrets = [account["secretKey"].encode() for account in accounts["accounts"]]
    assert len(secrets) == len(BOTS)
    secrets.append(box.data.pin_file.read_bytes().strip())
    token_files = box.data.hsm / "tokens"
    for path in box.data.root.rglob("*"):
        if path.is_file() and path != box.data.pin_file and token_files not in path.parents:
            content = path.read_bytes()
            for secret in secrets:
                assert secret not in content, f"a secret is in {path}"
    for process in box_processes(box.supervisor.pid):
        seen = "\0".join(process.cmdline()).encode() + b"\0".join(
            f"{k}={v}".encode() for k, v in process.environ().items())
        for secret in secrets:
            assert secret not in seen, f"a secret is in the command line or environment of " \
                                       f"{process.name()} ({process.pid})"


def test_sigterm_leaves_no_open_order_on_the_exchange(box: RunningBox) -> None:
    eventually(lambda: panel_call(f"{box.simulator.url}/sim/open-orders?account=bot-2"), 30,
               "bot-2 has orders resting")
    box.supervisor.send_signal(signal.SIGTERM)
    assert box.supervisor.wait(timeout=60) == 0
    for bot in BOTS:
        assert panel_call(f"{box.simulator.url}/sim/open-orders?account={bot}") == []
