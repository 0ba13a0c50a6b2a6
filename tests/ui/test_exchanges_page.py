"""The Exchanges page: an owner tests, adds and removes accounts and pairs on it; anyone else
only sees them.

The box behind it is test_api_exchanges's: the real supervisor's ops, a real signer on SoftHSM2
and real ccxt to the simulator over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app, ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from tests.conftest import RunningSimulator
from tests.ui import test_api_exchanges
from tests.ui.conftest import log_in
from tests.ui.panel_box import OPERATOR, ControlServer, activity_records
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_access_page import on_page, rows_when
from tests.ui.test_api_exchanges import changes_recorded, connection, open_account, secrets_kept
from ui.auth.guard import SESSION_COOKIE, Identity
from ui.exchange_admin import ActingExchangeAdmin, ExchangeRefused, PairPath

owner = test_api_exchanges.owner
"""A visitor logged in with the owner's software key, as test_api_exchanges makes one."""


def fill_account(user: User, simulator: RunningSimulator, account: dict[str, Any]) -> None:
    """Type an account of the simulator into the exchange form."""
    with user.scope(marker="exchange-form"):
        user.find("Account name").type("main")
        user.find("Simulator URL").clear().type(simulator.url)
        user.find("API key").type(account["apiKey"])
        user.find("API secret").type(account["secretKey"])


async def test_the_page_saves_an_account_only_after_a_passing_test_and_forgets_its_secret(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
    datadir: DataDir, tmp_path: Path,
) -> None:
    account = await open_account(simulator, "owner-4")
    await owner.open("/exchanges")
    fill_account(owner, simulator, account)
    (save,) = owner.find(kind=ui.button, content="Save").elements
    assert not save.enabled

    owner.find("Test connection").click()
    await owner.should_see("Balances: MTS 1000, USDT 10000.", retries=100)
    await owner.should_see("the box's asset trades on MTS/USDC, MTS/USDT")
    assert save.enabled
    owner.find(kind=ui.button, content="Save").click()

    await owner.should_see("Account main of bot-1 is added", retries=100)
    assert not on_page(owner, account["secretKey"])
    rows = await rows_when(owner, "accounts", lambda rows: len(rows) == 2)
    assert [(r["name"], r["bot"], r["api_key"]) for r in rows] == [
        ("main", "bot-1", account["apiKey"]), ("sim", "—", "—")]
    with owner.scope(marker="pairs-card-bot-1"):
        (symbol,) = owner.find("Pair (BASE/QUOTE)").elements
    assert symbol.props["_autocomplete"] == ["MTS/USDC", "MTS/USDT"], "the test's markets"
    records = changes_recorded(datadir)
    assert [(r.action, r.outcome, r.detail.get("via")) for r in records] == [
        ("exchange_test", "ok", "panel"), ("exchange_add", "ok", "panel")]
    assert secrets_kept(datadir, tmp_path, account["secretKey"]) == []


async def test_a_failed_test_says_why_and_clears_the_secret(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
) -> None:
    account = await open_account(simulator, "owner-5", enable_withdrawals=True)
    await owner.open("/exchanges")
    fill_account(owner, simulator, account)

    owner.find("Test connection").click()

    await owner.should_see("create a trade-only key at the exchange", retries=100)
    (secret,) = owner.find("API secret").elements
    assert isinstance(secret, ui.input) and secret.value == ""
    assert not on_page(owner, account["secretKey"])
    (save,) = owner.find(kind=ui.button, content="Save").elements
    assert not save.enabled


