"""The whole box end to end: supervisor, signer, two bots on the simulator, and the panel."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import pytest

from appliance.bot.runtime import CYCLE_SECONDS
from appliance.datadir import DataDir
from appliance.ipc import call_once
from appliance.risk.const import SymbolState
from appliance.store import access, appliance_db
from appliance.store.access import Role
from appliance.store.database import read_from
from appliance.store.events import (
    EventKind,
    QuotesChosen,
    SymbolStateChanged,
    open_events,
    read_events,
)
from appliance.supervisor.const import READERS_GID
from hsm.softkeys import DEV_KEY_PIN_FILE
from provisioning.const import ALERTS_UID, PANEL_UID
from provisioning.devrun import activate_pairs, get_json, panel_opener, wait_for_box
from tests.alerts.telegram_server import TelegramServer
from tests.conftest import REPO, RunningSimulator, free_port, start_simulator, stop_process
from ui.acting import ActingSupervisor
from ui.auth.guard import SESSION_COOKIE, Identity
from ui.const import SymbolAction
from ui.supervisor import Supervisor

pytestmark = pytest.mark.e2e
BOTS = ("bot-1", "bot-2")
TELEGRAM_TOKEN = "7000002:" + "B" * 35
CHAT = 424242


@dataclass
class RunningBox:
    """A provisioned box under its supervisor, and the simulator it trades on."""

    data: DataDir
    simulator: RunningSimulator
    supervisor: subprocess.Popen[bytes]
    panel: str
    token: str
    """The control API token the development box printed once, at provisioning."""
    sessions: list[str]
    """The session ids the tests were given, for the leak test to look for."""

    def api(self, path: str) -> Any:
        """GET one panel API path over HTTPS as a script with the box's control token."""
        return get_json(f"{self.panel}{path}", panel_opener(self.data), self.token)


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
    provisioned = subprocess.run(
        [sys.executable, "-m", "provisioning.devbox", "provision", "--data", str(data.root),
         "--exchange-url", simulator.url, "--panel-port", str(port)], cwd=REPO,
        capture_output=True, text=True)
    assert provisioned.returncode == 0, "provisioning failed: " + provisioned.stderr
    (token,) = re.findall(r"control API token .*: (mmb_\S+)", provisioned.stdout)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "appliance.supervisor", "--data", str(data.root),
         "--vendor-key", str(REPO / ".devvendor" / "vendor.pub")], cwd=REPO)
    running = RunningBox(data, simulator, supervisor, f"https://127.0.0.1:{port}", token, [])
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
    assert wait_for_box(box.data, box.supervisor), "the box never had both bots running"
    assert len(activate_pairs(box.data)) == len(BOTS)
    eventually(lambda: all(fills(box.data, bot) for bot in BOTS), 60,
               "both bots have fills in their events.db")
    bots = eventually(lambda: box.api("/api/bots")["bots"], 10, "panel lists bots")
    for bot in BOTS:
        assert bots[bot]["state"] == "RUNNING"
        assert bots[bot]["recent_fills"], f"{bot}'s fills are not on the panel"
        assert bots[bot]["positions"][0]["fills"] >= 1


def test_the_alerts_process_runs_under_its_own_account(box: RunningBox) -> None:
    def alerts() -> Any:
        return read_from(box.data.appliance_db,
                         lambda db: appliance_db.processes(db).get("alerts"))

    running = eventually(lambda: (p := alerts()) is not None and p.state == "RUNNING" and p,
                         30, "the alerts process runs")
    if os.geteuid() == 0:
        assert psutil.Process(running.pid).uids().real == ALERTS_UID
        assert oct((box.data.root / "alerts").stat().st_mode & 0o777) == "0o700"


