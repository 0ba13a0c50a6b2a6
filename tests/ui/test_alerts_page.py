"""The Alerts page: an owner sets the chats and replaces the secrets on it; anyone else only
sees where alerts go.

The box behind it is test_api_alerts's: the supervisor's real alert ops on appliance.db, and a
real signer on SoftHSM2 for the secrets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nicegui import app, ui
from nicegui.testing.user import User

from appliance.alerts.const import TELEGRAM_TOKEN_LABEL
from appliance.datadir import DataDir
from tests.ui import test_api_exchanges
from tests.ui.conftest import log_in
from tests.ui.panel_box import OPERATOR, ControlServer, activity_records
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_access_page import on_page
from tests.ui.test_api_alerts import BOT_TOKEN, read_secret
from tests.ui.test_api_exchanges import changes_recorded, secrets_kept
from ui.api_alerts import ActingAlertsAdmin, AlertsRefused
from ui.auth.guard import SESSION_COOKIE, Identity
from ui.pages.alerts import chats_of

owner = test_api_exchanges.owner
"""A visitor logged in with the owner's software key, as test_api_exchanges makes one."""


async def stored_settings(user: User) -> dict[str, object]:
    """Return the alert settings as the REST API reads them from appliance.db."""
    settings: dict[str, object] = (await user.http_client.get("/api/alerts")).json()["settings"]
    return settings


async def test_the_owner_saves_the_chats_and_replaces_the_bot_token(
    owner: User, control: ControlServer, signer: KeyedSigner, datadir: DataDir,
    tmp_path: Path,
) -> None:
    await owner.open("/alerts")
    with owner.scope(marker="alerts-settings"):
        owner.find("Telegram chat ids").type("123456789, -1001234567890")
        owner.find("Webhook Url").type("https://hooks.example.com/in")
        owner.find("Telegram Activate").click()
        owner.find(kind=ui.button, content="Save").click()
    await owner.should_see("The alert settings are saved", retries=100)
    assert await stored_settings(owner) == {
        "telegram_chats": [-1001234567890, 123456789],
        "webhook_url": "https://hooks.example.com/in", "telegram_activate": True,
        "telegram_api": None}

    with owner.scope(marker="secret-telegram"):
        owner.find("Telegram bot token").type(BOT_TOKEN)
        owner.find("Replace").click()
    await owner.should_see("The telegram bot token is replaced in the box's token", retries=100)

    (token,) = owner.find("Telegram bot token").elements
    assert isinstance(token, ui.input) and token.value == ""
    assert not on_page(owner, BOT_TOKEN)
    assert await asyncio.to_thread(read_secret, datadir, TELEGRAM_TOKEN_LABEL) == \
        BOT_TOKEN.encode()
    assert [(r.action, r.outcome, r.detail.get("via")) for r in changes_recorded(datadir)] == [
        ("alerts_configure", "ok", "panel"), ("alerts_secret", "ok", "panel")]
    assert secrets_kept(datadir, tmp_path, BOT_TOKEN) == []


async def test_a_bad_chat_id_is_shown_under_its_input_and_nothing_is_saved(
    user: User, control: ControlServer,
) -> None:
    await user.open("/alerts")
    user.find("Telegram chat ids").type("123, @mychannel")
    user.find(kind=ui.button, content="Save").click()

    (chats,) = user.find("Telegram chat ids").elements
    assert isinstance(chats, ui.input)
    for _ in range(40):
        if chats.error:
            break
        await asyncio.sleep(0.05)
    assert chats.error is not None and "'@mychannel' is not a chat id" in chats.error
    assert (await stored_settings(user))["telegram_chats"] == []


async def test_a_failed_replace_says_why_and_clears_the_secret(
    user: User, control: ControlServer,
) -> None:
    await user.open("/alerts")
    with user.scope(marker="secret-webhook"):
        user.find("Webhook signing key").type(BOT_TOKEN * 20)
        user.find("Replace").click()

    await user.should_see("Not replaced: value: String should have at most 512 characters")
    (key,) = user.find("Webhook signing key").elements
    assert isinstance(key, ui.input) and key.value == ""
    assert not on_page(user, BOT_TOKEN)


async def test_an_operator_sees_where_alerts_go_but_no_form(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    await user.open("/alerts")

    await user.should_see("bob (operator)")
    await user.should_see("Only an owner may change where alerts go.")
    await user.should_see("Telegram chats: none")
    await user.should_not_see("Telegram chat ids")
    await user.should_not_see(kind=ui.button, content="Save")
    await user.should_not_see(kind=ui.button, content="Replace")
    admin = ActingAlertsAdmin(app.state.panel, Identity(OPERATOR.name, OPERATOR.fingerprint,
                                                        OPERATOR.role), "127.0.0.1")
    with pytest.raises(AlertsRefused) as refused:
        await admin.forget_secret("telegram")
    assert refused.value.status == 403
    (record,) = activity_records(datadir)
    assert (record.actor, record.action, record.outcome) == ("bob", "alerts_forget", "refused")


async def test_the_dashboard_links_to_the_alerts_page(user: User, control: ControlServer) -> None:
    await user.open("/")

    await user.should_see(kind=ui.link, content="Alerts")


def test_chat_ids_are_read_from_commas_or_spaces() -> None:
    assert chats_of(" 1, -2  3,,") == [1, -2, 3]
    assert chats_of("") == []
    with pytest.raises(ValueError, match=r"'1\.5' is not a chat id"):
        chats_of("1.5")
