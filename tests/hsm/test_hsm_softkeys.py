"""Software operator keys: SoftHSM2 tokens plugged in and pulled out like USB keys."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from hsm.audit import AuditLog
from hsm.cli import BoxLock, build_agent, parse_args
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.login_ops import LoginOp, LoginOps
from hsm.pinguard import PinGuard
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.softkeys import SOFT_PRODUCT, SoftKeyError, SoftKeyWatch
from hsm.usb import KeyAction, KeyEvent
from tests.hsm.operator_bed import (
    OPERATOR_PIN,
    OPERATOR_TOKEN,
    generate_pair,
    next_event,
    release_module,
)
from tests.hsm.signer_bed import REPO, start_signer, stop, wait_until_serving

KEY, OTHER_KEY = "soft:dev-key-1", "soft:dev-key-2"
PANEL = Peer(pid=80, uid=6121, gid=6121)
BOT = Peer(pid=81, uid=6111, gid=6111)
ROOT = Peer(pid=82, uid=0, gid=0)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataDir]:
    """Yield a data dir with the box's token, two software keys and a token of another name."""
    data = DataDir(tmp_path / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), "box-user-pin")
    for label in ("dev-key-1", "dev-key-2", OPERATOR_TOKEN):
        init_token(data, label, secrets.token_hex(8), OPERATOR_PIN)
    use_config(data)
    generate_pair("dev-key-1", "ecdsa-secp256r1")
    yield data
    release_module()


def token_serial(label: str) -> str:
    """Return a token's serial as PKCS#11 reports it."""
    serial = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label).serial
    return bytes(serial).decode().strip()


def test_each_dev_key_token_is_a_key_plugged_in_from_the_start(data: DataDir) -> None:
    watch = SoftKeyWatch(SOFTHSM_MODULE)
    watch.start()
    assert [key.as_dict() for key in watch.present()] == [
        {"device": KEY, "usb_id": "0000:0000", "serial": token_serial("dev-key-1"),
         "product": SOFT_PRODUCT},
        {"device": OTHER_KEY, "usb_id": "0000:0000", "serial": token_serial("dev-key-2"),
         "product": SOFT_PRODUCT},
    ]
    watch.stop()
    assert watch.present() == []


async def test_plug_and_pull_are_announced_once_each(data: DataDir) -> None:
    async with SoftKeyWatch(SOFTHSM_MODULE) as watch:
        heard: list[KeyEvent] = []
        watch.subscribe(heard.append)
        events = watch.events()
        watch.pull(KEY)
        watch.pull(KEY)
        pulled = await next_event(events)
        assert (pulled.action, pulled.key.device) == (KeyAction.REMOVED, KEY)
        assert [key.device for key in watch.present()] == [OTHER_KEY]
        assert watch.find(KEY) is None
        watch.plug(KEY)
        watch.plug(KEY)
        plugged = await next_event(events)
        assert (plugged.action, plugged.key.device) == (KeyAction.ADDED, KEY)
        assert watch.find(KEY) == plugged.key
        assert heard == [pulled, plugged]
        with pytest.raises(SoftKeyError, match="no software key at 'soft:operator'"):
            watch.plug("soft:operator")
    assert await asyncio.wait_for(anext(events, None), 5) is None


async def test_pulling_the_key_ends_the_login_it_opened(data: DataDir, tmp_path: Path) -> None:
    async with SoftKeyWatch(SOFTHSM_MODULE) as watch:
        ops = LoginOps(watch, SOFTHSM_MODULE, [PANEL.uid],
                       PinGuard(tmp_path / "operator-pin-guard.json"),
                       [DEFAULT_TOKEN_LABEL]).table()
        session = await log_in(ops)
        assert (await ops["login_session"]({"session": session}, PANEL))["open"] is True
        watch.pull(KEY)
        assert await ops["login_session"]({"session": session}, PANEL) == {"open": False}
        with pytest.raises(IpcError) as absent:
            await ops["login_challenge"]({"device": KEY}, PANEL)
        assert absent.value.code == "key_absent"
        watch.plug(KEY)
        assert (await ops["login_session"]({"session": await log_in(ops)}, PANEL))["open"]


