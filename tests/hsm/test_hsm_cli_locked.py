"""A signer started --locked: no token op until the panel unlocks it with the right PIN."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from hsm.agent import SignerAgent
from hsm.audit import AuditLog
from hsm.cli import BoxLock, build_agent, parse_args
from hsm.client import SignerClient, SignerError
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.pinguard import PinGuard
from hsm.softhsm import SOFTHSM_MODULE
from hsm.token import Token
from tests.hsm.signer_bed import (
    SECRET,
    allow,
    audit_records,
    start_signer,
    stop,
    wait_until_serving,
)

PANEL = Peer(pid=70, uid=6121, gid=6121)
BOT = Peer(pid=71, uid=6111, gid=6111)
WRONG_PIN = "not-the-box-pin"
ADMIN = Peer(pid=72, uid=0, gid=0)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class LockedAgent:
    """A locked signer's agent in this process, on a real token, with its lock and clock."""

    agent: SignerAgent
    lock: BoxLock
    guard: PinGuard
    audit: AuditLog
    clock: Clock

    def unlock(self, pin: str, peer: Peer = PANEL) -> Any:
        """Call unlock as `peer`; return its result."""
        return self.agent.call("unlock", {"pin": pin}, peer)

    def refusal(self, op: str, args: dict[str, Any], peer: Peer) -> str:
        """Return the error code the agent answers a call with."""
        with pytest.raises(IpcError) as refused:
            self.agent.call(op, args, peer)
        return refused.value.code

    def unlock_records(self) -> list[dict[str, Any]]:
        """Return the audit log's unlock records."""
        lines = self.audit.path.read_bytes().splitlines()
        return [r for r in map(json.loads, lines) if r["event"] == "unlock"]


def sign_args(message: bytes = b"order") -> dict[str, str]:
    """Return sign_hmac's args for bot-1's key."""
    return {"label": "bot-1.sim.hmac", "message_b64": base64.b64encode(message).decode()}


@pytest.fixture
def provisioned(data: DataDir, user_pin: str) -> DataDir:
    """Return the data dir once its token holds bot-1's HMAC key and the device key."""
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin) as token:
        token.import_hmac("bot-1.sim.hmac", SECRET)
        token.generate_ed25519("device")
    return data


@pytest.fixture
def locked(provisioned: DataDir) -> Iterator[LockedAgent]:
    """Yield a locked agent: the panel is uid 6121, bot-1 may sign, two wrong PINs allowed."""
    args = parse_args(["--data", str(provisioned.root), "--locked", "--panel", str(PANEL.uid),
                       "--allow", f"{BOT.uid}=bot-1.sim.hmac", "--pin-failures", "2",
                       "--admin", "0"])
    clock = Clock()
    audit = AuditLog(provisioned.hsm / "audit.log", clock)
    guard = PinGuard(provisioned.hsm / "pin-guard.json", args.pin_failures, clock)
    lock = BoxLock(args, guard, audit)
    yield LockedAgent(build_agent(args, lock, audit), lock, guard, audit, clock)
    lock.close()
    audit.close()


def test_every_token_op_is_refused_as_locked_until_unlocked(
    locked: LockedAgent, user_pin: str
) -> None:
    for op in ("sign_hmac", "public_key"):
        assert locked.refusal(op, sign_args(), BOT) == "locked", op
    for op in ("import_hmac", "list_keys", "delete_key"):
        assert locked.refusal(op, {"label": "bot-1.sim.hmac"}, ADMIN) == "locked", op
    assert locked.refusal("import_hmac", {"label": "x"}, BOT) == "forbidden"
    assert locked.agent.call("status", {}, BOT)["locked"] is True
    assert locked.unlock(user_pin) == {"locked": False}
    assert locked.agent.call("status", {}, BOT)["locked"] is False
    mac = locked.agent.call("sign_hmac", sign_args(), BOT)["mac_b64"]
    assert base64.b64decode(mac) == hmac.new(SECRET, b"order", hashlib.sha256).digest()
    assert locked.refusal("export_key", {}, BOT) == "unknown_op"


