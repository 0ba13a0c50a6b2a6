"""The dashboard in a real Chromium, served by `python -m ui` over HTTPS as on the box.

Chromium trusts the box's certificate by its public key (as an operator who checked the
fingerprint would), so a page that loads proves the panel presented that certificate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.async_api import Locator, Page, async_playwright, expect

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from tests.ui.panel_box import ControlServer, write_bot_2_events
from tests.ui.panel_server import STARTUP_SECONDS, serving_panel

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
POSITIONS, OPEN_ORDERS, RECENT_FILLS, REQUESTS = 0, 1, 2, 3  # the order of a card's tables


@pytest.fixture
async def panel_url(datadir: DataDir, tmp_path: Path) -> AsyncIterator[str]:
    """Serve the panel of a box whose two bots have traded; yield its URL."""
    write_bot_2_events(datadir)
    async with serving_panel(datadir, tmp_path / "panel.log") as url:
        yield url


def trusted_key_flag(datadir: DataDir) -> str:
    """Return the Chromium flag that trusts the box's certificate by its public key's hash."""
    certificate = x509.load_pem_x509_certificate(datadir.panel_cert.read_bytes())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ("--ignore-certificate-errors-spki-list="
            + base64.b64encode(hashlib.sha256(spki).digest()).decode())


@asynccontextmanager
async def open_dashboard(url: str, datadir: DataDir) -> AsyncIterator[Page]:
    """Yield the dashboard open in a headless Chromium; fail on any CSP violation it logged."""
    violations: list[str] = []

    def note(text: str) -> None:
        if "Content Security Policy" in text:
            violations.append(text)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, trusted_key_flag(datadir)])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: note(message.text))
            page.on("pageerror", lambda error: note(str(error)))
            await page.goto(url)
            yield page
        finally:
            await browser.close()
    assert violations == [], "the panel's Content-Security-Policy blocked the dashboard"


async def asked_for_status(control: ControlServer) -> None:
    """Wait until the panel has asked the supervisor for its status."""
    for _ in range(int(STARTUP_SECONDS / 0.1)):
        if control.statuses:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the panel never asked the supervisor for its status")


def cells(card: Locator, table: int, row: int = 0) -> Locator:
    """Return the cells of one row of one of a card's tables."""
    return card.locator("table").nth(table).locator("tbody tr").nth(row).locator("td")


async def test_the_operator_sees_both_bots_activates_a_pair_and_stops_a_bot(
    panel_url: str, control: ControlServer, datadir: DataDir, tmp_path: Path
) -> None:
    control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    control.trip("bot-2", TripKind.POSITION, "inventory 1,200 over the 1,000 limit",
                 SymbolState.HALTED)
    async with open_dashboard(panel_url, datadir) as page:
        bot_1 = page.locator(".q-card").filter(has_text="bot-1")
        bot_2 = page.locator(".q-card").filter(has_text="bot-2")
        await expect(bot_1.locator(".q-badge", has_text="PAUSED")).to_be_visible()
        await expect(bot_1.get_by_text("no book for 5 s")).to_be_visible()
        await expect(bot_2.locator(".q-badge", has_text="HALTED")).to_be_visible()
        await expect(bot_2.get_by_role("button", name="Clear halt")).to_be_disabled()  # stopped
        await expect(cells(bot_1, POSITIONS)).to_have_text(
            ["MTS/USDT", "59.9", "0.99", "1.02", "0.8", "1.797", "0.1394", "139.4", "2"]
        )
        await expect(cells(bot_2, POSITIONS)).to_have_text(
            ["MTS/BTC", "1,000", "0.000024", "0.000025", "0", "0.001", "0.00000002", "0.024", "1"]
        )
        await expect(cells(bot_1, OPEN_ORDERS, row=1)).to_have_text(
            ["MTS/USDT", "buy", "0.985", "20", "0"]
        )
        await expect(cells(bot_1, RECENT_FILLS)).to_contain_text(
            ["MTS/USDT", "sell", "1.01", "40", "0.0404", "USDT"]
        )
        await expect(cells(bot_2, RECENT_FILLS)).to_contain_text(
            ["MTS/BTC", "buy", "0.000024", "1,000", "0.00000002", "BTC"]
        )
        await expect(bot_1.get_by_text("2 failed · used weight 67")).to_be_visible()
        await expect(cells(bot_1, REQUESTS)).to_contain_text(
            ["DELETE", "/api/v3/order", "—", "—", "500.0", "RequestTimeout"]
        )
        await expect(bot_2.get_by_text("no exchange requests yet")).to_be_visible()
        await asked_for_status(control)
        await expect(page.get_by_text("not answering")).to_have_count(0)
        await page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

        await bot_1.get_by_role("button", name="Activate").click()

        await expect(page.get_by_text("bot-1 MTS/USDT is now ACTIVE")).to_be_visible()
        await expect(bot_1.locator(".q-badge", has_text="ACTIVE")).to_be_visible()
        await expect(bot_1.get_by_role("button", name="Activate")).to_be_disabled()
        await expect(bot_1.get_by_role("button", name="Pause")).to_be_enabled()
        await page.screenshot(path=tmp_path / "dashboard-after-activate.png", full_page=True)

        await bot_1.get_by_role("button", name="Stop").click()

        await expect(page.get_by_text("bot-1: the supervisor will stop it")).to_be_visible()
        await page.screenshot(path=tmp_path / "dashboard-after-stop.png", full_page=True)
    assert control.calls == [
        ("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT", "action": "activate"}),
        ("stop_bot", {"bot": "bot-1"}),
    ]


async def test_a_refused_activation_is_a_red_notification(
    panel_url: str, control: ControlServer, datadir: DataDir, tmp_path: Path
) -> None:
    control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    async with open_dashboard(panel_url, datadir) as page:
        bot_1 = page.locator(".q-card").filter(has_text="bot-1")
        await expect(bot_1.locator(".q-badge", has_text="PAUSED")).to_be_visible()
        control.states["MTS/USDT"] = SymbolState.HALTED  # tripped again before the page caught up

        await bot_1.get_by_role("button", name="Activate").click()

        refusal = page.locator(".q-notification").filter(has_text="clear the halt first")
        await expect(refusal).to_have_class(re.compile(r"\bbg-negative\b"))
        await page.screenshot(path=tmp_path / "dashboard-refused.png", full_page=True,
                              animations="disabled")
    assert control.calls == []
