"""The panel in a real Chromium, served by `python -m ui` over HTTPS as on the box.

Chromium trusts the box's certificate by its public key (as an operator who checked the
fingerprint would), so a page that loads proves the panel presented that certificate. Every
visit starts at the login page: the visitor picks a software operator key and types its PIN,
and a real signer signs the login on it. Each step's screenshot is kept in
build/artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.async_api import Locator, Page, async_playwright, expect

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from appliance.store.appliance_db import put_setting
from appliance.store.database import open_writer
from tests.ui.panel_box import REPO, ControlServer, activity_records, write_bot_2_events
from tests.ui.panel_server import STARTUP_SECONDS, serving_panel
from tests.ui.signer_box import OPERATOR_KEY, OWNER_KEY, KeyedSigner

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
POSITIONS, OPEN_ORDERS, RECENT_FILLS, REQUESTS = 0, 1, 2, 3  # the order of a card's tables


ARTIFACTS = REPO / "build" / "artifacts" / "browser"
"""Where each step's screenshot is kept after the run."""


@pytest.fixture
async def panel_url(datadir: DataDir, signer: KeyedSigner, tmp_path: Path
                    ) -> AsyncIterator[str]:
    """Serve the panel of a development box whose two bots have traded; yield its URL."""
    write_bot_2_events(datadir)
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


async def shot(page: Page, name: str, **options: Any) -> None:
    """Keep a screenshot of the page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, **options)


async def log_in(page: Page, url: str, device: str, pin: str, name: str) -> None:
    """Log in at the login page with a software key, as an owner or operator does."""
    await page.goto(url)
    await expect(page).to_have_url(f"{url}/login")
    await page.locator(f'input[name="device"][value="{device}"]').check()
    await page.locator('input[name="pin"]').fill(pin)
    await shot(page, f"{name}-login")
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{url}/")


def trusted_key_flag(datadir: DataDir) -> str:
    """Return the Chromium flag that trusts the box's certificate by its public key's hash."""
    certificate = x509.load_pem_x509_certificate(datadir.panel_cert.read_bytes())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ("--ignore-certificate-errors-spki-list="
            + base64.b64encode(hashlib.sha256(spki).digest()).decode())


@asynccontextmanager
async def open_dashboard(
    url: str, datadir: DataDir, signer: KeyedSigner, device: str = OWNER_KEY,
    name: str = "owner",
) -> AsyncIterator[Page]:
    """Yield the dashboard open in a headless Chromium after logging in with `device`.

    Fail on any CSP violation the pages logged.
    """
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
            await log_in(page, url, device, signer.key_pin, name)
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


async def status_of(page: Page, method: str, path: str) -> int:
    """Return the status of an API call made by the page itself, with its session cookie.

    The call runs in the page (as the panel's own script would make it), never through the
    test runner's request client, whose logs would show the cookie.
    """
    status: int = await page.evaluate(
        """async ([method, path]) => (await fetch(path, {method, redirect: "manual",
            headers: {"content-type": "application/json"},
            body: method === "GET" ? undefined : "{}"})).status""", [method, path])
    return status



def cells(card: Locator, table: int, row: int = 0) -> Locator:
    """Return the cells of one row of one of a card's tables."""
    return card.locator("table").nth(table).locator("tbody tr").nth(row).locator("td")


async def test_the_owner_logs_in_sees_both_bots_activates_and_pauses_a_pair_and_stops_a_bot(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    control.trip("bot-2", TripKind.POSITION, "inventory 1,200 over the 1,000 limit",
                 SymbolState.HALTED)
    async with open_dashboard(panel_url, datadir, signer) as page:
        await expect(page.get_by_text("carol (owner)")).to_be_visible()
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
        await expect(bot_1.get_by_text("chain verified")).to_be_visible()
        await asked_for_status(control)
        await expect(page.get_by_text("not answering")).to_have_count(0)
        await shot(page, "owner-dashboard")

        await bot_1.get_by_role("button", name="Activate").click()

        await expect(page.get_by_text("bot-1 MTS/USDT is now ACTIVE")).to_be_visible()
        await expect(bot_1.locator(".q-badge", has_text="ACTIVE")).to_be_visible()
        await expect(bot_1.get_by_role("button", name="Activate")).to_be_disabled()
        await expect(bot_1.get_by_role("button", name="Pause")).to_be_enabled()
        await shot(page, "owner-activated")

        await bot_1.get_by_role("button", name="Pause").click()

        await expect(page.get_by_text("bot-1 MTS/USDT is now PAUSED")).to_be_visible()
        await expect(bot_1.get_by_role("button", name="Activate")).to_be_enabled()
        await shot(page, "owner-paused")

        await bot_1.get_by_role("button", name="Stop").click()

        await expect(page.get_by_text("bot-1: the supervisor will stop it")).to_be_visible()
        await shot(page, "owner-stopped")
    records = activity_records(datadir)
    carol = {"actor": "carol", "fingerprint": records[0].fingerprint}
    assert control.calls == [
        ("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT", "action": "activate", **carol}),
        ("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT", "action": "pause", **carol}),
        ("stop_bot", {"bot": "bot-1"}),
    ]
    actions = [(r.actor, r.action, r.outcome) for r in records]
    assert actions[0] == ("carol", "login", "ok")
    assert actions[1:] == [("carol", "activate bot-1 MTS/USDT", "ok"),
                           ("carol", "pause bot-1 MTS/USDT", "ok"),
                           ("carol", "stop_bot bot-1", "ok")]


