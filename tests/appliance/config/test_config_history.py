"""The history of what the owner configured: versions, their differences, the first one kept."""

from __future__ import annotations

from pathlib import Path

from appliance.config import history
from appliance.store.appliance_db import create_schema
from appliance.store.database import open_writer


def test_the_first_change_keeps_the_version_it_replaced_and_diffs_name_each_setting(
    tmp_path: Path,
) -> None:
    db = open_writer(tmp_path / "appliance.db")
    create_schema(db)
    target = history.pair_target("bot-1", "sim", "MTS/USDT")
    first = {"strategy": {"kind": "spread", "params": {"half_spread_bps": 10}}, "shadow": False}
    second = {"strategy": {"kind": "spread", "params": {"half_spread_bps": 25}}, "shadow": True}
    version = history.record(db, 100.0, "alice", "sha256:a", target, second, first)
    (kept, new) = history.versions(db, target)
    assert (kept.actor, kept.settings, new.actor, new.id) == (
        history.BEFORE_HISTORY, first, "alice", version)
    history.record(db, 200.0, "bob", "sha256:b", target, first, second)
    assert [v.actor for v in history.versions(db, target)] == [
        history.BEFORE_HISTORY, "alice", "bob"]
    assert history.diff(first, second) == [
        history.Change("shadow", False, True),
        history.Change("strategy.params.half_spread_bps", 10, 25),
    ]
    assert history.version(db, version) == new and history.version(db, 999) is None
    db.close()
