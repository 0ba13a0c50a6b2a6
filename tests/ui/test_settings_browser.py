"""The Settings page in a real Chromium, served by `python -m ui` over HTTPS as on the box.

The visitor logs in with a software key and types a PIN, as on the dashboard's browser tests;
the supervisor's side is the real `ConfigOps` on the box's appliance.db (its bots not running,
so a change is stored for their next start). Each step's screenshot is kept in
build/artifacts/browser/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from appliance.config.pair import PairSettings, pair_of
from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.appliance_db import Pair
from appliance.store.database import open_reader, open_writer
from tests.ui.panel_box import ControlServer, activity_records
from tests.ui.panel_server import serving_panel
from tests.ui.signer_box import OPERATOR_KEY, KeyedSigner
from tests.ui.test_dashboard_browser import open_dashboard, shot

pytestmark = pytest.mark.browser

SPREAD = {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000"}


@pytest.fixture
async def panel_url(datadir: DataDir, signer: KeyedSigner, tmp_path: Path
                    ) -> AsyncIterator[str]:
    """Serve the panel of a development box whose bot-1 quotes MTS/USDT by the spread."""
    settings = PairSettings.model_validate({"strategy": {"kind": "spread", "params": SPREAD}})
    db = open_writer(datadir.appliance_db)
    appliance_db.put_pair(db, pair_of("bot-1", "sim", "MTS/USDT", settings))
    db.close()
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


def stored_pair(datadir: DataDir) -> Pair:
    """Return bot-1's pair as appliance.db keeps it."""
    db = open_reader(datadir.appliance_db)
    try:
        (pair,) = appliance_db.pairs(db, "bot-1")
        return pair
    finally:
        db.close()


async def open_settings(page: Page, url: str) -> Locator:
    """Go from the dashboard to the Settings page; return bot-1's pair card."""
    await page.get_by_role("link", name="Settings").click()
    await expect(page).to_have_url(f"{url}/settings")
    card = page.locator(".q-card").filter(has_text="MTS/USDT on sim")
    await expect(card.get_by_label("Half Spread Bps")).to_have_value("10")
    return card


async def test_the_owner_is_shown_a_bad_value_under_its_field_saves_a_good_one_and_restores(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    before = stored_pair(datadir)
    async with open_dashboard(panel_url, datadir, signer, name="settings-owner") as page:
        card = await open_settings(page, panel_url)
        half_spread = card.get_by_label("Half Spread Bps")
        await shot(page, "settings-owner")

        await half_spread.fill("0")
        await card.get_by_role("button", name="Save").click()

        field = card.locator(".q-field", has=page.get_by_label("Half Spread Bps"))
        await expect(field).to_have_class(re.compile(r"\bq-field--error\b"))
        await expect(field.locator(".q-field__bottom")).to_have_text(
            "Input should be greater than 0")
        await expect(card.get_by_text("Saved as version")).to_have_count(0)
        await shot(page, "settings-bad-value")
        assert stored_pair(datadir) == before

        await half_spread.fill("25")
        await card.get_by_role("button", name="Save").click()

        await expect(card.get_by_text("Saved as version 2 (the bot takes it when it next "
                                      "starts): strategy.params.half_spread_bps: 10.0 → 25.0")
                     ).to_be_visible()
        await expect(field).not_to_have_class(re.compile(r"\bq-field--error\b"))
        newest = card.locator(".q-card").filter(has_text="History")
        await expect(newest.get_by_text("Version 2 · ")).to_contain_text("carol · in force")
        await expect(newest.get_by_text("strategy.params.half_spread_bps: 10.0 → 25.0")
                     ).to_be_visible()
        await shot(page, "settings-saved")
        assert stored_pair(datadir).params["half_spread_bps"] == 25

        await card.get_by_role("button", name="Restore this version").click()
        await page.get_by_role("button", name="Restore version 1").click()

        await expect(half_spread).to_have_value("10")
        await expect(newest.get_by_text("Version 3 · ")).to_contain_text("carol · in force")
        await expect(newest.get_by_text("strategy.params.half_spread_bps: 25.0 → 10.0")
                     ).to_be_visible()
        await shot(page, "settings-restored")
    assert stored_pair(datadir) == before
    actions = [(r.actor, r.action, r.outcome) for r in activity_records(datadir)]
    assert actions[1:] == [("carol", "pair_configure", "ok"), ("carol", "config_restore", "ok")]


async def test_an_operator_sees_the_settings_with_every_input_disabled(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    async with open_dashboard(panel_url, datadir, signer, OPERATOR_KEY,
                              "settings-operator") as page:
        card = await open_settings(page, panel_url)
        await expect(page.get_by_text("only an owner may change them")).to_be_visible()
        for label in ("Half Spread Bps", "Max Inventory", "Price Ticks", "Min Rest S"):
            await expect(card.get_by_label(label)).to_be_disabled()
        await expect(card.get_by_role("switch")).to_be_disabled()
        await expect(page.get_by_role("button", name="Save")).to_have_count(0)
        await expect(page.get_by_role("button", name="Restore this version")).to_have_count(0)
        await shot(page, "settings-operator")
    assert [r.action for r in activity_records(datadir)] == ["login"]
