"""The Performance page in a real Chromium, served by `python -m ui` over HTTPS as on the box.

bot-2 has quoted MTS/BTC for the last three hours (a quote set every 10 s, a fill a minute);
the owner opens the page from the dashboard, picks bot-2, and looks at the last hour and at
the whole log. Every chart draws with no Content-Security-Policy violation; each step's
screenshot is kept in build/artifacts/browser/ as performance-*.png.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState
from appliance.store import events
from appliance.store.events import EventLog, SymbolStateChanged
from tests.ui.panel_box import ControlServer
from tests.ui.panel_server import serving_panel
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_dashboard_browser import open_dashboard, shot
from tests.ui.test_performance import Clock, trade_minute
from ui.pages.performance import FIGURES

pytestmark = pytest.mark.browser

MINUTES = 180
"""How long bot-2 has quoted, up to a minute ago."""

LEAD = 45
"""Seconds before now the log ends. Each minute's fill is at its :30, so for the next 45 s the
last hour holds the fills of the last 59 minutes."""


@pytest.fixture
async def panel_url(datadir: DataDir, signer: KeyedSigner, control: ControlServer,
                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Serve the panel of a development box whose bot-2 has quoted for three hours."""
    clock = Clock()
    monkeypatch.setattr(events, "time", clock)
    since = time.time() - MINUTES * 60 - LEAD
    log = EventLog(datadir.events_db("bot-2"))
    clock.now = since
    log.append("MTS/BTC", SymbolStateChanged(SymbolState.ACTIVE, "operator"))
    for minute in range(MINUTES):
        trade_minute(log, clock, "MTS/BTC", since, minute)
    log.close()
    monkeypatch.undo()
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


async def charts_drawn(page: Page) -> None:
    """Wait until each chart of the pair shown has drawn on its canvas."""
    charts = page.locator(".nicegui-echart")
    await expect(charts).to_have_count(len(FIGURES))
    for n in range(len(FIGURES)):
        await expect(charts.nth(n).locator("canvas").first).to_be_visible()


async def test_the_owner_sees_each_chart_of_a_bots_pair_over_an_hour_and_over_all(
    panel_url: str, datadir: DataDir, signer: KeyedSigner
) -> None:
    async with open_dashboard(panel_url, datadir, signer, name="performance") as page:
        await page.get_by_role("link", name="Performance").click()
        await expect(page).to_have_url(f"{panel_url}/performance")
        await expect(page.get_by_text("MTS/USDT", exact=True)).to_be_visible()
        await expect(page.get_by_text("2 fills", exact=False)).to_be_visible()
        await charts_drawn(page)
        await shot(page, "performance-bot-1")

        await page.get_by_label("Bot").click()
        await page.get_by_role("option", name="bot-2", exact=True).click()
        await expect(page.get_by_text("MTS/BTC", exact=True)).to_be_visible()
        await page.get_by_role("button", name="1 h").click()
        await expect(page.get_by_text(f"{MINUTES} fills · 59 in range")).to_be_visible()
        await charts_drawn(page)
        await shot(page, "performance-bot-2-hour")

        await page.get_by_role("button", name="All").click()
        await expect(page.get_by_text(f"{MINUTES} fills · {MINUTES} in range")).to_be_visible()
        await charts_drawn(page)
        await shot(page, "performance-bot-2-all")
