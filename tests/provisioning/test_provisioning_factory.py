"""The factory makes a whole box or nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.datadir import DataDir
from appliance.license import verify_license
from appliance.store import appliance_db
from appliance.store.database import open_reader
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, TokenInitError, token_dir, use_config
from hsm.token import KeyExists, Token
from provisioning.factory import BoxSpec, ExchangeCredential, ProvisioningError, provision

PIN = "factory-test-pin"
URL = "http://127.0.0.1:9"
CREDENTIALS = [
    ExchangeCredential("bot-1", "api-key-1", "secret-one-" * 6),
    ExchangeCredential("bot-2", "api-key-2", "secret-two-" * 6),
]


@pytest.fixture
def vendor_key() -> Ed25519PrivateKey:
    """Return a fresh vendor key."""
    return Ed25519PrivateKey.generate()


def test_a_provisioned_box_is_complete(tmp_path: Path, vendor_key: Ed25519PrivateKey) -> None:
    data = DataDir(tmp_path / "box")
    provision(data, BoxSpec(exchange_url=URL, asset="XYZ", panel_port=8443), vendor_key, PIN,
              CREDENTIALS)
    box = verify_license(data.license, vendor_key.public_key())
    assert (box.asset, box.tier) == ("XYZ", "starter")
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, PIN) as token:
        assert token.public_key("device") == box.device_public_key
        assert token.labels() == ["bot-1.sim.hmac", "bot-2.sim.hmac", "device"]
    assert not data.pin_file.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["box"]
    assert f"directories.tokendir = {token_dir(data)}\n" in data.softhsm_conf.read_text()


def test_the_database_holds_the_first_configuration(
    tmp_path: Path, vendor_key: Ed25519PrivateKey
) -> None:
    data = DataDir(tmp_path / "box")
    provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, CREDENTIALS)
    db = open_reader(data.appliance_db)
    assert appliance_db.settings(db) == {
        "asset": "MTS", "panel_host": "127.0.0.1", "panel_port": "8080", "signer_uid": "6101",
        "panel_uid": "6121", "alerts_uid": "6131", "token_label": "mmbox",
        "device_key_label": "device",
    }
    assert appliance_db.exchanges(db) == {"sim": appliance_db.Exchange("sim", "binance", URL)}
    assert appliance_db.bots(db) == [appliance_db.Bot("bot-1", 6111, True),
                                     appliance_db.Bot("bot-2", 6112, True)]
    params = {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000",
              "skew_bps": 20, "band_bps": 100}
    assert appliance_db.pairs(db) == [
        appliance_db.Pair("bot-1", "sim", "MTS/USDT", "spread", params),
        appliance_db.Pair("bot-2", "sim", "MTS/USDC", "spread", params),
    ]
    assert appliance_db.exchange_keys(db, "bot-2") == [
        appliance_db.ExchangeKey("bot-2.sim.hmac", "sim", "bot-2", "hmac", "api-key-2"),
    ]
    assert db.execute("SELECT cidr FROM allowlist").fetchall() == [("127.0.0.1/32",)]


def test_a_development_box_keeps_its_pin_private(
    tmp_path: Path, vendor_key: Ed25519PrivateKey
) -> None:
    data = DataDir(tmp_path / "box")
    provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, [], keep_user_pin=True)
    assert data.pin_file.read_text() == f"{PIN}\n"
    assert stat.S_IMODE(data.pin_file.stat().st_mode) == 0o600


def test_an_empty_existing_directory_is_filled(
    tmp_path: Path, vendor_key: Ed25519PrivateKey
) -> None:
    data = DataDir(tmp_path / "mount")
    data.root.mkdir()
    provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, CREDENTIALS)
    assert sorted(p.name for p in data.root.iterdir()) == [
        "appliance.db", "hsm", "license.json", "tls"]
    use_config(data)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, PIN) as token:
        assert token.has_key("device")


def test_a_failed_token_leaves_nothing(tmp_path: Path, vendor_key: Ed25519PrivateKey) -> None:
    with pytest.raises(TokenInitError, match="4 to 255 printable characters"):
        provision(DataDir(tmp_path / "box"), BoxSpec(exchange_url=URL), vendor_key, "12", [])
    assert list(tmp_path.iterdir()) == []


def test_a_failure_after_the_token_leaves_nothing(
    tmp_path: Path, vendor_key: Ed25519PrivateKey
) -> None:
    twice = [CREDENTIALS[0], CREDENTIALS[0]]
    with pytest.raises(KeyExists):
        provision(DataDir(tmp_path / "box"), BoxSpec(exchange_url=URL), vendor_key, PIN, twice)
    assert list(tmp_path.iterdir()) == []


def test_a_provisioned_box_is_refused(tmp_path: Path, vendor_key: Ed25519PrivateKey) -> None:
    data = DataDir(tmp_path / "box")
    provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, [])
    license_before = data.license.read_bytes()
    with pytest.raises(ProvisioningError, match="already provisioned"):
        provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, [])
    assert data.license.read_bytes() == license_before


def test_a_foreign_directory_is_refused(tmp_path: Path, vendor_key: Ed25519PrivateKey) -> None:
    data = DataDir(tmp_path / "box")
    data.root.mkdir()
    (data.root / "notes.txt").write_text("mine")
    with pytest.raises(ProvisioningError, match="not empty but holds no license; move it away"):
        provision(data, BoxSpec(exchange_url=URL), vendor_key, PIN, [])
    assert [p.name for p in data.root.iterdir()] == ["notes.txt"]


def test_the_secret_is_not_shown_by_repr() -> None:
    assert "secret-one" not in repr(CREDENTIALS[0])
