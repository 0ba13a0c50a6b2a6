"""The first-run wizard in a real Chromium over HTTPS, on a whole new box: supervisor, signer,
two bots with no pair yet, and the panel, on the exchange simulator.

The box is provisioned with no exchange account, as a production box leaves the factory. The
owner opens an account at the exchange (the simulator's admin endpoint stands in for its web
site), logs in with the software key and runs the wizard: checks the allowlist, adds the
account with its key and secret, adds the licensed asset's pair, keeps the safe defaults,
watches the shadow quotes next to the book, goes live and sees fills on the dashboard. Each
step's screenshot is kept in build/artifacts/browser/. Then the secret typed into the panel is
looked for everywhere outside the token: pages, API answers, logs, databases and their WAL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from appliance.datadir import DataDir
from hsm.softkeys import DEV_KEY_PIN_FILE
from provisioning.devrun import get_json, panel_opener
from tests.appliance.bot.conftest import post
from tests.conftest import REPO, RunningSimulator, free_port, start_simulator, stop_process
from tests.ui.test_dashboard_browser import CHROMIUM, CHROMIUM_FLAGS, shot, trusted_key_flag

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ASSET = "MTS"
WAIT_MS = 60_000


@dataclass
class NewBox:
    """A box fresh from provisioning, with no exchange account, under its supervisor."""

    data: DataDir
    simulator: RunningSimulator
    supervisor: subprocess.Popen[bytes]
    panel: str
    token: str
    pages: list[str]
    """The HTML of every page the owner saw, for the leak check."""


@pytest.fixture(scope="module")
def new_box() -> Iterator[NewBox]:
    root = Path(tempfile.mkdtemp(prefix="mmbox-wizard-", dir="/tmp"))
    root.chmod(0o755)  # the children run under their own uids
    simulator = start_simulator(root / "simdata", "--seed", "7")
    data, port = DataDir(root / "data"), free_port()
    provisioned = subprocess.run(
        [sys.executable, "-m", "provisioning.devbox", "provision", "--data", str(data.root),
         "--exchange-url", simulator.url, "--panel-port", str(port), "--no-account"],
        cwd=REPO, capture_output=True, text=True)
    assert provisioned.returncode == 0, "provisioning failed: " + provisioned.stderr
    (token,) = re.findall(r"control API token .*: (mmb_\S+)", provisioned.stdout)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "appliance.supervisor", "--data", str(data.root),
         "--vendor-key", str(REPO / ".devvendor" / "vendor.pub")], cwd=REPO)
    box = NewBox(data, simulator, supervisor, f"https://127.0.0.1:{port}", token, [])
    try:
        yield box
    finally:
        stop_process(supervisor)  # type: ignore[arg-type]
        stop_process(simulator.process)
        shutil.rmtree(root)


def api(box: NewBox, path: str) -> Any:
    """GET one panel API path as a script with the box's control token."""
    return get_json(f"{box.panel}{path}", panel_opener(box.data), box.token)


def panel_up(box: NewBox) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert box.supervisor.poll() is None, "the supervisor exited"
        try:
            api(box, "/api/health")
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail("the panel did not come up within 60 s")


async def keep(page: Page, box: NewBox, name: str, *, typing: bool = False) -> None:
    """Keep the page's screenshot, and its HTML unless the owner is typing the secret in it
    (the secret input holds what was typed until it is saved or refused)."""
    await shot(page, f"wizard-{name}")
    if not typing:
        box.pages.append(await page.content())


