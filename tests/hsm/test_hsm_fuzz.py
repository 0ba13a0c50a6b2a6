"""Fuzz signer.sock: whatever a caller sends, the signer lives and answers everyone else."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.datadir import DataDir
from appliance.ipc import MAX_LINE
from hsm.audit import verify_audit
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token
from tests.hsm.signer_bed import (
    SECRET,
    RunningSigner,
    allow,
    start_signer,
    stop,
    wait_until_serving,
)

OPS = ["ping", "sign_hmac", "sign_eddsa", "public_key", "import_hmac", "generate_ed25519",
       "list_keys", "rename_key", "delete_key", "export_key"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
args = st.dictionaries(st.sampled_from(["label", "message_b64", "secret_b64", "new_label", "x"]),
                       json_values | st.sampled_from(["bot-1.sim.hmac", "device", "bQ=="]),
                       max_size=4)
requests = st.fixed_dictionaries(
    {}, optional={"id": json_values, "op": st.sampled_from(OPS) | json_values, "args": args})
lines = st.one_of(
    st.binary(max_size=512),
    requests.map(lambda request: json.dumps(request).encode() + b"\n"),
    json_values.map(lambda value: json.dumps(value).encode() + b"\n"),
    st.integers(MAX_LINE - 2, 2 * MAX_LINE).map(lambda n: b"y" * n + b"\n"),
    st.integers(1, 2048).map(lambda n: b'{"id": 1, "op": "ping", "args": {"x": "' + b"z" * n),
)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSigner]:
    """Yield one signer, for the whole module, with bot-1's key granted to this uid."""
    root = tmp_path_factory.mktemp("fuzz")
    data = DataDir(root / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, "fuzz-so-pin", "fuzz-user-pin")
    use_config(data)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, "fuzz-user-pin") as token:
        token.import_hmac("bot-1.sim.hmac", SECRET)
    process = start_signer(data, "fuzz-user-pin", root / "signer.log", "--admin", "4242",
                           "--rate", "1e9", "--burst", "1000000000",
                           *allow(f"{os.getuid()}=bot-1.sim.hmac"))
    client = SignerClient(data.signer_sock)
    wait_until_serving(process, client)
    yield RunningSigner(process, client, data.signer_sock, root / "signer.log", data, b"")
    client.close()
    assert stop(process) == 0


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send data; the signer may close the connection midway (after a line too long)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(sent=st.lists(lines, min_size=1, max_size=6), close_midway=st.booleans())
def test_the_signer_survives_anything_and_serves_a_good_client(
    signer: RunningSigner, sent: list[bytes], close_midway: bool
) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(signer.socket))
        for chunk in sent:
            send_quietly(sock, chunk)
        if close_midway:
            sock.shutdown(socket.SHUT_WR)
        message = b"symbol=MTSUSDT&side=BUY&timestamp=1"
        expected = hmac.new(SECRET, message, hashlib.sha256).digest()
        assert signer.client.sign_hmac("bot-1.sim.hmac", message) == expected
    assert signer.process.poll() is None


def test_the_audit_chain_holds_after_the_fuzzing(signer: RunningSigner) -> None:
    assert verify_audit(signer.data.hsm / "audit.log") > 1


def test_the_signer_log_never_shows_the_key_or_what_was_sent(signer: RunningSigner) -> None:
    log = Path(signer.log).read_bytes()
    assert SECRET not in log
    assert b"zzzzzzzz" not in log
