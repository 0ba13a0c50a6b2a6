"""The Alerts page in a real Chromium, served by `python -m ui` over HTTPS as on the box.

The owner logs in with a software key, enrols two Telegram chats and a webhook URL, and puts
the Telegram bot token into the box's token through the supervisor's real `AlertsOps` and a
real signer; the token is never on the page again. Screenshots in build/artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from appliance.alerts.validate import load_settings
from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import read_from
from tests.ui.panel_box import ControlServer
from tests.ui.panel_server import serving_panel
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_dashboard_browser import open_dashboard, shot

pytestmark = pytest.mark.browser

BOT_TOKEN = "7012345678:AAH-a-bot-token-from-botfather-for-the-browser"


@pytest.fixture
async def panel_url(datadir: DataDir, signer: KeyedSigner, tmp_path: Path
                    ) -> AsyncIterator[str]:
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


async def test_the_owner_sends_alerts_to_two_chats_and_sets_the_bot_token(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    async with open_dashboard(panel_url, datadir, signer, name="alerts-owner") as page:
        await page.get_by_role("link", name="Alerts").click()
        await expect(page).to_have_url(f"{panel_url}/alerts")
        await page.get_by_label("Telegram chat ids").fill("123456789, -1001234567890")
        await page.get_by_label("Webhook Url").fill("https://hooks.example.com/in")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("The alert settings are saved")).to_be_visible()
        await shot(page, "alerts-saved")

        await page.get_by_label("Telegram bot token").fill(BOT_TOKEN)
        await page.get_by_role("button", name="Replace").first.click()
        await expect(page.get_by_text("The telegram bot token is replaced")).to_be_visible()
        await expect(page.get_by_label("Telegram bot token")).to_have_value("")
        await shot(page, "alerts-token-replaced")
        assert BOT_TOKEN not in await page.content()

    settings, problems = read_from(datadir.appliance_db,
                                   lambda db: load_settings(appliance_db.settings(db)))
    assert problems == [] and settings.telegram_chats == {123456789, -1001234567890}
    assert str(settings.webhook_url) == "https://hooks.example.com/in"