async def test_the_page_adds_and_removes_a_pair_and_keeps_an_account_a_pair_uses(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
) -> None:
    account = await open_account(simulator, "owner-6")
    added = await owner.http_client.post("/api/exchanges", json={
        **connection(simulator, account), "name": "main", "bot": "bot-2"})
    assert added.status_code == 201, added.text
    await owner.open("/exchanges")
    with owner.scope(marker="pairs-card-bot-2"):
        owner.find("Pair (BASE/QUOTE)").type("mts/usdc")
        owner.find("Add pair").click()
    await owner.should_see("MTS/USDC is added to bot-2 on main", retries=100)
    rows = await rows_when(owner, "pairs-bot-2", lambda rows: len(rows) == 2)
    assert [(r["exchange"], r["symbol"], r["mode"]) for r in rows] == [
        ("sim", "MTS/BTC", "live"), ("main", "MTS/USDC", "shadow")]

    owner.find(marker="accounts").trigger("remove", "main/bot-2")
    await owner.should_see("Its keys are destroyed on the box's token")
    owner.find("Remove account").click()
    await owner.should_see("main is kept: bot-2 still trades MTS/USDC on 'main'; remove those "
                          "pairs first", retries=100)
    owner.find(marker="pairs-bot-2").trigger("remove", "main/MTS/USDC")
    await owner.should_see("bot-2 cancels the pair's open orders first, then stops quoting it")
    owner.find("Remove pair").click()
    await owner.should_see("MTS/USDC is removed from bot-2; 0 open order(s) were cancelled",
                          retries=100)
    await rows_when(owner, "pairs-bot-2", lambda rows: len(rows) == 1)
    owner.find(marker="accounts").trigger("remove", "main/bot-2")
    await owner.should_see("Its keys are destroyed on the box's token")
    owner.find("Remove account").click()
    await owner.should_see("The account main of bot-2 is removed", retries=100)
    await rows_when(owner, "accounts", lambda rows: [r["name"] for r in rows] == ["sim"])


async def test_an_operator_sees_the_accounts_and_pairs_but_changes_nothing(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    await user.open("/exchanges")

    await user.should_see("bob (operator)")
    rows = await rows_when(user, "accounts", bool)
    assert [(r["name"], r["pairs"], r["removable"]) for r in rows] == [
        ("sim", "MTS/USDT, MTS/BTC", False)]
    assert [r["removable"] for r in await rows_when(user, "pairs-bot-1", bool)] == [False]
    await user.should_not_see("Add an account")
    await user.should_not_see("Add pair")
    admin = ActingExchangeAdmin(app.state.panel, Identity(OPERATOR.name, OPERATOR.fingerprint,
                                                          OPERATOR.role), "127.0.0.1")
    with pytest.raises(ExchangeRefused) as refused:
        await admin.act(PairPath(bot="bot-1", exchange="sim", symbol="MTS/USDT").asked())
    assert refused.value.status == 403
    (record,) = activity_records(datadir)
    assert (record.actor, record.action, record.outcome) == ("bob", "pair_remove", "refused")


async def test_the_dashboard_links_to_the_exchanges_page(
    user: User, control: ControlServer,
) -> None:
    await user.open("/")

    await user.should_see(kind=ui.link, content="Exchanges")


async def test_the_page_adds_an_account_that_signs_with_a_key_made_on_the_box(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
) -> None:
    await open_account(simulator, "owner-7")
    await owner.open("/exchanges")
    with owner.scope(marker="exchange-form"):
        owner.find("Account name").type("edge")
        owner.find("Simulator URL").clear().type(simulator.url)
        owner.find("Key made on this box (Ed25519)").click()
        await owner.should_not_see("API secret")
        await owner.should_not_see("Test connection")
        owner.find("Generate key").click()
    await owner.should_see("Register this public key at the exchange", retries=100)
    (pem,) = [str(label.text) for label in owner.find(kind=ui.label).elements
              if str(label.text).startswith("-----BEGIN PUBLIC KEY-----")]
    async with httpx.AsyncClient(trust_env=False) as http:
        registered = (await http.post(f"{simulator.url}/sim/accounts/owner-7/ed25519-keys",
                                      json={"ed25519_public_key": pem})).json()
    owner.find("API key id").type(registered["apiKey"])
    owner.find(kind=ui.button, content="Save").click()

    await owner.should_see("Account edge of bot-1 is added", retries=100)
    rows = await rows_when(owner, "accounts", lambda rows: len(rows) == 2)
    assert [(r["name"], r["kind"], r["api_key"]) for r in rows] == [
        ("edge", "ed25519", registered["apiKey"]), ("sim", "—", "—")]


async def test_an_exchange_the_box_cannot_trade_on_says_why_and_offers_no_test(
    user: User, control: ControlServer,
) -> None:
    catalog = (await user.http_client.get("/api/exchanges/catalog")).json()
    (alpaca,) = [c for c in catalog if c["id"] == "alpaca"]
    await user.open("/exchanges")

    with user.scope(marker="exchange-form"):
        user.find("Exchange").click()
        user.find(f"Alpaca (not supported: {alpaca['missing']})").click()
    await user.should_see(f"The box cannot trade there: {alpaca['missing']}")
    for button in ("Test connection", "Save"):
        (element,) = user.find(kind=ui.button, content=button).elements
        assert not element.enabled, button
