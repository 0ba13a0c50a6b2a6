"""The settings routes: read by anyone logged in, changed by owners, validated field by field."""

from __future__ import annotations

import httpx
from nicegui import app
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import open_reader
from tests.ui.conftest import log_in
from tests.ui.panel_box import CONTROL_TOKEN, OPERATOR, ControlServer, activity_records
from ui.auth.guard import SESSION_COOKIE

SETTINGS = "/api/bots/bot-1/pairs/sim/MTS/USDT/settings"
SPREAD = {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000"}


def stored_pairs(datadir: DataDir) -> list[appliance_db.Pair]:
    db = open_reader(datadir.appliance_db)
    try:
        return appliance_db.pairs(db)
    finally:
        db.close()


async def test_an_owner_changes_a_pair_and_the_history_shows_who_changed_what(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    listed = (await user.http_client.get("/api/bots/bot-1/pairs")).json()
    assert listed["pairs"][0]["settings"] is None and "half_spread_bps" in listed["pairs"][0][
        "problem"], "the test box's bot-1 pair is stored without parameters"
    body = {"strategy": {"kind": "spread", "params": {**SPREAD, "half_spread_bps": 25}}}
    changed = await user.http_client.put(SETTINGS, json=body)
    assert changed.status_code == 200, changed.text
    answer = changed.json()
    assert answer["applied"] is False  # the test box's bots are not running
    assert {"path": "strategy.params.half_spread_bps", "before": None, "after": 25} in answer[
        "changes"]
    (pair, _) = stored_pairs(datadir)
    assert pair.params["half_spread_bps"] == 25
    versions = (await user.http_client.get(SETTINGS.replace("settings", "history"))).json()[
        "versions"]
    assert [v["actor"] for v in versions] == ["as provisioned", "alice"]
    restored = await user.http_client.post(f"/api/config/versions/{versions[0]['id']}/restore")
    assert restored.status_code == 409, "the provisioned version held no valid settings"
    assert [r.action for r in activity_records(datadir)] == ["pair_configure", "config_restore"]


async def test_a_bad_value_is_refused_with_its_field_and_range_and_changes_nothing(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    before = stored_pairs(datadir)
    for body, says in (
        ({"strategy": {"kind": "spread", "params": {**SPREAD, "half_spread_bps": 5000}}},
         "half_spread_bps: Input should be less than or equal to 1000"),
        ({"strategy": {"kind": "spread", "params": SPREAD}, "tolerance": {"price_ticks": -2}},
         "tolerance.price_ticks"),
        ({"strategy": {"kind": "hedge", "params": {}}}, "strategy"),
    ):
        refused = await user.http_client.put(SETTINGS, json=body)
        assert refused.status_code == 422 and says in refused.json()["error"]["message"]
    junk = await user.http_client.put(SETTINGS, content=b"{nope",
                                      headers={"content-type": "application/json"})
    assert junk.status_code == 422
    risky = await user.http_client.put("/api/bots/bot-1/risk", json={"max_position": "-5"})
    assert risky.status_code == 422 and "max_position" in risky.json()["error"]["message"]
    assert stored_pairs(datadir) == before


async def test_operators_and_tokens_read_settings_but_only_owners_change_them(
    user: User, control: ControlServer,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    body = {"strategy": {"kind": "spread", "params": SPREAD}}
    assert (await user.http_client.get("/api/bots/bot-1/pairs")).status_code == 200
    assert (await user.http_client.put(SETTINGS, json=body)).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                                 headers={"authorization": f"Bearer {CONTROL_TOKEN.text}"}
                                 ) as script:
        assert (await script.get("/api/bots/bot-1/risk")).status_code == 200
        assert (await script.put(SETTINGS, json=body)).status_code == 403
