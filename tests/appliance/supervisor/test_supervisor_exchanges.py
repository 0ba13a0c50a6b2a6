"""The supervisor's exchange-account and pair ops, with a real signer on a SoftHSM2 token and
real ccxt against the simulator over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from appliance.datadir import DataDir
from appliance.exchanges.adapter import connect
from appliance.ipc import IpcError
from appliance.license import TIERS
from appliance.store import appliance_db
from appliance.store.database import open_writer
from appliance.supervisor.exchange_ops import ExchangeOps
from appliance.supervisor.pair_ops import PairOps
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import init_token, use_config
from provisioning.const import RISK_LIMITS
from tests.appliance.bot.conftest import post
from tests.appliance.supervisor.test_supervisor_config import Bots
from tests.conftest import RunningSimulator
from tests.hsm.signer_bed import start_signer, stop, wait_until_serving

PIN = "exchange-ops-pin"
ASSET = "MTS"


@pytest.fixture
def signer(tmp_path: Path) -> Iterator[SignerClient]:
    """Run a signer on an empty token; this test's uid is its admin, as the supervisor is."""
    data = DataDir(tmp_path / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, "exchange-ops-so-pin", PIN)
    use_config(data)
    process = start_signer(data, PIN, tmp_path / "signer.log")
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        yield client
    finally:
        client.close()
        stop(process)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    db = open_writer(tmp_path / "appliance.db")
    appliance_db.create_schema(db)
    appliance_db.put_setting(db, "asset", ASSET)
    for bot in ("bot-1", "bot-2"):
        db.table("bots").insert({"name": bot, "uid": 1, "risk": json.dumps(RISK_LIMITS)})
    return db


class Box:
    """The account and pair ops as the supervisor makes them: one lock for both."""

    def __init__(self, db: sqlite_utils.Database, signer: SignerClient,
                 bots: Bots | None = None, tier: str = "starter") -> None:
        setup = asyncio.Lock()
        self.accounts = ExchangeOps(db, signer, TIERS[tier], ASSET, lambda bot: os.getuid(),
                                    os.getuid(), setup)
        self.pairs = PairOps(db, (bots or Bots(set())).ask, ASSET, setup)


def ops(db: sqlite_utils.Database, signer: SignerClient, bots: Bots | None = None,
        tier: str = "starter") -> Box:
    return Box(db, signer, bots, tier)


def open_account(simulator: RunningSimulator, name: str, **options: Any) -> dict[str, Any]:
    """Open a simulator account as an owner opens one at an exchange: key and secret."""
    reply: dict[str, Any] = post(f"{simulator.url}/sim/accounts", {
        "name": name, "balances": {ASSET: "1000", "USDT": "10000"}, **options})
    return reply


def add_args(simulator: RunningSimulator, account: dict[str, Any], **extra: Any
             ) -> dict[str, Any]:
    return {"name": "sim", "exchange": "simulator", "api_url": simulator.url, "bot": "bot-1",
            "kind": "hmac", "actor": "owner", "fingerprint": "f" * 64,
            "credentials": {"apiKey": account["apiKey"], "secret": account["secretKey"]},
            **extra}


def labels(signer: SignerClient) -> set[str]:
    return {key.label for key in signer.list_keys()}


