"""A signer process for the tests: `python -m hsm` on a real SoftHSM2 token, as in the box."""

from __future__ import annotations

import contextlib
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
from typing import Any

from appliance.datadir import DataDir
from hsm.client import SignerClient, SignerError
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
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
    data: DataDir
    device_public_key: bytes


def start_signer(
    data: DataDir, pin: str | None, log: Path, *args: str
) -> subprocess.Popen[bytes]:
    """Start `python -m hsm` with the PIN on its standard input and its log in a file.

    Without a PIN its standard input is empty (a signer started `--locked` reads none).
    """
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "hsm", "--data", str(data.root), *args],
            cwd=REPO, stdin=subprocess.DEVNULL if pin is None else subprocess.PIPE,
            stderr=log_file,
        )
    if pin is not None:
        assert process.stdin is not None
        process.stdin.write(pin.encode() + b"\n")
        process.stdin.close()
    return process


def allow(*entries: str) -> list[str]:
    """Return the --allow arguments for `UID=labels` entries."""
    return [f"--allow={entry}" for entry in entries]


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
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=10)


def raw_exchange(sock: socket.socket, line: bytes) -> dict[str, Any]:
    """Send one raw line and return the reply line's object."""
    sock.sendall(line)
    return read_reply(sock)


def read_reply(sock: socket.socket) -> dict[str, Any]:
    """Read one reply line from sock and return its object."""
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the signer closed the connection"
        reply += chunk
    result: dict[str, Any] = json.loads(reply)
    return result


def connect(path: Path) -> socket.socket:
    """Return a raw connection to the signer's socket, with a timeout."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


def audit_records(data: DataDir) -> list[dict[str, Any]]:
    """Return the records of the signer's audit log."""
    lines = (data.hsm / "audit.log").read_bytes().splitlines()
    return [json.loads(line) for line in lines]


BENCH_HMAC_LABEL = "bot-1.sim.hmac"
BENCH_ED25519_LABEL = "bot-1.sim.ed25519"


@contextlib.contextmanager
def bench_signer(root: Path) -> Iterator[RunningSigner]:
    """Run a signer unlimited in rate on a token with one HMAC and one Ed25519 key."""
    data = DataDir(root / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, "bench-so-pin", "bench-user-pin")
    use_config(data)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, "bench-user-pin") as token:
        token.import_hmac(BENCH_HMAC_LABEL, SECRET)
        token.generate_ed25519(BENCH_ED25519_LABEL)
    process = start_signer(data, "bench-user-pin", root / "signer.log",
                           "--rate", "1e9", "--burst", "1000000000",
                           *allow(f"{os.getuid()}={BENCH_HMAC_LABEL},{BENCH_ED25519_LABEL}"))
    client = SignerClient(data.signer_sock)
    wait_until_serving(process, client)
    try:
        yield RunningSigner(process, client, data.signer_sock, root / "signer.log", data, b"")
    finally:
        client.close()
        stop(process)
