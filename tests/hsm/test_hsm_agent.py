"""The signer process over its socket: signs for allowed uids, refuses the rest, stays up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.datadir import DataDir
from appliance.ipc import MAX_LINE
from hsm.audit import verify_audit
from hsm.client import SignerClient, SignerError
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.pinguard import PinGuard
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token
from tests.hsm.signer_bed import (
    OTHER_SECRET,
    REPO,
    SECRET,
    RunningSigner,
    allow,
    audit_records,
    connect,
    raw_exchange,
    start_signer,
    stop,
    wait_until_serving,
)

BOT_1_UID = 6111
BOT_2_UID = 6112


def launch(data: DataDir, pin: str, log: Path, *args: str) -> RunningSigner:
    """Start a signer on data and return it once it serves."""
    process = start_signer(data, pin, log, *args)
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
    except AssertionError:
        stop(process)
        raise
    return RunningSigner(process, client, data.signer_sock, log, data, b"")


def provision(token: Token) -> bytes:
    """Put both bots' HMAC keys and the device key on the token; return the device key."""
    token.import_hmac("bot-1.sim.hmac", SECRET)
    token.import_hmac("bot-2.sim.hmac", OTHER_SECRET)
    device_public_key = token.generate_ed25519("device")
    token.close()
    return device_public_key


@pytest.fixture
def signer(token: Token, data: DataDir, user_pin: str, tmp_path: Path) -> Iterator[RunningSigner]:
    """Yield a signer that lets this uid use bot-1's key, the device key and 'absent'."""
    device_public_key = provision(token)
    uid = os.getuid()
    running = launch(data, user_pin, tmp_path / "signer.log",
                     *allow(f"{uid}=bot-1.sim.hmac,device", f"{uid}=absent",
                            f"{uid + 1}=bot-2.sim.hmac"))
    try:
        yield RunningSigner(running.process, running.client, running.socket, running.log, data,
                            device_public_key)
    finally:
        running.client.close()
        stop(running.process)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(max_size=8192))
def test_signs_hmac_for_an_allowed_uid(signer: RunningSigner, message: bytes) -> None:
    expected = hmac.new(SECRET, message, hashlib.sha256).digest()
    assert signer.client.sign_hmac("bot-1.sim.hmac", message) == expected


def test_signs_eddsa_with_the_device_key(signer: RunningSigner) -> None:
    public = signer.client.public_key("device")
    pem = load_pem_public_key(signer.client.public_key_pem("device").encode())
    signature = signer.client.sign_eddsa("device", b"login challenge")
    assert public == signer.device_public_key
    assert isinstance(pem, Ed25519PublicKey)
    pem.verify(signature, b"login challenge")
    Ed25519PublicKey.from_public_bytes(public).verify(signature, b"login challenge")


def test_refuses_a_label_granted_to_another_uid(signer: RunningSigner) -> None:
    with pytest.raises(SignerError) as refused:
        signer.client.sign_hmac("bot-2.sim.hmac", b"payload-that-must-not-be-logged")
    assert refused.value.code == "forbidden"
    stop(signer.process)
    log = signer.log.read_text()
    assert f"refused uid {os.getuid()} (pid {os.getpid()}) op sign_hmac label " \
           "'bot-2.sim.hmac': forbidden" in log
    refusal = [r for r in audit_records(signer.data) if r["event"] == "refusal"]
    assert [(r["uid"], r["pid"], r["op"], r["label"]) for r in refusal] == [
        (os.getuid(), os.getpid(), "sign_hmac", "bot-2.sim.hmac")]
    written = log.encode() + (signer.data.hsm / "audit.log").read_bytes()
    assert b"payload-that-must-not-be-logged" not in written
    assert base64.b64encode(b"payload-that-must-not-be-logged") not in written


def test_an_allowed_but_missing_label_is_unknown(signer: RunningSigner) -> None:
    with pytest.raises(SignerError) as unknown:
        signer.client.sign_hmac("absent", b"m")
    assert unknown.value.code == "unknown_key"


