"""The supervisor's config ops: validate, store with history, hand over to a running bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from appliance.config import history
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.store.database import open_writer
from appliance.supervisor.config_ops import ConfigOps
from provisioning.const import RISK_LIMITS, SPREAD_PARAMS

SETTINGS: dict[str, Any] = {"strategy": {"kind": "spread", "params": SPREAD_PARAMS}}


class Bots:
    """What the bots were handed; a bot not in `running` answers as a stopped bot does."""

    def __init__(self, running: set[str]) -> None:
        self.running = running
        self.handed: list[tuple[str, str, dict[str, Any]]] = []

    async def ask(self, bot: str, op: str, args: dict[str, Any]) -> Any:
        if bot not in self.running:
            raise IpcError("not_running", f"{bot} is stopped; start it first")
        self.handed.append((bot, op, args))
        return {}


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    db = open_writer(tmp_path / "appliance.db")
    appliance_db.create_schema(db)
    db.table("exchanges").insert({"name": "sim", "ccxt_id": "binance"})
    db.table("bots").insert({"name": "bot-1", "uid": 1, "risk": json.dumps(RISK_LIMITS)})
    db.table("pairs").insert({"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT",
                              "strategy": "spread", "params": json.dumps(SPREAD_PARAMS)})
    return db


def snapshot(db: sqlite_utils.Database) -> list[Any]:
    return [db.execute(f"SELECT * FROM {t}").fetchall()
            for t in ("pairs", "bots", "config_history")]


def wider(half_spread_bps: int) -> dict[str, Any]:
    return {"strategy": {"kind": "spread",
                         "params": {**SPREAD_PARAMS, "half_spread_bps": half_spread_bps}}}


async def test_a_change_is_stored_with_its_version_and_handed_to_the_running_bot(
    db: sqlite_utils.Database,
) -> None:
    bots = Bots({"bot-1"})
    ops = ConfigOps(db, bots.ask).table()
    answer = await ops["pair_configure"]({"bot": "bot-1", "exchange": "sim",
                                          "symbol": "MTS/USDT", "settings": wider(25),
                                          "actor": "alice", "fingerprint": "sha256:a"})
    assert answer["applied"] is True
    assert answer["changes"] == [{"path": "strategy.params.half_spread_bps",
                                  "before": 10, "after": 25}]
    (pair,) = appliance_db.pairs(db, "bot-1")
    assert pair.params["half_spread_bps"] == 25
    ((bot, op, args),) = bots.handed
    assert (bot, op, args["symbol"]) == ("bot-1", "configure", "MTS/USDT")
    versions = history.versions(db, history.pair_target("bot-1", "sim", "MTS/USDT"))
    assert [v.actor for v in versions] == [history.BEFORE_HISTORY, "alice"]
    same = await ops["pair_configure"]({"bot": "bot-1", "exchange": "sim",
                                        "symbol": "MTS/USDT", "settings": wider(25)})
    assert same["changes"] == [] and len(bots.handed) == 1


async def test_a_stopped_bot_reads_the_change_at_its_next_start(
    db: sqlite_utils.Database,
) -> None:
    ops = ConfigOps(db, Bots(set()).ask).table()
    answer = await ops["pair_configure"]({"bot": "bot-1", "exchange": "sim",
                                          "symbol": "MTS/USDT", "settings": wider(30)})
    assert answer["applied"] is False
    assert appliance_db.pairs(db, "bot-1")[0].params["half_spread_bps"] == 30


@pytest.mark.parametrize(("op", "args", "code", "says"), [
    ("pair_configure", {"settings": wider(5000)}, "bad_args",
     "half_spread_bps: Input should be less than or equal to 1000"),
    ("pair_configure", {"settings": {"strategy": {"kind": "nope"}}}, "bad_args", "strategy"),
    ("pair_configure", {"symbol": "BTC/USDT", "settings": wider(20)}, "not_found",
     "no pair BTC/USDT"),
    ("risk_configure", {"risk": {**RISK_LIMITS, "max_drawdown": "-1"}}, "bad_args",
     "max_drawdown: Input should be greater than 0"),
    ("risk_configure", {"bot": "bot-9", "risk": RISK_LIMITS}, "not_found", "bot-9"),
    ("config_restore", {"id": 77}, "not_found", "no version 77"),
    ("config_restore", {"id": "1"}, "bad_args", "'id'"),
])
async def test_a_refusal_says_what_is_wrong_and_writes_nothing(
    db: sqlite_utils.Database, op: str, args: dict[str, Any], code: str, says: str,
) -> None:
    bots = Bots({"bot-1"})
    before = snapshot(db)
    with pytest.raises(IpcError) as refused:
        await ConfigOps(db, bots.ask).table()[op](
            {"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT", **args})
    assert refused.value.code == code and says in refused.value.message
    assert snapshot(db) == before and bots.handed == []


async def test_restoring_a_version_sets_it_again_as_a_new_version(
    db: sqlite_utils.Database,
) -> None:
    bots = Bots({"bot-1"})
    ops = ConfigOps(db, bots.ask).table()
    pair = {"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT"}
    await ops["pair_configure"]({**pair, "settings": wider(25), "actor": "alice"})
    await ops["pair_configure"]({**pair, "settings": wider(40), "actor": "alice"})
    first = history.versions(db, history.pair_target("bot-1", "sim", "MTS/USDT"))[1]
    answer = await ops["config_restore"]({"id": first.id, "actor": "bob"})
    assert answer["changes"] == [{"path": "strategy.params.half_spread_bps",
                                  "before": 40, "after": 25}]
    assert appliance_db.pairs(db, "bot-1")[0].params["half_spread_bps"] == 25
    risk = await ops["risk_configure"]({"bot": "bot-1",
                                        "risk": {**RISK_LIMITS, "max_drawdown": "250"}})
    assert risk["changes"] == [{"path": "max_drawdown", "before": "500", "after": "250"}]
    assert bots.handed[-1][1] == "configure_risk"
