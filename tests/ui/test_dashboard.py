"""The dashboard, as a simulated visitor sees and uses it."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from appliance.store.database import open_writer
from tests.ui.panel_box import OWNER, ControlServer, table_rows, write_bot_2_events


async def test_each_bot_has_a_card_with_its_state_and_ledger(
    user: User, control: ControlServer
) -> None:
    await user.open("/")

    await user.should_see("asset MTS")
    with user.scope(marker="bot-1"):
        await user.should_see("RUNNING")
        await user.should_see("MTS/USDT")
        await user.should_see("on sim · spread")
    with user.scope(marker="bot-2"):
        await user.should_see("STOPPED")
        await user.should_see("no events yet")
    (position,) = table_rows(user, "bot-1-positions")
    assert (position["symbol"], position["base"], position["average_cost"], position["mark"],
            position["unrealized"], position["fees"]) == (
        "MTS/USDT", "59.9", "0.99", "1.02", "1.797", "0.1394"
    )
    orders = table_rows(user, "bot-1-open-orders")
    assert [(r["side"], r["price"], r["filled"]) for r in orders] == [
        ("sell", "1.010", "40"), ("buy", "0.985", "0"),
    ]
    assert [r["price"] for r in table_rows(user, "bot-1-recent-fills")] == ["1.01", "0.99"]


async def test_new_events_appear_without_reloading(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/")
    await user.should_see("no events yet")

    write_bot_2_events(datadir)

    await user.should_not_see("no events yet", retries=100)
    assert table_rows(user, "bot-2-positions")[0]["base"] == "1,000"


def enabled_buttons(user: User, line: str) -> list[str]:
    """Return the texts of the enabled buttons on a pair's line."""
    with user.scope(marker=line):
        buttons = user.find(kind=ui.button).elements
    return sorted(button.text for button in buttons if button.enabled)


async def test_each_pair_shows_its_state_and_offers_what_it_allows(
    user: User, control: ControlServer
) -> None:
    await user.open("/")

    with user.scope(marker="bot-1-MTS/USDT"):
        await user.should_see("ACTIVE")
        await user.should_see("operator")
    with user.scope(marker="bot-2-MTS/BTC"):
        await user.should_see("PAUSED")
    assert enabled_buttons(user, "bot-1-MTS/USDT") == ["Pause"]
    assert enabled_buttons(user, "bot-2-MTS/BTC") == []  # bot-2 is stopped


@pytest.mark.parametrize(("trip", "button", "action", "after"), [
    (SymbolState.PAUSED, "Activate", "activate", "ACTIVE"),
    (None, "Pause", "pause", "PAUSED"),
    (SymbolState.HALTED, "Clear halt", "clear_halt", "PAUSED"),
])
async def test_a_pair_button_asks_the_supervisor_and_the_new_state_shows(
    user: User, control: ControlServer, trip: SymbolState | None, button: str, action: str,
    after: str,
) -> None:
    if trip is not None:
        control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", trip)
    await user.open("/")

    assert enabled_buttons(user, "bot-1-MTS/USDT") == [button]
    with user.scope(marker="bot-1-MTS/USDT"):
        user.find(button).click()

    await user.should_see(f"bot-1 MTS/USDT is now {after}")
    assert control.calls == [
        ("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT", "action": action,
                           "actor": OWNER.name, "fingerprint": OWNER.fingerprint})
    ]
    with user.scope(marker="bot-1-MTS/USDT"):
        await user.should_see(f"operator: {action}", retries=100)
        await user.should_see(after)


async def test_a_halted_pair_shows_the_trip_and_only_clear_halt(
    user: User, control: ControlServer
) -> None:
    control.trip("bot-1", TripKind.DRAWDOWN, "drawdown 5.2% over the 5% limit",
                 SymbolState.HALTED)
    await user.open("/")

    with user.scope(marker="bot-1-MTS/USDT"):
        await user.should_see("HALTED")
        await user.should_see("drawdown 5.2% over the 5% limit")
        await user.should_see("last trip: drawdown")
    assert enabled_buttons(user, "bot-1-MTS/USDT") == ["Clear halt"]


async def test_a_refused_pair_action_shows_the_supervisors_message(
    user: User, control: ControlServer
) -> None:
    control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    await user.open("/")
    control.states["MTS/USDT"] = SymbolState.HALTED  # tripped again before the page caught up

    with user.scope(marker="bot-1-MTS/USDT"):
        user.find("Activate").click()

    await user.should_see("bot-1 MTS/USDT: MTS/USDT is HALTED; clear the halt first")
    assert control.calls == []


async def test_stop_asks_the_supervisor(user: User, control: ControlServer) -> None:
    await user.open("/")

    with user.scope(marker="bot-1"):
        user.find("Stop").click()

    await user.should_see("bot-1: the supervisor will stop it")
    assert control.calls == [("stop_bot", {"bot": "bot-1"})]


async def test_a_refusal_is_shown_as_a_notification(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    db = open_writer(datadir.appliance_db)
    db.table("bots").insert({"name": "bot-3", "uid": 1003, "enabled": 0})
    db.close()
    await user.open("/")

    with user.scope(marker="bot-3"):
        user.find("Start").click()

    await user.should_see("bot-3: no bot named 'bot-3'")
    assert control.calls == []


async def test_an_unreachable_supervisor_shows_a_banner(user: User) -> None:
    await user.open("/")

    await user.should_see("The supervisor is not answering")
    await user.should_see("RUNNING")