@pytest.mark.parametrize("args", [
    {"message_b64": "bQ=="},
    {"label": "", "message_b64": "bQ=="},
    {"label": "bot-1.sim.hmac"},
    {"label": "bot-1.sim.hmac", "message_b64": "not base64!"},
    {"label": "bot-1.sim.hmac", "message_b64": 7},
])
def test_bad_args_are_answered_as_such(signer: RunningSigner, args: dict[str, object]) -> None:
    with connect(signer.socket) as sock:
        line = json.dumps({"id": 1, "op": "sign_hmac", "args": args}).encode() + b"\n"
        reply = raw_exchange(sock, line)
    assert reply["ok"] is False
    assert reply["error"]["code"] == "bad_args"


def test_a_malformed_line_gets_an_error_and_the_connection_goes_on(signer: RunningSigner) -> None:
    with connect(signer.socket) as sock:
        assert raw_exchange(sock, b"{not json\n")["ok"] is False
        assert raw_exchange(sock, b'["a list"]\n')["ok"] is False
        assert raw_exchange(sock, b'{"id": 2, "op": "ping"}\n')["result"] == "pong"


def test_an_overlong_line_does_not_stop_the_signer(signer: RunningSigner) -> None:
    with connect(signer.socket) as sock:
        reply = raw_exchange(sock, b"x" * (MAX_LINE + 10) + b"\n")
    assert reply["error"]["code"] == "too_long"
    signer.client.ping()


def test_an_unknown_op_is_named_in_the_error(signer: RunningSigner) -> None:
    with connect(signer.socket) as sock:
        reply = raw_exchange(sock, b'{"id": 1, "op": "export_key", "args": {}}\n')
    assert reply["error"]["code"] == "unknown_op"


def test_a_half_line_held_open_blocks_no_one(signer: RunningSigner) -> None:
    with connect(signer.socket) as stuck:
        stuck.sendall(b'{"id": 1, "op": "sign_hmac", "args": {"label": "bot-1.sim')
        assert signer.client.sign_hmac("bot-1.sim.hmac", b"m") == hmac.new(
            SECRET, b"m", hashlib.sha256).digest()


def test_sigterm_stops_cleanly_and_removes_the_socket(signer: RunningSigner) -> None:
    assert oct(signer.socket.stat().st_mode & 0o777) == oct(0o666)
    assert stop(signer.process) == 0
    assert not signer.socket.exists()


def test_the_audit_log_counts_signatures_and_verifies(signer: RunningSigner) -> None:
    for n in range(5):
        signer.client.sign_hmac("bot-1.sim.hmac", b"order %d" % n)
    assert stop(signer.process) == 0
    records = audit_records(signer.data)
    assert [r["event"] for r in records] == ["login", "tally"]
    assert records[0]["outcome"] == "ok"
    counts = {(c["op"], c["label"]): c["n"] for c in records[1]["counts"]}
    assert counts[("sign_hmac", "bot-1.sim.hmac")] == 5
    assert verify_audit(signer.data.hsm / "audit.log") == 2


def test_the_supervisor_manages_keys_through_the_agent(signer: RunningSigner) -> None:
    client = signer.client
    client.import_hmac("bot-3.sim.hmac", b"the new bot's exchange secret, 32+ bytes")
    pem = client.generate_ed25519("bot-3.sim.ed25519")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    client.rename_key("bot-3.sim.hmac", "bot-4.sim.hmac")
    listed = {(k.label, k.kind): k.public_key_pem for k in client.list_keys()}
    assert listed[("bot-3.sim.ed25519", "ed25519")] == pem
    assert ("bot-4.sim.hmac", "hmac") in listed
    client.delete_key("bot-4.sim.hmac")
    assert "bot-4.sim.hmac" not in [k.label for k in client.list_keys()]
    stop(signer.process)
    written = (signer.data.hsm / "audit.log").read_bytes() + signer.log.read_bytes()
    assert b"the new bot's exchange secret" not in written
    ops = [(r["op"], r["outcome"]) for r in audit_records(signer.data) if r["event"] == "request"]
    assert ops == [("import_hmac", "ok"), ("generate_ed25519", "ok"), ("rename_key", "ok"),
                   ("list_keys", "ok"), ("delete_key", "ok"), ("list_keys", "ok")]


def refusal(ask: Callable[[], object]) -> str:
    """Return the error code the signer refuses a client call with."""
    with pytest.raises(SignerError) as refused:
        ask()
    return refused.value.code