async def log_in(ops: dict[str, LoginOp]) -> str:
    """Log in through the panel's ops with the software key and its PIN; return the session."""
    enrolment = await ops["enrol_read"]({"token_label": "dev-key-1"}, PANEL)
    challenge = await ops["login_challenge"]({"device": KEY}, PANEL)
    login = await ops["login_verify"](
        {"challenge_id": challenge["challenge_id"], "pin": OPERATOR_PIN,
         "public_key_pem": enrolment["public_key_pem"],
         "token_serial": enrolment["token_serial"]}, PANEL)
    assert login["device"] == KEY
    session: str = login["session"]
    return session


def test_only_the_panel_and_the_admins_may_plug_software_keys(
    data: DataDir, tmp_path: Path
) -> None:
    args = parse_args(["--data", str(data.root), "--locked", "--dev-keys", "--admin", "0",
                       "--panel", str(PANEL.uid)])
    audit = AuditLog(tmp_path / "audit.log")
    watch = SoftKeyWatch(SOFTHSM_MODULE)
    watch.start()
    agent = build_agent(args, BoxLock(args, PinGuard(tmp_path / "guard.json"), audit), audit,
                        soft_keys=watch)
    with pytest.raises(IpcError) as refused:
        agent.call("dev_key", {"device": KEY, "plugged": False}, BOT)
    assert refused.value.code == "forbidden"
    assert watch.find(KEY) is not None
    assert agent.call("dev_key", {"device": KEY, "plugged": False}, PANEL) == {
        "device": KEY, "plugged": False}
    assert agent.call("dev_key", {"device": KEY, "plugged": True}, ROOT) == {
        "device": KEY, "plugged": True}
    assert agent.call("dev_key", {}, ROOT) == {"keys": [
        {"device": KEY, "plugged": True}, {"device": OTHER_KEY, "plugged": True}]}
    for bad in ({"device": KEY}, {"device": KEY, "plugged": "no"}, {"plugged": True}):
        with pytest.raises(IpcError) as refused:
            agent.call("dev_key", bad, ROOT)
        assert refused.value.code == "bad_args"
    audit.close()


def devkey(data: DataDir, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m hsm.devkey` on data's signer."""
    return subprocess.run([sys.executable, "-m", "hsm.devkey", "--data", str(data.root), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("dev_keys", [True, False])
def test_the_devkey_command_switches_keys_only_on_a_development_signer(
    data: DataDir, tmp_path: Path, dev_keys: bool
) -> None:
    absent = devkey(data, "list")
    assert absent.returncode == 1
    assert "the signer is not running" in absent.stderr
    process = start_signer(data, None, tmp_path / "signer.log", "--locked",
                           "--panel", str(os.getuid()), *(["--dev-keys"] if dev_keys else []))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        pulled, listed = devkey(data, "pull", "--device", KEY), devkey(data, "list")
    finally:
        client.close()
        stop(process)
    if not dev_keys:
        assert pulled.returncode == 1
        assert "is not a development box" in pulled.stderr
        return
    assert (pulled.returncode, pulled.stdout) == (0, f"{KEY} pulled out\n"), pulled.stderr
    assert listed.stdout == f"{KEY} pulled out\n{OTHER_KEY} plugged in\n"


def test_an_unknown_software_key_is_named(data: DataDir, tmp_path: Path) -> None:
    process = start_signer(data, None, tmp_path / "signer.log", "--locked", "--dev-keys",
                           "--panel", str(os.getuid()))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        done = devkey(data, "plug", "--device", "soft:dev-key-9")
    finally:
        client.close()
        stop(process)
    assert done.returncode == 1
    assert "no software key at 'soft:dev-key-9' (this box has: soft:dev-key-1, " \
           "soft:dev-key-2)" in done.stderr
