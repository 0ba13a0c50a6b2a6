"""Reading a Telegram command, and /status's answer, from the box as the last poll read it."""

from __future__ import annotations

import pytest

from appliance.alerts.commands import Command, CommandError, parse_command, status_text
from appliance.alerts.validate import AlertSettings
from appliance.alerts.watch import BoxView
from appliance.risk.const import SymbolState
from appliance.store.appliance_db import Pair, ProcessStatus
from ui.ledger_tail import SymbolStatus

ME = "mmbox_box_bot"


@pytest.mark.parametrize(("text", "command"), [
    ("/status", Command("status")),
    (f"/status@{ME}", Command("status")),
    ("/STATUS", Command("status")),
    ("/pause", Command("pause")),
    ("/pause all", Command("pause")),
    ("/pause bot-1", Command("pause", "bot-1")),
    ("  /pause   bot-1 MTS/USDT ", Command("pause", "bot-1", "MTS/USDT")),
    ("/activate bot-2 MTS/BTC", Command("activate", "bot-2", "MTS/BTC")),
    ("/start", Command("help")),
    ("/help", Command("help")),
])
def test_commands_are_read_with_their_pairs(text: str, command: Command) -> None:
    assert parse_command(text, ME) == command


@pytest.mark.parametrize("text", ["hello", "", "pause bot-1", "/status@another_bot"])
def test_plain_text_and_commands_for_another_bot_are_no_command(text: str) -> None:
    assert parse_command(text, ME) is None


@pytest.mark.parametrize("text", ["/activate", "/activate bot-1", "/pause a b c",
                                  "/status now", "/withdraw all"])
def test_a_wrong_command_is_answered_with_how_to_ask(text: str) -> None:
    with pytest.raises(CommandError, match="/pause bot-1 MTS/USDT: pause one pair"):
        parse_command(text, ME)


def test_status_shows_each_bot_its_pairs_and_why_they_are_not_trading() -> None:
    view = BoxView(
        AlertSettings(),
        {"bot-1": ProcessStatus("bot-1", "RUNNING", 10, 0, 0.0),
         "bot-2": ProcessStatus("bot-2", "HALTED", None, 5, 0.0, "exited with 1")},
        ("bot-1", "bot-2"),
        (Pair("bot-1", "sim", "MTS/USDT", "spread"),
         Pair("bot-1", "sim", "MTS/BTC", "grid", shadow=True),
         Pair("bot-2", "okx", "MTS/USDT", "ladder")),
        {("bot-1", "MTS/USDT"): SymbolStatus(SymbolState.ACTIVE, "operator: activate"),
         ("bot-2", "MTS/USDT"): SymbolStatus(SymbolState.HALTED, "drawdown 12%")})
    assert status_text(view) == (
        "bot-1: RUNNING\n"
        "  MTS/USDT on sim: ACTIVE: operator: activate\n"
        "  MTS/BTC on sim shadow: PAUSED\n"
        "bot-2: HALTED (exited with 1)\n"
        "  MTS/USDT on okx: HALTED: drawdown 12%")


def test_status_of_an_empty_box_says_so() -> None:
    assert status_text(BoxView()) == "no bot is set up on this box yet"
