"""The supervisor's pair ops: the asset lock, the market's minimum order, safe defaults in
shadow mode, and a pair handed to its running bot; with a real signer and real ccxt against the
simulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import sqlite_utils

from appliance.config import history
from appliance.ipc import IpcError
from appliance.store import appliance_db
from hsm.client import SignerClient
from tests.appliance.supervisor.test_supervisor_config import Bots
from tests.appliance.supervisor.test_supervisor_exchanges import (
    add_args,
    db,
    open_account,
    ops,
    signer,
)
from tests.conftest import RunningSimulator

__all__ = ["db", "signer"]  # the fixtures, shared with the account ops' tests


async def test_pairs_are_of_the_licensed_asset_exist_and_meet_the_minimum_order(
    db: sqlite_utils.Database, signer: SignerClient, simulator: RunningSimulator,
) -> None:
    bots = Bots({"bot-1"})
    box = ops(db, signer, bots)
    await box.accounts.exchange_add(add_args(simulator, open_account(simulator, "owner-6")))
    base = {"bot": "bot-1", "exchange": "sim", "actor": "owner", "fingerprint": "f" * 64}
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"symbol": "BTC/USDT"}, "asset_locked"),
        ({"symbol": "MTS/NOPE"}, "not_found"),
        ({"symbol": "mts-usdt"}, "bad_args"),
        ({"symbol": "MTS/USDT", "exchange": "elsewhere"}, "not_found"),
        ({"symbol": "MTS/USDT", "settings": {"strategy": {"kind": "spread", "params": {
            "half_spread_bps": 10, "order_size": "0.001", "max_inventory": "10"}}}}, "bad_args"),
    ]
    for change, code in refusals:
        with pytest.raises(IpcError) as refused:
            await box.pairs.pair_add({**base, **change})
        assert refused.value.code == code, (change, refused.value.message)
    assert "strategy.params.order_size" in refused.value.message
    assert appliance_db.pairs(db) == [] and bots.handed == []

    added = await box.pairs.pair_add({**base, "symbol": "MTS/USDT"})
    assert added["started"] and bots.handed == [
        ("bot-1", "add_pair", {"exchange": "sim", "symbol": "MTS/USDT"})]
    (pair,) = appliance_db.pairs(db, "bot-1")
    assert pair.shadow and pair.strategy == "spread", "a new pair starts in shadow mode"
    (version,) = [v for v in history.versions(db, history.pair_target("bot-1", "sim",
                                                                       "MTS/USDT"))
                  if v.actor == "owner"]
    assert version.id == added["version"]
    with pytest.raises(IpcError) as twice:
        await box.pairs.pair_add({**base, "symbol": "MTS/USDT"})
    assert twice.value.code == "conflict"
