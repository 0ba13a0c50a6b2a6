"""A bot's card: the badge saying whether its event log's chain holds, and where it breaks."""

from __future__ import annotations

from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.store.chain import Breach
from appliance.store.database import open_writer
from appliance.store.verify import NOT_CHAINED, Verdict
from tests.ui.panel_box import ControlServer
from ui.components.bot_card import chain_look


def test_the_badge_says_verified_verifying_or_the_row_where_the_chain_breaks() -> None:
    assert chain_look(Verdict(True, 10)) == ("chain verified", "positive")
    assert chain_look(Verdict(True, 10, done=False)) == ("verifying chain", "grey-7")
    assert chain_look(Verdict(False, 4, 5, Breach.DELETED, "row 5 is missing")) == (
        "chain broken at row 5", "negative")
    assert chain_look(Verdict(False, 0, reason=NOT_CHAINED)) == ("chain not verified", "warning")


async def test_a_card_shows_its_logs_chain_and_a_row_that_breaks_it_without_reloading(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/")
    with user.scope(marker="bot-1"):
        await user.should_see("chain verified")
    with user.scope(marker="bot-2"):
        await user.should_not_see("chain")  # no log yet

    db = open_writer(datadir.events_db("bot-1"))
    seq = db.execute("INSERT INTO events (ts, kind, symbol, data) VALUES "
                     "(1.0, 'state', 'MTS/USDT', '{\"state\": \"active\"}')").lastrowid
    db.close()

    with user.scope(marker="bot-1"):
        await user.should_see(f"chain broken at row {seq}", retries=100)