def test_the_supervisor_adds_an_account_to_the_running_signer(signer: RunningSigner) -> None:
    client, uid = signer.client, os.getuid()
    passphrase = b"the account's OKX passphrase, never written"
    client.import_hmac("bot-3.okx.hmac", OTHER_SECRET)
    client.import_credential("bot-3.okx.passphrase", passphrase)
    assert refusal(lambda: client.sign_hmac("bot-3.okx.hmac", b"m")) == "forbidden"
    assert refusal(lambda: client.read_credential("bot-3.okx.passphrase")) == "forbidden"
    client.grant(uid, "bot-3.okx.hmac")
    client.grant(uid, "bot-3.okx.passphrase")
    assert client.sign_hmac("bot-3.okx.hmac", b"m") == hmac.new(
        OTHER_SECRET, b"m", hashlib.sha256).digest()
    assert client.read_credential("bot-3.okx.passphrase") == passphrase
    listed = {(k.label, k.kind, k.public_key_pem) for k in client.list_keys()}
    assert ("bot-3.okx.passphrase", "credential", None) in listed
    assert refusal(lambda: client.grant(uid, "bot-4.okx.hmac")) == "unknown_key"
    assert refusal(lambda: client.read_credential("bot-1.sim.hmac")) == "unknown_key"
    client.delete_key("bot-3.okx.passphrase")
    client.import_credential("bot-3.okx.passphrase", b"a later account's passphrase")
    assert refusal(lambda: client.read_credential("bot-3.okx.passphrase")) == "forbidden"
    assert stop(signer.process) == 0
    written = (signer.data.hsm / "audit.log").read_bytes() + signer.log.read_bytes()
    for secret in (passphrase, b"a later account's passphrase", OTHER_SECRET):
        assert secret not in written
        assert base64.b64encode(secret) not in written
    grants = [(r["uid"], r["arg_uid"], r["label"]) for r in audit_records(signer.data)
              if r.get("op") == "grant" and r["outcome"] == "ok"]
    assert grants == [(uid, uid, "bot-3.okx.hmac"), (uid, uid, "bot-3.okx.passphrase")]


def test_key_management_is_refused_to_a_uid_not_admin(
    token: Token, data: DataDir, user_pin: str, tmp_path: Path
) -> None:
    provision(token)
    running = launch(data, user_pin, tmp_path / "signer.log", "--admin", "4242",
                     *allow(f"{os.getuid()}=bot-1.sim.hmac"))
    try:
        for call in (lambda: running.client.import_hmac("bot-9.sim.hmac", b"s" * 32),
                     running.client.list_keys,
                     lambda: running.client.delete_key("bot-1.sim.hmac"),
                     lambda: running.client.grant(os.getuid(), "bot-2.sim.hmac"),
                     lambda: running.client.import_credential("bot-9.okx.passphrase", b"p")):
            with pytest.raises(SignerError) as refused:
                call()
            assert refused.value.code == "forbidden"
    finally:
        stop(running.process)
    refusals = [r["op"] for r in audit_records(data) if r["event"] == "refusal"]
    assert refusals == ["import_hmac", "list_keys", "delete_key", "grant", "import_credential"]


def test_a_caller_over_its_rate_is_told_so(
    token: Token, data: DataDir, user_pin: str, tmp_path: Path
) -> None:
    provision(token)
    running = launch(data, user_pin, tmp_path / "signer.log", "--rate", "0.001", "--burst", "3",
                     *allow(f"{os.getuid()}=bot-1.sim.hmac"))
    try:
        running.client.sign_hmac("bot-1.sim.hmac", b"m")
        running.client.sign_hmac("bot-1.sim.hmac", b"m")
        with pytest.raises(SignerError) as limited:
            running.client.sign_hmac("bot-1.sim.hmac", b"m")
        assert limited.value.code == "rate_limited"
    finally:
        stop(running.process)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client under another uid")