def test_the_panel_reads_the_logs_and_the_signers_audit_but_nothing_else_of_the_signer(
    box: RunningBox,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("every process shares one uid without root")

    def panel_reads(path: Path) -> bool:
        return subprocess.run(
            [sys.executable, "-c", f"open({str(path)!r}, 'rb').read(1)"], user=PANEL_UID,
            group=PANEL_UID, extra_groups=[READERS_GID], capture_output=True).returncode == 0

    eventually(lambda: (box.data.hsm / "audit.log").exists(), 30, "the signer audits")
    assert panel_reads(box.data.log("signer"))
    assert panel_reads(box.data.hsm / "audit.log")
    for secret in (box.data.pin_file, box.data.hsm / DEV_KEY_PIN_FILE):
        assert not panel_reads(secret), secret
    assert not any(panel_reads(path) for path in (box.data.hsm / "tokens").rglob("*")
                   if path.is_file())


def test_a_killed_bot_is_restarted(box: RunningBox) -> None:
    pid = box.api("/api/bots")["bots"]["bot-1"]["pid"]
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        bot = box.api("/api/bots")["bots"]["bot-1"]
        return bool(bot["state"] == "RUNNING" and bot["pid"] != pid and bot["restarts"] == 1)

    eventually(restarted, 60, "the supervisor restarts bot-1")
    pairs = box.api("/api/bots")["bots"]["bot-1"]["pairs"]
    assert [pair["state"] for pair in pairs] == ["PAUSED"], "a restarted bot starts paused"


async def test_an_operators_action_reaches_the_bots_log_with_who_asked(box: RunningBox) -> None:
    (pair,) = box.api("/api/bots")["bots"]["bot-1"]["pairs"]
    operator = Identity("dave", "d4" * 32, Role.OPERATOR)
    acting = ActingSupervisor(Supervisor(box.data.control_sock), operator, "127.0.0.1")

    answer = await acting.symbol_action("bot-1", pair["symbol"], SymbolAction.ACTIVATE)

    assert answer["state"] == "ACTIVE"
    db = open_events(box.data.events_db("bot-1"))
    try:
        changes = [e.body for e in read_events(db, kinds=(EventKind.STATE,))
                   if isinstance(e.body, SymbolStateChanged)]
    finally:
        db.close()
    assert (changes[-1].state, changes[-1].actor, changes[-1].fingerprint) == (
        SymbolState.ACTIVE, "dave", "d4" * 32)
    records = read_from(box.data.appliance_db, lambda db: access.activity(db, limit=1000))
    assert [(r.actor, r.fingerprint, r.outcome) for r in records
            if r.action == f"activate bot-1 {pair['symbol']}"] == [("dave", "d4" * 32, "ok")]
    bots = box.api("/api/bots")["bots"]
    for bot in BOTS:  # bot-1 was SIGKILLed by the test before
        assert bots[bot]["chain"]["ok"] is True, bots[bot]["chain"]


async def test_a_pause_from_an_enrolled_telegram_chat_pauses_the_pair(box: RunningBox) -> None:
    """The owner points the alerts at a Bot API server on loopback, enrols a chat and puts the
    bot token in the box's token; the alerts process is restarted to read it, and a /pause from
    that chat pauses bot-1's pair through the supervisor, answered in the chat."""
    (pair,) = box.api("/api/bots")["bots"]["bot-1"]["pairs"]
    assert pair["state"] == "ACTIVE"
    telegram = TelegramServer(TELEGRAM_TOKEN)
    await telegram.start()
    try:
        owner = {"actor": "owner", "fingerprint": "f" * 64}
        await call_once(box.data.control_sock, "alerts_configure", 10,
                        telegram_chats=[CHAT], telegram_api=f"http://127.0.0.1:{telegram.port}",
                        **owner)
        await call_once(box.data.control_sock, "alerts_secret", 30, which="telegram",
                        value=TELEGRAM_TOKEN, **owner)
        await telegram.inject(CHAT + 1, "/pause")  # a chat not enrolled: nothing happens
        await telegram.inject(CHAT, f"/pause bot-1 {pair['symbol']}")
        answer = await telegram.wait_sent(lambda sent: sent.chat_id == CHAT, 60)
        assert "PAUSED" in answer.text, answer.text
        assert all(sent.chat_id == CHAT for sent in telegram.sent)
    finally:
        await telegram.stop()
    (pair,) = box.api("/api/bots")["bots"]["bot-1"]["pairs"]
    assert pair["state"] == "PAUSED"
    db = open_events(box.data.events_db("bot-1"))
    try:
        changes = [e.body for e in read_events(db, kinds=(EventKind.STATE,))
                   if isinstance(e.body, SymbolStateChanged)]
    finally:
        db.close()
    assert (changes[-1].state, changes[-1].actor) == (SymbolState.PAUSED, f"telegram:{CHAT}")


def test_the_owner_logs_in_with_the_software_key_and_pulling_it_ends_the_session(
    box: RunningBox,
) -> None:
    pin = (box.data.hsm / DEV_KEY_PIN_FILE).read_text().strip()
    origin = {"origin": box.panel}
    with httpx.Client(base_url=box.panel, verify=ssl.create_default_context(
            cafile=box.data.panel_cert)) as browser:
        page = browser.get("/login")
        assert page.status_code == 200 and "owner (owner)" in page.text
        wrong = browser.post("/login", data={"device": "soft:dev-key-1", "pin": "0" * 32},
                             headers=origin)
        assert wrong.status_code == 401 and "0" * 32 not in wrong.text
        login = browser.post("/login", data={"device": "soft:dev-key-1", "pin": pin},
                             headers=origin)
        assert login.status_code == 303
        cookie = login.headers["set-cookie"].lower()
        assert all(flag in cookie for flag in ("httponly", "secure", "samesite=strict"))
        box.sessions.append(browser.cookies[SESSION_COOKIE])
        assert browser.get("/api/session").json()["role"] == "owner"
        devkey = [sys.executable, "-m", "hsm.devkey", "--data", str(box.data.root)]
        subprocess.run([*devkey, "pull"], cwd=REPO, check=True, capture_output=True)
        deadline = time.monotonic() + 1.0
        while browser.get("/api/session").status_code == 200:
            assert time.monotonic() < deadline, "the session outlived its key by over 1 s"
            time.sleep(0.05)
        subprocess.run([*devkey, "plug"], cwd=REPO, check=True, capture_output=True)


def quoted_spreads_bps(data: DataDir, bot: str, since: float) -> list[tuple[float, float]]:
    """Return (when, spread in basis points of mid) of each quote set a bot chose since then."""
    db = open_events(data.events_db(bot))
    try:
        quotes = read_events(db, kinds=(EventKind.QUOTE,))
    finally:
        db.close()
    return [(e.ts, float((e.body.asks[0][0] - e.body.bids[0][0]) / e.body.mid * 10_000))
            for e in quotes if e.ts >= since and isinstance(e.body, QuotesChosen)
            and e.body.bids and e.body.asks and e.body.mid]


def test_a_changed_spread_is_quoted_within_two_cycles_and_a_bad_one_changes_nothing(
    box: RunningBox,
) -> None:
    pin = (box.data.hsm / DEV_KEY_PIN_FILE).read_text().strip()
    settings = "/api/bots/bot-2/pairs/sim/MTS/USDC/settings"
    params = box.api("/api/bots/bot-2/pairs")["pairs"][0]["settings"]["strategy"]["params"]
    pid = box.api("/api/bots")["bots"]["bot-2"]["pid"]
    with httpx.Client(base_url=box.panel, headers={"origin": box.panel},
                      verify=ssl.create_default_context(cafile=box.data.panel_cert)) as owner:
        login = owner.post("/login", data={"device": "soft:dev-key-1", "pin": pin})
        assert login.status_code == 303
        box.sessions.append(owner.cookies[SESSION_COOKIE])
        wider = {"strategy": {"kind": "spread", "params": {
            **params, "half_spread_bps": 40, "band_bps": 200}}}
        changed_at = time.time()
        answer = owner.put(settings, json=wider)
        assert answer.status_code == 200 and answer.json()["applied"] is True, answer.text
        deadline = changed_at + 2 * CYCLE_SECONDS + 1.0  # two cycles, and the request's time
        while not any(spread > 60 for _, spread in quoted_spreads_bps(box.data, "bot-2",
                                                                      changed_at)):
            assert time.time() < deadline, "the new spread was not quoted within two cycles"
            time.sleep(0.1)
        refused = owner.put(settings, json={"strategy": {"kind": "spread", "params": {
            **params, "half_spread_bps": 5000}}})
        assert refused.status_code == 422 and "half_spread_bps" in refused.text
    time.sleep(2 * CYCLE_SECONDS)
    stored = box.api("/api/bots/bot-2/pairs")["pairs"][0]["settings"]["strategy"]["params"]
    assert stored["half_spread_bps"] == 40
    recent = quoted_spreads_bps(box.data, "bot-2", time.time() - 2 * CYCLE_SECONDS)
    assert all(spread > 60 for _, spread in recent), "the refused value reached the worker"
    assert box.api("/api/bots")["bots"]["bot-2"]["pid"] == pid, "the bot was restarted"


def box_processes(supervisor_pid: int) -> list[psutil.Process]:
    """Return the supervisor and every process it started."""
    supervisor = psutil.Process(supervisor_pid)
    return [supervisor, *supervisor.children(recursive=True)]


def test_no_secret_outside_the_token(box: RunningBox) -> None:
    """After keys were imported, bots traded and one was killed, no secret shows anywhere.

    Secrets: the exchange API secrets (the simulator, playing the exchange, holds them), the
    token's user PIN, the software key's PIN, the control API token and a login's session id.
    Only the token's own files (and the PIN files a development box keeps) may hold them; the
    signer's audit log, though inside hsm/, is a log and must not.
    """
    accounts = json.loads((box.simulator.state / "accounts.json").read_text())
    secrets = [account["secretKey"].encode() for account in accounts["accounts"]]
    assert len(secrets) == len(BOTS)
    secrets.append(box.data.pin_file.read_bytes().strip())
    dev_key_pin = box.data.hsm / DEV_KEY_PIN_FILE
    secrets.append(dev_key_pin.read_bytes().strip())
    secrets += [box.token.encode(), *(session.encode() for session in box.sessions)]
    secrets.append(TELEGRAM_TOKEN.encode())  # put into the token through the supervisor
    assert box.sessions, "the login test gave no session id to look for"
    token_files = box.data.hsm / "tokens"
    for path in box.data.root.rglob("*"):
        kept = (box.data.pin_file, dev_key_pin)  # a development box's PINs, kept on purpose
        if path.is_file() and path not in kept and token_files not in path.parents:
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
    eventually(lambda: get_json(f"{box.simulator.url}/sim/open-orders?account=bot-2"), 30,
               "bot-2 has orders resting")
    box.supervisor.send_signal(signal.SIGTERM)
    assert box.supervisor.wait(timeout=60) == 0
    for bot in BOTS:
        assert get_json(f"{box.simulator.url}/sim/open-orders?account={bot}") == []


def test_every_bots_chain_verifies_after_the_box_stops(box: RunningBox) -> None:
    verified = subprocess.run(
        [sys.executable, "-m", "appliance.store.verify", "--data", str(box.data.root)],
        cwd=REPO, capture_output=True, text=True, timeout=60)

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [line.split(":")[0] for line in verified.stdout.splitlines()] == list(BOTS)