async def test_the_owner_sets_up_a_new_box_in_the_wizard_and_it_trades(new_box: NewBox) -> None:
    box = new_box
    panel_up(box)
    account = post(f"{box.simulator.url}/sim/accounts", {
        "name": "owner", "balances": {ASSET: "10000", "USDT": "20000"}})
    pin = (box.data.hsm / DEV_KEY_PIN_FILE).read_text().strip()
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, trusted_key_flag(box.data)])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            await page.goto(box.panel)
            await page.locator('input[name="device"]').first.check()
            await page.locator('input[name="pin"]').fill(pin)
            await page.get_by_role("button", name="Log in").click()
            # A new box sends its owner to the wizard.
            await expect(page).to_have_url(f"{box.panel}/setup")
            await expect(page.get_by_text("let in by 127.0.0.1")).to_be_visible()
            await keep(page, box, "1-allowlist")
            await page.get_by_role("button", name="Next").first.click()

            await expect(page.get_by_label("Account name")).to_be_visible()
            await page.get_by_label("Simulator URL").fill(box.simulator.url)
            await page.get_by_label("Account name").fill("sim")
            await page.get_by_label("API key", exact=True).fill(account["apiKey"])
            await page.get_by_label("API secret").fill(account["secretKey"])
            await page.get_by_role("button", name="Test connection").click()
            await expect(page.get_by_text("Connected:")).to_be_visible()
            await keep(page, box, "2-account-tested", typing=True)
            await page.get_by_role("button", name="Save").click()
            await expect(page.get_by_text("Accounts: sim (bot-1)")).to_be_visible()
            await expect(page.get_by_label("API secret")).to_have_value("")

            # The asset lock: a pair of another asset is refused, and nothing is added.
            symbol = page.get_by_label("Pair (MTS/QUOTE)")
            await symbol.fill("BTC/USDT")
            await symbol.press("Enter")
            await page.get_by_role("button", name="Add pair").click()
            await expect(page.get_by_text("licensed for MTS only")).to_be_visible()
            await expect(page.get_by_text("No pair yet.")).to_be_visible()
            await keep(page, box, "3-pair-refused")
            await symbol.fill("MTS/USDT")
            await symbol.press("Enter")
            await page.get_by_role("button", name="Add pair").click()
            await expect(page.get_by_text("Pairs: MTS/USDT on sim (bot-1, shadow)")).to_be_visible()
            await keep(page, box, "3-pair")
            # The wizard can be left: a later visit resumes at the step the box stands at.
            await page.goto(f"{box.panel}/")
            await page.get_by_role("link", name="Set up").click()

            strategy = page.locator(".q-stepper__step").nth(3)
            await expect(strategy.get_by_text("MTS/USDT on sim (bot-1)")).to_be_visible()
            half_spread = strategy.get_by_label("Half Spread Bps")
            await expect(half_spread).to_have_value("50")  # the safe default: a wide spread
            await half_spread.fill("0")
            await strategy.get_by_role("button", name="Save the pair's settings").click()
            await expect(strategy.get_by_text("Input should be greater than 0")).to_be_visible()
            await keep(page, box, "4-strategy-refused")
            await half_spread.fill("10")
            await strategy.get_by_role("button", name="Save the pair's settings").click()
            await expect(page.get_by_text("Saved.")).to_be_visible()
            await keep(page, box, "4-strategy")
            await page.locator(".q-stepper__step").nth(3).get_by_role(
                "button", name="Next").click()

            shadow = page.locator(".q-stepper__step").nth(4)
            await expect(shadow.get_by_text("best bid on the exchange")).to_be_visible()
            await expect(shadow.get_by_text("would quote").first).to_be_visible()
            await keep(page, box, "5-shadow")
            orders = get_json(f"{box.simulator.url}/sim/open-orders?account=owner")
            assert orders == [], "a pair in shadow mode sent orders"
            await shadow.get_by_role("button", name="Next").click()

            await page.get_by_role("button", name="Go live…").click()
            await keep(page, box, "6-confirm")
            await page.get_by_role("button", name="Go live", exact=True).click()
            await expect(page.get_by_text("MTS/USDT is live. The dashboard")).to_be_visible()
            await keep(page, box, "6-live")

            await page.goto(box.panel)
            fills = page.locator("table").nth(2).locator("tbody tr")
            deadline = time.monotonic() + 90
            while await fills.count() == 0 or "no fills yet" in await fills.first.inner_text():
                assert time.monotonic() < deadline, "no fill within 90 s of going live"
                await page.wait_for_timeout(1000)
            await keep(page, box, "7-dashboard-fills")

            # The account as the exchange reports it, beside the bot's view.
            await page.goto(f"{box.panel}/account")
            await expect(page.get_by_text("Account 'sim'")).to_be_visible()
            await expect(page.get_by_text("Open orders on the exchange")).to_be_visible()
            await keep(page, box, "8-account")
        finally:
            await browser.close()

    secret = account["secretKey"]
    account = api(box, "/api/bots/bot-1/account")
    (sim,) = account["accounts"]
    assert sim["exchange"] == "sim" and sim["balances"]["MTS"]["total"]
    assert [view["symbol"] for view in sim["symbols"]] == ["MTS/USDT"]
    assert sim["symbols"][0]["unknown_orders"] == []
    for route in ("/api/exchanges", "/api/bots", "/api/bots/bot-1/pairs",
                  "/api/bots/bot-1/api-log", "/api/bots/bot-1/account"):
        assert secret not in str(api(box, route)), route
    for number, html in enumerate(box.pages):
        at = html.find(secret)
        assert at < 0, f"page {number} shows the secret after {html[max(0, at - 200):at]}"
    token_files = box.data.hsm / "tokens"
    for path in box.data.root.rglob("*"):
        if path.is_file() and token_files not in path.parents:
            assert secret.encode() not in path.read_bytes(), f"the secret is in {path}"
