"""A development box provisioned against a real simulator signs as the exchange expects."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.datadir import DataDir
from appliance.license import BoxKind, load_vendor_public_key, verify_license
from appliance.store import appliance_db
from appliance.store.database import open_reader
from hsm.client import SignerClient, SignerError
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.enrol import read_enrolment
from hsm.login import verify_signature
from hsm.operator_key import OperatorTokenRef, as_operator_key, sign_on_key
from hsm.softhsm import SOFTHSM_MODULE, use_config
from hsm.token import Token
from provisioning import devrun

REPO = Path(__file__).resolve().parents[2]


def devbox(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m provisioning.devbox` and return what it did."""
    return subprocess.run([sys.executable, "-m", "provisioning.devbox", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def provision_args(data: Path, url: str, tmp_path: Path) -> list[str]:
    """Return the provision command line for a data dir and simulator."""
    return ["provision", "--data", str(data), "--exchange-url", url,
            "--vendor-dir", str(tmp_path / "vendor")]


def simulator_secrets(state: Path) -> dict[str, tuple[str, str]]:
    """Return (apiKey, secretKey) of each simulator account, from the simulator's own file."""
    accounts = json.loads((state / "accounts.json").read_text())["accounts"]
    return {a["name"]: (a["apiKey"], a["secretKey"]) for a in accounts}


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_token_signs_with_the_simulators_secrets(simulator: Any, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "var")
    done = devbox(*provision_args(data.root, simulator.url, tmp_path))
    assert done.returncode == 0, done.stderr
    accounts = simulator_secrets(simulator.state)
    pin = data.pin_file.read_text().strip()
    use_config(data)
    message = b"symbol=MTSUSDT&side=BUY&type=LIMIT&timestamp=1700000000000"
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, pin) as token:
        for bot in ("bot-1", "bot-2"):
            expected = hmac.new(accounts[bot][1].encode(), message, hashlib.sha256).digest()
            assert token.sign_hmac(f"{bot}.sim.hmac", message) == expected
    keys = appliance_db.exchange_keys(open_reader(data.appliance_db))
    assert {(k.label, k.api_key) for k in keys} == {
        ("bot-1.sim.hmac", accounts["bot-1"][0]), ("bot-2.sim.hmac", accounts["bot-2"][0]),
    }
    assert stat.S_IMODE(data.pin_file.stat().st_mode) == 0o600


def test_a_development_box_has_a_software_operator_key(
    simulator: Any, tmp_path: Path
) -> None:
    data = DataDir(tmp_path / "var")
    done = devbox(*provision_args(data.root, simulator.url, tmp_path))
    assert done.returncode == 0, done.stderr
    license = verify_license(data.license, load_vendor_public_key(tmp_path / "vendor" /
                                                                  "vendor.pub"))
    assert license.kind is BoxKind.DEVELOPMENT
    pin_file = data.hsm / "dev-key.pin"
    assert stat.S_IMODE(pin_file.stat().st_mode) == 0o600
    pin = pin_file.read_text().strip()
    assert pin and pin not in done.stdout + done.stderr
    use_config(data)
    try:
        enrolment = read_enrolment(OperatorTokenRef(SOFTHSM_MODULE, token_label="dev-key-1"),
                                   pin)
        assert enrolment.algorithm == "ecdsa-secp256r1"
        signature = sign_on_key(OperatorTokenRef(SOFTHSM_MODULE, token_label="dev-key-1"),
                                pin, b"challenge")
    finally:
        pkcs11.lib(SOFTHSM_MODULE).finalize()
    verify_signature(as_operator_key(load_pem_public_key(enrolment.public_key_pem.encode())),
                     b"challenge", signature)
    assert f"soft:dev-key-1 (token serial {enrolment.token_serial})" in done.stdout


def start_signer(data: DataDir, *allow: str) -> subprocess.Popen[bytes]:
    """Start the signer as the supervisor does: user PIN on stdin, grants on the command line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hsm", "--data", str(data.root), *(f"--allow={a}" for a in allow)],
        cwd=REPO, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    process.stdin.write(data.pin_file.read_bytes())
    process.stdin.close()
    return process


def serving(client: SignerClient, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the signer answers ping; return False if it exits or never answers."""
    for _ in range(400):
        if process.poll() is not None:
            return False
        try:
            client.ping()
            return True
        except SignerError:
            time.sleep(0.05)
    return False


def get_json(url: str, headers: dict[str, str]) -> Any:
    """GET a simulator URL directly (no proxy) and return its JSON."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return json.load(response)


def test_the_simulator_accepts_what_the_signer_signs(simulator: Any, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "var")
    assert devbox(*provision_args(data.root, simulator.url, tmp_path)).returncode == 0
    api_key = appliance_db.exchange_keys(open_reader(data.appliance_db), "bot-1")[0].api_key
    process = start_signer(data, f"{os.getuid()}=bot-1.sim.hmac")
    client = SignerClient(data.signer_sock)
    try:
        assert serving(client, process)
        now = get_json(f"{simulator.url}/api/v3/time", {})["serverTime"]
        query = f"timestamp={now}"
        signature = client.sign_hmac("bot-1.sim.hmac", query.encode()).hex()
        account = get_json(f"{simulator.url}/api/v3/account?{query}&signature={signature}",
                           {"X-MBX-APIKEY": api_key})
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    balances = {b["asset"]: b["free"] for b in account["balances"]}
    assert float(balances["MTS"]) == 10000
    assert float(balances["USDT"]) == 20000


def test_no_secret_leaves_the_token_folder(simulator: Any, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "var")
    done = devbox(*provision_args(data.root, simulator.url, tmp_path))
    assert done.returncode == 0, done.stderr
    secrets = [secret.encode() for _, secret in simulator_secrets(simulator.state).values()]
    for pin_file in (data.pin_file, data.hsm / "dev-key.pin"):
        secrets.append(pin_file.read_bytes().strip())
    outside = [p for p in data.root.rglob("*") if p.is_file() and data.hsm not in p.parents]
    assert outside, "the data dir should hold files outside hsm/"
    for path in outside:
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path
    for secret in secrets:
        assert secret.decode() not in done.stdout + done.stderr


def test_a_second_run_leaves_the_box_alone(simulator: Any, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "var")
    assert devbox(*provision_args(data.root, simulator.url, tmp_path)).returncode == 0
    license_before = data.license.read_bytes()
    again = devbox(*provision_args(data.root, simulator.url, tmp_path))
    assert again.returncode == 0, again.stderr
    assert "already provisioned" in again.stdout
    assert data.license.read_bytes() == license_before
    assert set(simulator_secrets(simulator.state)) == {"bot-1", "bot-2"}


def test_an_existing_account_is_explained(simulator: Any, tmp_path: Path) -> None:
    assert devbox(*provision_args(tmp_path / "first", simulator.url, tmp_path)).returncode == 0
    second = devbox(*provision_args(tmp_path / "second", simulator.url, tmp_path))
    assert second.returncode == 1
    assert "already has an account 'bot-1'" in second.stderr
    assert not (tmp_path / "second").exists()


def test_an_unreachable_simulator_leaves_nothing(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    done = devbox(*provision_args(tmp_path / "var", url, tmp_path))
    assert done.returncode == 1
    assert "cannot reach the simulator" in done.stderr
    assert not (tmp_path / "var").exists()


def test_a_box_provisioned_by_an_older_version_is_brought_up_to_date_before_it_is_read(
    tmp_path: Path,
) -> None:
    """An appliance.db from before exchanges had a sandbox switch: `./build.sh run` reads its
    simulator URL before the supervisor starts, so it upgrades the schema first."""
    data = DataDir(tmp_path / "data")
    data.root.mkdir()
    old = sqlite3.connect(data.appliance_db)
    old.execute("CREATE TABLE exchanges (name TEXT PRIMARY KEY, ccxt_id TEXT NOT NULL, "
                "api_url TEXT)")
    old.execute("INSERT INTO exchanges VALUES ('sim', 'binance', 'http://127.0.0.1:9100')")
    old.commit()
    old.close()
    devrun.upgrade(data)
    assert devrun.exchange_url(data) == "http://127.0.0.1:9100"