def test_only_the_panel_may_unlock(locked: LockedAgent, user_pin: str) -> None:
    for peer in (BOT, ADMIN):
        assert locked.refusal("unlock", {"pin": user_pin}, peer) == "forbidden"
    assert locked.agent.call("status", {}, BOT)["locked"] is True
    assert locked.unlock_records() == []
    assert not locked.guard.path.exists(), "a refused caller's PIN reached the guard"


def test_wrong_pins_count_and_then_lock_out_without_trying_the_token(
    locked: LockedAgent, user_pin: str
) -> None:
    assert locked.refusal("unlock", {"pin": WRONG_PIN}, PANEL) == "wrong_pin"
    assert locked.refusal("unlock", {"pin": WRONG_PIN}, PANEL) == "wrong_pin"
    locked_until = locked.guard.state().locked_until
    assert locked_until > locked.clock.now
    # The right PIN now: had the token been tried, it would open and the count would reset.
    assert locked.refusal("unlock", {"pin": user_pin}, PANEL) == "locked_out"
    assert locked.guard.state().failures == 2
    status = locked.agent.call("status", {}, BOT)
    assert status["locked"] is True
    # Anyone may read the count (the alerts process cannot read the signer's folder).
    assert status["pin_guards"][locked.guard.path.name] == {
        "failures": 2, "locked_until": locked_until}
    locked.clock.now = locked_until
    assert locked.unlock(user_pin) == {"locked": False}
    assert locked.guard.state().failures == 0
    records = locked.unlock_records()
    assert [r["outcome"] for r in records] == ["wrong_pin", "wrong_pin", "locked_out", "ok"]
    assert {(r["uid"], r["pid"]) for r in records} == {(PANEL.uid, PANEL.pid)}
    written = locked.audit.path.read_bytes() + locked.guard.path.read_bytes()
    assert WRONG_PIN.encode() not in written and user_pin.encode() not in written


def test_a_second_unlock_does_not_touch_the_token(locked: LockedAgent, user_pin: str) -> None:
    assert locked.unlock(user_pin) == {"locked": False}
    assert locked.unlock(WRONG_PIN) == {"locked": False}
    assert locked.guard.state().failures == 0
    assert [r["outcome"] for r in locked.unlock_records()] == ["ok"]


@pytest.mark.parametrize("args", [{}, {"pin": ""}, {"pin": 1234}])
def test_an_unlock_without_a_pin_says_what_it_needs(
    locked: LockedAgent, args: dict[str, Any]
) -> None:
    assert locked.refusal("unlock", args, PANEL) == "bad_args"
    assert not locked.guard.path.exists()


def test_the_locked_signer_process_unlocks_from_the_panel_uid_and_signs(
    provisioned: DataDir, user_pin: str, tmp_path: Path
) -> None:
    uid, log = os.getuid(), tmp_path / "signer.log"
    process = start_signer(provisioned, None, log, "--locked", "--panel", str(uid),
                           *allow(f"{uid}=bot-1.sim.hmac,device"))
    client = SignerClient(provisioned.signer_sock)
    try:
        wait_until_serving(process, client)
        assert client.call("status")["locked"] is True
        with pytest.raises(SignerError) as refused:
            client.sign_hmac("bot-1.sim.hmac", b"order")
        assert refused.value.code == "locked"
        assert "unlocks the box from the panel" in refused.value.message
        with pytest.raises(SignerError) as wrong:
            client.call("unlock", pin=WRONG_PIN)
        assert wrong.value.code == "wrong_pin"
        assert client.call("unlock", pin=user_pin) == {"locked": False}
        assert client.sign_hmac("bot-1.sim.hmac", b"order") == hmac.new(
            SECRET, b"order", hashlib.sha256).digest()
        assert len(client.public_key("device")) == 32
    finally:
        client.close()
        assert stop(process) == 0
    unlocks = [r for r in audit_records(provisioned) if r["event"] == "unlock"]
    assert [(r["outcome"], r["uid"]) for r in unlocks] == [("wrong_pin", uid), ("ok", uid)]
    written = log.read_bytes() + (provisioned.hsm / "audit.log").read_bytes()
    assert WRONG_PIN.encode() not in written and user_pin.encode() not in written
