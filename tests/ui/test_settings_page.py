"""The Settings page as a simulated owner and operator use it.

The supervisor's side is the real one (`ConfigOps` on the box's appliance.db, its bots not
running), so what the page saves is what the box keeps.
"""

from __future__ import annotations

from nicegui import app, ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.store.appliance_db import Pair
from appliance.store.database import open_reader, open_writer
from tests.ui.conftest import log_in
from tests.ui.panel_box import OPERATOR, ControlServer, activity_records
from ui.auth.guard import SESSION_COOKIE, Identity
from ui.pages.settings import SettingsDesk

PAIR_CARD = "pair-bot-1-sim-MTS/USDT"
SPREAD = {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000"}


def stored_pair(datadir: DataDir) -> Pair:
    """Return bot-1's pair as appliance.db keeps it."""
    db = open_reader(datadir.appliance_db)
    try:
        (pair,) = appliance_db.pairs(db, "bot-1")
        return pair
    finally:
        db.close()


def enter(user: User, label: str, text: str) -> None:
    """Replace what the input labelled `label` of bot-1's pair card holds."""
    with user.scope(marker=PAIR_CARD):
        user.find(label).clear().type(text)


async def test_the_owner_completes_a_pair_stored_without_parameters_and_sees_the_version(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    await user.open("/settings")
    await user.should_see("The stored settings are not valid")
    enter(user, "Half Spread Bps", "25")
    enter(user, "Order Size", "20")
    enter(user, "Max Inventory", "2000")
    with user.scope(marker=PAIR_CARD):
        user.find("Save").click()

    await user.should_see("Saved as version 2 (the bot takes it when it next starts)")
    with user.scope(marker=PAIR_CARD):
        await user.should_see("strategy.params.half_spread_bps: — → 25.0")
        await user.should_not_see("The stored settings are not valid")
    pair = stored_pair(datadir)
    assert (pair.strategy, pair.params["half_spread_bps"], pair.params["order_size"]) == (
        "spread", 25.0, "20")
    (record,) = activity_records(datadir)
    assert (record.actor, record.action, record.outcome) == ("alice", "pair_configure", "ok")
    assert record.detail["target"] == "pair bot-1 sim MTS/USDT"
    assert "strategy.params.half_spread_bps" in record.detail["changed"]


async def test_a_version_that_can_no_longer_be_set_is_refused_and_nothing_changes(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    await control.access_ops()["pair_configure"]({
        "bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT", "actor": "alice",
        "settings": {"strategy": {"kind": "spread", "params": SPREAD}}})
    before = stored_pair(datadir)
    await user.open("/settings")
    with user.scope(marker=PAIR_CARD):
        await user.should_see("Version 1 · ")
        user.find("Restore this version").click()
    await user.should_see("Set version 1 again?")
    user.find("Restore version 1").click()
    await user.should_see("Version 1 was not restored: version 1 can no longer be set")
    assert stored_pair(datadir) == before
    assert [(r.action, r.outcome) for r in activity_records(datadir)] == [
        ("config_restore", "conflict")]


async def test_a_bad_value_is_shown_under_its_field_and_nothing_is_asked(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    before = stored_pair(datadir)
    await user.open("/settings")
    enter(user, "Half Spread Bps", "0")
    enter(user, "Order Size", "lots")
    with user.scope(marker=PAIR_CARD):
        user.find("Save").click()
        (half_spread,) = user.find(kind=ui.number, content="Half Spread Bps").elements
        (size,) = user.find(kind=ui.input, content="Order Size").elements
    await user.should_see("Input should be greater than 0")
    assert half_spread.error == "Input should be greater than 0"
    assert size.error == "Input should be a valid decimal"
    assert stored_pair(datadir) == before
    assert activity_records(datadir) == []


async def test_an_operator_sees_the_settings_read_only_and_cannot_change_them_anyway(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    await control.access_ops()["pair_configure"]({
        "bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT", "actor": "alice",
        "settings": {"strategy": {"kind": "spread", "params": SPREAD}}})
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    await user.open("/settings")
    await user.should_see("only an owner may change them")
    with user.scope(marker=PAIR_CARD):
        await user.should_see("Version 2 · ")
        (half_spread,) = user.find(kind=ui.number, content="Half Spread Bps").elements
    assert half_spread.value == 10
    inputs: list[ui.number | ui.input | ui.select | ui.switch] = [
        *user.find(kind=ui.number).elements, *user.find(kind=ui.input).elements,
        *user.find(kind=ui.select).elements, *user.find(kind=ui.switch).elements]
    assert inputs and not any(element.enabled for element in inputs)
    await user.should_not_see("Save")
    await user.should_not_see("Restore this version")

    identity = Identity(OPERATOR.name, OPERATOR.fingerprint, OPERATOR.role)
    desk = SettingsDesk(app.state.panel, identity, "127.0.0.1")
    try:
        await desk.restore(1)
    except IpcError as exc:
        assert exc.code == "forbidden"
    else:
        raise AssertionError("an operator's desk restored a version")
    assert [(r.actor, r.action, r.outcome) for r in activity_records(datadir)] == [
        ("bob", "config_restore", "refused")]


async def test_a_save_the_supervisor_refuses_is_a_red_notification_and_the_form_keeps_it(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    await user.open("/settings")
    enter(user, "Half Spread Bps", "25")
    enter(user, "Order Size", "20")
    enter(user, "Max Inventory", "2000")
    db = open_writer(datadir.appliance_db)
    appliance_db.remove_pair(db, "bot-1", "sim", "MTS/USDT")  # removed from another page
    db.close()
    with user.scope(marker=PAIR_CARD):
        user.find("Save").click()

    await user.should_see("Not saved: bot-1 has no pair MTS/USDT on sim")
    with user.scope(marker=PAIR_CARD):
        (half_spread,) = user.find(kind=ui.number, content="Half Spread Bps").elements
        await user.should_not_see("Saved as version")
    assert half_spread.value == 25
    assert [(r.action, r.outcome) for r in activity_records(datadir)] == [
        ("pair_configure", "not_found")]


async def test_the_dashboard_and_the_access_page_link_to_the_settings(
    user: User, control: ControlServer,
) -> None:
    for path in ("/", "/access"):
        await user.open(path)
        (link,) = user.find(kind=ui.link, content="Settings").elements
        assert link.props["href"] == "/settings"
