"""The Logs page in a real Chromium, served by `python -m ui` over HTTPS as on the box.

The box has traded: bot-1 has placed 65 orders, bot-2 a few; their requests, their processes'
logs, the signer's audit log and the owner's login are all there. The owner filters to bot-1's
orders, pages back, downloads them as CSV and tails the log as bot-1 writes to it. Each step's
screenshot is kept in build/artifacts/browser/ as logs-*.png.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from appliance.datadir import DataDir
from appliance.store.events import EventLog, OrderAcked, OrderSent
from appliance.vocabulary import Side
from tests.ui.panel_box import ControlServer, write_bot_2_events
from tests.ui.panel_server import serving_panel
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_dashboard_browser import open_dashboard, shot
from tests.ui.test_logs import PROCESS_FORMAT

pytestmark = pytest.mark.browser

MORE_ORDERS = 55
"""Orders bot-1 placed beyond the fixture's day: sent and acked, 110 entries more."""
BOT_1_ORDERS = 10 + 2 * MORE_ORDERS
"""The entries of bot-1's orders: more than a page of 100."""


def trade_more(datadir: DataDir) -> None:
    """Write more of bot-1's orders and lines of its process log, as the bot does."""
    log = EventLog(datadir.events_db("bot-1"))
    for n in range(MORE_ORDERS):
        client_id = f"mmbox-bot-1-{100 + n}"
        log.append("MTS/USDT", OrderSent(client_id, Side.BUY, Decimal("0.98"), Decimal(20)))
        log.append("MTS/USDT", OrderAcked(client_id, f"o-{100 + n}"))
    log.close()
    datadir.logs.mkdir(parents=True, exist_ok=True)
    process = logging.Logger("appliance.bot.runtime")
    handler = logging.FileHandler(datadir.log("bot-1"))
    handler.setFormatter(logging.Formatter(PROCESS_FORMAT))
    process.addHandler(handler)
    process.info("MTS/USDT: started quoting")
    process.warning("MTS/USDT: the book is 3 s old")
    handler.close()


@pytest.fixture
async def panel_url(datadir: DataDir, signer: KeyedSigner, control: ControlServer,
                    tmp_path: Path) -> AsyncIterator[str]:
    """Serve the panel of a development box whose two bots have traded; yield its URL."""
    write_bot_2_events(datadir)
    trade_more(datadir)
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


async def rows(page: Page) -> list[list[str]]:
    """Return the cells of every row of the entries table."""
    body = page.locator("table tbody tr")
    return [await body.nth(n).locator("td").all_inner_texts() for n in range(await body.count())]


async def choose(page: Page, field: str, *options: str) -> None:
    """Pick options of one of the filters' selects, as a person clicks them."""
    await page.get_by_label(field).click()
    for option in options:
        await page.get_by_role("option", name=option, exact=True).click()
    await page.keyboard.press("Escape")
    await expect(page.locator(".q-menu")).to_have_count(0)


async def test_the_owner_filters_to_a_bots_orders_pages_back_exports_and_tails(
    panel_url: str, datadir: DataDir, signer: KeyedSigner,
) -> None:
    async with open_dashboard(panel_url, datadir, signer) as page:
        await page.get_by_role("link", name="Logs").click()
        await expect(page).to_have_url(f"{panel_url}/logs")
        table = page.locator("table")
        for kind in ("orders", "supervisor and processes", "user activity"):
            await expect(table.get_by_role("cell", name=kind, exact=True).first).to_be_visible()
        await expect(table.get_by_text("MTS/USDT: the book is 3 s old")).to_be_visible()
        await shot(page, "logs-all")

        await choose(page, "Kinds", "API requests", "signer audit")

        await expect(table.get_by_text("DELETE /api/v3/order: no answer RequestTimeout in "
                                       "500.0 ms")).to_be_visible()
        await expect(table.get_by_text("login: token mmbox, outcome ok")).to_be_visible()
        assert {cells[3] for cells in await rows(page)} == {"API requests", "signer audit"}
        await shot(page, "logs-requests-and-audit")

        await choose(page, "Kinds", "API requests", "signer audit", "orders")
        await choose(page, "Bot", "bot-1")

        await expect(table.locator("tbody tr")).to_have_count(100)
        newest = await rows(page)
        assert {(cells[1], cells[3]) for cells in newest} == {("bot-1", "orders")}
        assert newest[0][5] == f"acked mmbox-bot-1-{99 + MORE_ORDERS} as o-{99 + MORE_ORDERS}"
        await expect(page.get_by_text("page 1")).to_be_visible()
        await shot(page, "logs-bot-1-orders")

        await page.get_by_role("button", name="Older").click()

        await expect(page.get_by_text("page 2")).to_be_visible()
        await expect(table.locator("tbody tr")).to_have_count(BOT_1_ORDERS - 100)
        older = await rows(page)
        assert older[-1][5] == "sending buy 100 @ 0.99 (c1)"
        assert len({tuple(cells) for cells in newest + older}) == BOT_1_ORDERS
        await expect(page.get_by_role("button", name="Older")).to_be_disabled()
        await shot(page, "logs-older")

        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Export CSV").click()
        download = await waiting.value
        exported = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
        assert download.suggested_filename.endswith(".csv")
        assert len(exported) == BOT_1_ORDERS
        assert {(row["bot"], row["kind"]) for row in exported} == {("bot-1", "order")}
        assert [row["text"] for row in exported] == [cells[5] for cells in newest + older]

        await page.get_by_role("button", name="Newest").click()
        await page.get_by_text("Live tail").click()
        log = EventLog(datadir.events_db("bot-1"))
        log.append("MTS/USDT", OrderSent("mmbox-bot-1-999", Side.SELL, Decimal("1.03"),
                                         Decimal(20)))
        log.close()

        await expect(table.locator("tbody tr").first).to_contain_text(
            "sending sell 20 @ 1.03 (mmbox-bot-1-999)", timeout=5000)
        await shot(page, "logs-tail")
