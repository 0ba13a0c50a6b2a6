"""The signer agent over its socket: signs for allowed uids, refuses the rest, stays up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.datadir import DataDir
from appliance.ipc import MAX_LINE
from hsm.client import SignerClient, SignerError
from hsm.token import Token

REPO = Path(__file__).resolve().parents[2]
SECRET = b"bot-one-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789AB"
OTHER_SECRET = b"bot-two-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789AB"


@dataclass(frozen=True)
class RunningSigner:
    """A signer process, a client on its socket and what it was given."""

    process: subprocess.Popen[bytes]
    client: SignerClient
    socket: Path
    log: Path
    device_public_key: bytes


def start_signer(data: DataDir, pin: str, log: Path, *allow: str) -> subprocess.Popen[bytes]:
    """Start `python -m hsm` with the PIN on its standard input and its log in a file."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "hsm", "--data", str(data.root),
             *(f"--allow={entry}" for entry in allow)],
            cwd=REPO, stdin=subprocess.PIPE, stderr=log_file,
        )
    assert process.stdin is not None
    process.stdin.write(pin.encode() + b"\n")
    process.stdin.close()
    return process


def wait_until_serving(process: subprocess.Popen[bytes], client: SignerClient) -> None:
    """Return once the signer answers ping; fail if it exits first."""
    for _ in range(400):
        assert process.poll() is None, "the signer exited while starting"
        try:
            client.ping()
            return
        except SignerError:
            time.sleep(0.05)
    raise AssertionError("the signer did not start serving")


def stop(process: subprocess.Popen[bytes]) -> int:
    """Stop the signer with SIGTERM and return its exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=10)


@pytest.fixture
def signer(token: Token, data: DataDir, user_pin: str, tmp_path: Path) -> Iterator[RunningSigner]:
    """Yield a signer that lets this uid use bot-1's key, the device key and 'absent'."""
    token.import_hmac("bot-1.sim.hmac", SECRET)
    token.import_hmac("bot-2.sim.hmac", OTHER_SECRET)
    device_public_key = token.generate_ed25519("device")
    token.close()
    uid = os.getuid()
    log = tmp_path / "signer.log"
    process = start_signer(data, user_pin, log, f"{uid}=bot-1.sim.hmac,device",
                           f"{uid}=absent", f"{uid + 1}=bot-2.sim.hmac")
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        yield RunningSigner(process, client, data.signer_sock, log, device_public_key)
    finally:
        client.close()
        if process.poll() is None:
            stop(process)


def raw_exchange(sock: socket.socket, line: bytes) -> dict[str, object]:
    """Send one raw line and return the reply line's object."""
    sock.sendall(line)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the signer closed the connection"
        reply += chunk
    result: dict[str, object] = json.loads(reply)
    return result


def test_signs_hmac_for_an_allowed_uid(signer: RunningSigner) -> None:
    for message in (b"", b"symbol=MTSUSDT&side=BUY&timestamp=1", os.urandom(4096)):
        expected = hmac.new(SECRET, message, hashlib.sha256).digest()
        assert signer.client.sign_hmac("bot-1.sim.hmac", message) == expected


def test_signs_eddsa_with_the_device_key(signer: RunningSigner) -> None:
    public = signer.client.public_key("device")
    signature = signer.client.sign_eddsa("device", b"login challenge")
    assert public == signer.device_public_key
    Ed25519PublicKey.from_public_bytes(public).verify(signature, b"login challenge")


def test_refuses_a_label_granted_to_another_uid(signer: RunningSigner) -> None:
    with pytest.raises(SignerError) as refused:
        signer.client.sign_hmac("bot-2.sim.hmac", b"payload-that-must-not-be-logged")
    assert refused.value.code == "forbidden"
    stop(signer.process)
    log = signer.log.read_text()
    assert f"refused uid {os.getuid()} op sign_hmac label 'bot-2.sim.hmac'" in log
    assert "payload-that-must-not-be-logged" not in log
    assert base64.b64encode(b"payload-that-must-not-be-logged").decode() not in log


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
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(signer.socket))
        line = json.dumps({"id": 1, "op": "sign_hmac", "args": args}).encode() + b"\n"
        reply = raw_exchange(sock, line)
    assert reply["ok"] is False
    assert reply["error"]["code"] == "bad_args"  # type: ignore[index]


def test_a_malformed_line_gets_an_error_and_the_connection_goes_on(signer: RunningSigner) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(signer.socket))
        assert raw_exchange(sock, b"{not json\n")["ok"] is False
        assert raw_exchange(sock, b'["a list"]\n')["ok"] is False
        assert raw_exchange(sock, b'{"id": 2, "op": "ping"}\n')["result"] == "pong"


def test_an_overlong_line_does_not_stop_the_signer(signer: RunningSigner) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(signer.socket))
        reply = raw_exchange(sock, b"x" * (MAX_LINE + 10) + b"\n")
    assert reply["error"]["code"] == "too_long"  # type: ignore[index]
    signer.client.ping()


def test_an_unknown_op_is_named_in_the_error(signer: RunningSigner) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(signer.socket))
        reply = raw_exchange(sock, b'{"id": 1, "op": "export_key", "args": {}}\n')
    assert reply["error"]["code"] == "unknown_op"  # type: ignore[index]


def test_sigterm_stops_cleanly_and_removes_the_socket(signer: RunningSigner) -> None:
    assert oct(signer.socket.stat().st_mode & 0o777) == oct(0o666)
    assert stop(signer.process) == 0
    assert not signer.socket.exists()


def test_wrong_pin_exits_with_status_2(token: Token, data: DataDir, tmp_path: Path) -> None:
    token.close()
    log = tmp_path / "signer.log"
    process = start_signer(data, "not-the-pin", log, f"{os.getuid()}=device")
    assert process.wait(timeout=30) == 2
    assert "refused the user PIN" in log.read_text()
    assert "not-the-pin" not in log.read_text()
    assert not data.signer_sock.exists()


def test_a_bad_allow_entry_is_a_usage_error(data: DataDir, tmp_path: Path) -> None:
    process = start_signer(data, "pin", tmp_path / "signer.log", "bot-1=device")
    assert process.wait(timeout=30) == 64
    assert "write UID=label1,label2" in (tmp_path / "signer.log").read_text()


def test_no_pin_on_stdin_is_explained(data: DataDir, tmp_path: Path) -> None:
    process = start_signer(data, "", tmp_path / "signer.log", "0=device")
    assert process.wait(timeout=30) == 1
    assert "no user PIN on standard input" in (tmp_path / "signer.log").read_text()


def test_a_data_dir_without_token_is_explained(tmp_path: Path) -> None:
    process = start_signer(DataDir(tmp_path / "empty"), "pin", tmp_path / "signer.log", "0=d")
    assert process.wait(timeout=30) == 1
    assert "provision the box first" in (tmp_path / "signer.log").read_text()
