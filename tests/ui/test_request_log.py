"""The exchange requests on a bot's card, as a simulated visitor sees them."""

from __future__ import annotations

import time

from nicegui import ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from tests.ui.panel_box import ControlServer, request_line, table_rows
from ui.api_log import ApiSummary
from ui.components.request_log import summary_text

COLUMNS = ("method", "path", "status", "weight", "ms", "error")


async def test_a_card_shows_the_last_minute_and_the_newest_requests(
    user: User, control: ControlServer
) -> None:
    await user.open("/")

    with user.scope(marker="bot-1"):
        await user.should_see("Exchange requests")
        await user.should_see("3 requests in the last minute · 2 failed · used weight 67 · last at")
    rows = table_rows(user, "bot-1-exchange-requests")
    assert [tuple(row[key] for key in COLUMNS) for row in rows] == [
        ("DELETE", "/api/v3/order", "—", "—", "500.0", "RequestTimeout"),
        ("POST", "/api/v3/order", "400", "67", "2.1", ""),
        ("GET", "/api/v3/openOrders", "200", "66", "1.6", ""),
        ("GET", "/api/v3/exchangeInfo", "200", "20", "32.5", ""),
    ]


async def test_a_bot_without_requests_says_so_instead_of_a_table(
    user: User, control: ControlServer
) -> None:
    await user.open("/")

    with user.scope(marker="bot-2"):
        await user.should_see("no exchange requests yet")
    await user.should_not_see(kind=ui.table, marker="bot-2-exchange-requests")
    await user.should_see(kind=ui.table, marker="bot-1-exchange-requests")


async def test_new_requests_appear_without_reloading(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/")
    await user.should_see("no exchange requests yet")

    datadir.bot("bot-2").mkdir()
    datadir.api_log("bot-2").write_bytes(
        request_line(time.time(), "GET", "/api/v3/depth", 200, 5, 0.8)
    )

    with user.scope(marker="bot-2"):
        await user.should_see("1 request in the last minute · 0 failed · used weight 5",
                              retries=100)
    assert [row["path"] for row in table_rows(user, "bot-2-exchange-requests")] == ["/api/v3/depth"]


def test_a_summary_leaves_out_a_weight_and_a_time_it_does_not_have() -> None:
    assert summary_text(ApiSummary()) == "0 requests in the last minute · 0 failed"