async def test_a_refused_activation_is_a_red_notification(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    control.trip("bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    async with open_dashboard(panel_url, datadir, signer) as page:
        bot_1 = page.locator(".q-card").filter(has_text="bot-1")
        await expect(bot_1.locator(".q-badge", has_text="PAUSED")).to_be_visible()
        control.states["MTS/USDT"] = SymbolState.HALTED  # tripped again before the page caught up

        await bot_1.get_by_role("button", name="Activate").click()

        refusal = page.locator(".q-notification").filter(has_text="clear the halt first")
        await expect(refusal).to_have_class(re.compile(r"\bbg-negative\b"))
        await shot(page, "owner-refused", animations="disabled")
    assert control.calls == []


async def test_pulling_the_key_sends_the_page_to_login_within_a_second(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    async with open_dashboard(panel_url, datadir, signer, OPERATOR_KEY, "pull") as page:
        await expect(page.get_by_text("dave (operator)")).to_be_visible()
        await shot(page, "pull-before")
        await asyncio.to_thread(signer.pull, OPERATOR_KEY)
        await expect(page).to_have_url(f"{panel_url}/login", timeout=1000)
        await shot(page, "pull-after")
        assert await status_of(page, "GET", "/api/session") == 401


async def test_an_operator_finds_the_owners_actions_refused_in_the_page_and_the_api(
    panel_url: str, control: ControlServer, datadir: DataDir, signer: KeyedSigner,
) -> None:
    async with open_dashboard(panel_url, datadir, signer, OPERATOR_KEY, "operator") as page:
        await expect(page.get_by_text("dave (operator)")).to_be_visible()
        await expect(page.get_by_role("link", name="Access")).to_have_count(0)
        await shot(page, "operator-dashboard")
        refused = await page.goto(f"{panel_url}/access")
        assert refused is not None and refused.status == 403
        await shot(page, "operator-access-refused")
        await page.goto(panel_url)
        for method, path in (("GET", "/api/users"), ("POST", "/api/tokens"),
                             ("PUT", "/api/allowlist"), ("GET", "/api/activity")):
            assert await status_of(page, method, path) == 403, (method, path)
        assert await status_of(page, "POST", "/api/bots/bot-1/stop") == 200
    assert control.calls == [("stop_bot", {"bot": "bot-1"})]


async def test_an_idle_session_expires_and_its_page_goes_back_to_login(
    datadir: DataDir, signer: KeyedSigner, control: ControlServer, tmp_path: Path,
) -> None:
    db = open_writer(datadir.appliance_db)
    put_setting(db, "session_idle_s", "2")
    db.close()
    async with serving_panel(datadir, tmp_path / "panel.log") as url, open_dashboard(
            url, datadir, signer, OWNER_KEY, "idle") as page:
        await expect(page.get_by_text("carol (owner)")).to_be_visible()
        # The dashboard refreshes itself, but nobody clicks: the session ends, its socket closes.
        await expect(page).to_have_url(f"{url}/login", timeout=10_000)
        await shot(page, "idle-expired")
        assert await status_of(page, "GET", "/api/session") == 401