def test_a_bot_uid_asking_for_another_bots_key_is_refused_and_recorded(
    user_pin: str, tmp_path: Path
) -> None:
    root = Path(tempfile.mkdtemp(prefix="mmbox-signer-"))
    try:
        root.chmod(0o755)
        data = DataDir(root / "data")
        init_token(data, DEFAULT_TOKEN_LABEL, "so-pin-1234", user_pin)
        use_config(data)
        provision(Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin))
        data.root.chmod(0o755)
        running = launch(data, user_pin, tmp_path / "signer.log",
                         *allow(f"{BOT_1_UID}=bot-1.sim.hmac", f"{BOT_2_UID}=bot-2.sim.hmac"))
        try:
            own = sign_as(BOT_2_UID, data, "bot-2.sim.hmac")
            other = sign_as(BOT_2_UID, data, "bot-1.sim.hmac")
        finally:
            stop(running.process)
        assert own == "ok"
        assert other == "forbidden"
        refusal = [r for r in audit_records(data) if r["event"] == "refusal"]
        assert [(r["uid"], r["label"], r["outcome"]) for r in refusal] == [
            (BOT_2_UID, "bot-1.sim.hmac", "forbidden")]
    finally:
        shutil.rmtree(root)


def sign_as(uid: int, data: DataDir, label: str) -> str:
    """Ask the signer for an HMAC from a process running as uid; return ok or the error code."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom hsm.client import SignerClient, SignerError\n"
        "try:\n    SignerClient(Path(sys.argv[1])).sign_hmac(sys.argv[2], b'order')\n"
        "    print('ok')\nexcept SignerError as exc:\n    print(exc.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(data.signer_sock), label],
                          cwd=REPO, user=uid, group=uid, extra_groups=[], capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_wrong_pin_exits_with_status_2_and_is_counted(
    token: Token, data: DataDir, tmp_path: Path
) -> None:
    token.close()
    log = tmp_path / "signer.log"
    process = start_signer(data, "not-the-pin", log, *allow(f"{os.getuid()}=device"))
    assert process.wait(timeout=30) == 2
    assert "refused the user PIN" in log.read_text()
    assert not data.signer_sock.exists()
    assert PinGuard(data.hsm / "pin-guard.json").state().failures == 1
    (record,) = audit_records(data)
    assert (record["event"], record["outcome"], record["failures"]) == ("login", "wrong_pin", 1)
    for path in (log, data.hsm / "pin-guard.json", data.hsm / "audit.log"):
        assert b"not-the-pin" not in path.read_bytes()


def test_a_locked_out_start_exits_3_without_trying_the_pin(
    token: Token, data: DataDir, user_pin: str, tmp_path: Path
) -> None:
    token.close()
    guard = PinGuard(data.hsm / "pin-guard.json")
    for _ in range(12):
        guard.failed()
    log = tmp_path / "signer.log"
    process = start_signer(data, user_pin, log, *allow(f"{os.getuid()}=device"))
    assert process.wait(timeout=30) == 3
    assert "12 wrong PINs in a row: no login is tried before" in log.read_text()
    assert "start again then with the right PIN" in log.read_text()
    assert guard.state().failures == 12
    (record,) = audit_records(data)
    assert (record["event"], record["outcome"]) == ("login", "locked_out")


def test_the_right_pin_clears_the_wrong_ones(
    token: Token, data: DataDir, user_pin: str, tmp_path: Path
) -> None:
    token.close()
    guard = PinGuard(data.hsm / "pin-guard.json")
    guard.failed()
    running = launch(data, user_pin, tmp_path / "signer.log", *allow(f"{os.getuid()}=device"))
    stop(running.process)
    assert guard.state().failures == 0


def test_a_bad_allow_entry_is_a_usage_error(data: DataDir, tmp_path: Path) -> None:
    process = start_signer(data, "pin", tmp_path / "signer.log", *allow("bot-1=device"))
    assert process.wait(timeout=30) == 64
    assert "write UID=label1,label2" in (tmp_path / "signer.log").read_text()


def test_no_pin_on_stdin_is_explained(data: DataDir, tmp_path: Path) -> None:
    process = start_signer(data, "", tmp_path / "signer.log", *allow("0=device"))
    assert process.wait(timeout=30) == 1
    assert "no user PIN on standard input" in (tmp_path / "signer.log").read_text()


def test_a_data_dir_without_token_is_explained(tmp_path: Path) -> None:
    process = start_signer(DataDir(tmp_path / "empty"), "pin", tmp_path / "signer.log",
                           *allow("0=d"))
    assert process.wait(timeout=30) == 1
    assert "provision the box first" in (tmp_path / "signer.log").read_text()