async def test_an_account_is_tested_its_secret_goes_into_the_token_and_its_bot_can_trade(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    account = open_account(simulator, "owner-1")
    tested = await ops(db, signer).accounts.exchange_test(add_args(simulator, account))
    assert tested["markets"] > 0 and tested["balances"][ASSET] == "1000"
    assert tested["permissions"] == {"reported": True, "withdraw": False}
    assert f"{ASSET}/USDT" in tested["asset_markets"]
    assert labels(signer) == set(), "a test keeps no key"

    added = await ops(db, signer).accounts.exchange_add(add_args(simulator, account))
    assert added == {"name": "sim", "bot": "bot-1", "exchange": "binance", "kind": "hmac",
                     "label": "bot-1.sim.hmac"}
    assert labels(signer) == {"bot-1.sim.hmac"}
    (key,) = appliance_db.exchange_keys(db, "bot-1")
    assert (key.api_key, key.label) == (account["apiKey"], "bot-1.sim.hmac")
    client = connect(appliance_db.exchanges(db)["sim"], key, signer, streams=False)
    try:
        assert (await client.fetch_balance())["total"][ASSET] == 1000
    finally:
        await client.close()
    secret = account["secretKey"].encode()
    for path in tmp_path.glob("appliance.db*"):
        assert secret not in path.read_bytes(), path
    assert account["secretKey"] not in caplog.text + json.dumps([tested, added])


async def test_a_key_that_can_withdraw_is_refused_and_nothing_is_kept(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    account = open_account(simulator, "owner-2", enable_withdrawals=True)
    for op in (ops(db, signer).accounts.exchange_test, ops(db, signer).accounts.exchange_add):
        with pytest.raises(IpcError) as refused:
            await op(add_args(simulator, account))
        assert refused.value.code == "withdraw_enabled"
        assert "trade-only key" in refused.value.message
        assert account["secretKey"] not in refused.value.message
    assert labels(signer) == set()
    assert appliance_db.exchanges(db) == {} and appliance_db.exchange_keys(db) == []


async def test_a_wrong_secret_is_refused_without_repeating_it(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    account = {**open_account(simulator, "owner-3"), "secretKey": "not-the-secret-" + "x" * 40}
    with pytest.raises(IpcError) as refused:
        await ops(db, signer).accounts.exchange_add(add_args(simulator, account))
    assert refused.value.code == "connection_failed"
    assert "not-the-secret" not in refused.value.message
    assert labels(signer) == set() and appliance_db.exchange_keys(db) == []


@pytest.mark.parametrize(("change", "code"), [
    ({"exchange": "kraken-of-nowhere"}, "bad_args"),
    ({"exchange": "bybit"}, "not_supported"),
    ({"name": "Bad Name"}, "bad_args"),
    ({"bot": "bot-9"}, "not_found"),
    ({"credentials": {"apiKey": "k"}}, "bad_args"),
    ({"credentials": {"apiKey": "k", "secret": "s", "password": "p"}}, "bad_args"),
    ({"api_url": "file:///etc/passwd"}, "bad_args"),
    ({"kind": "rsa"}, "bad_args"),
])
async def test_bad_arguments_are_refused_before_the_token_is_touched(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
    change: dict[str, Any], code: str,
) -> None:
    account = open_account(simulator, "owner-4")
    with pytest.raises(IpcError) as refused:
        await ops(db, signer).accounts.exchange_add({**add_args(simulator, account), **change})
    assert refused.value.code == code
    assert labels(signer) == set() and appliance_db.exchange_keys(db) == []


async def test_the_license_tier_caps_the_exchanges(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    await ops(db, signer).accounts.exchange_add(add_args(simulator, open_account(simulator, "a")))
    # Another bot's account on the same exchange is not another exchange.
    await ops(db, signer).accounts.exchange_add(
        add_args(simulator, open_account(simulator, "b"), bot="bot-2"))
    with pytest.raises(IpcError) as refused:
        await ops(db, signer).accounts.exchange_add(
            add_args(simulator, open_account(simulator, "c"), name="second"))
    assert refused.value.code == "limit"
    assert "license allows 1" in refused.value.message
    assert sorted(appliance_db.exchanges(db)) == ["sim"]


async def test_an_ed25519_key_is_made_on_the_token_and_only_its_public_key_leaves(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    open_account(simulator, "owner-5")
    made = await ops(db, signer).accounts.exchange_keygen({"name": "sim", "bot": "bot-1"})
    assert made["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    registered = post(f"{simulator.url}/sim/accounts/owner-5/ed25519-keys",
                      {"ed25519_public_key": made["public_key_pem"]})
    added = await ops(db, signer).accounts.exchange_add({
        **add_args(simulator, {"apiKey": "", "secretKey": ""}), "kind": "ed25519",
        "credentials": {"apiKey": registered["apiKey"]}})
    assert added["label"] == "bot-1.sim.ed25519"
    (key,) = appliance_db.exchange_keys(db, "bot-1")
    assert (key.kind, key.api_key) == ("ed25519", registered["apiKey"])


async def test_an_account_is_removed_only_when_no_pair_uses_it_and_its_keys_are_destroyed(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    bots = Bots({"bot-1"})
    box = ops(db, signer, bots)
    await box.accounts.exchange_add(add_args(simulator, open_account(simulator, "owner-7")))
    who = {"actor": "owner", "fingerprint": "f" * 64}
    await box.pairs.pair_add({"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT", **who})
    with pytest.raises(IpcError) as refused:
        await box.accounts.exchange_remove({"name": "sim", "bot": "bot-1", **who})
    assert refused.value.code == "conflict" and "MTS/USDT" in refused.value.message
    assert labels(signer) == {"bot-1.sim.hmac"}

    removed = await box.pairs.pair_remove({"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT",
                                     **who})
    assert removed["symbol"] == "MTS/USDT"
    assert bots.handed[-1] == ("bot-1", "remove_pair", {"symbol": "MTS/USDT"})
    assert appliance_db.pairs(db) == []
    gone = await box.accounts.exchange_remove({"name": "sim", "bot": "bot-1", **who})
    assert gone["destroyed"] == ["bot-1.sim.hmac"]
    assert labels(signer) == set()
    assert appliance_db.exchanges(db) == {} and appliance_db.exchange_keys(db) == []
