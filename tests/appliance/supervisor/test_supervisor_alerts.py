"""The supervisor's alert ops: settings the alerts process reads back, secrets into the token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlite_utils

from appliance.alerts.const import TELEGRAM_TOKEN_LABEL
from appliance.alerts.validate import load_settings
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.supervisor.alerts_ops import AlertsOps
from hsm.client import SignerClient
from tests.appliance.supervisor.test_supervisor_exchanges import db, signer

__all__ = ["db", "signer"]  # the fixtures, shared with the account ops' tests

WHO = {"actor": "owner", "fingerprint": "f" * 64}
BOT_TOKEN = "123456789:AAE-the-bot-token-from-botfather-0123456"


def ops(db: sqlite_utils.Database, signer: SignerClient) -> AlertsOps:
    return AlertsOps(db, signer, os.getuid)


async def test_settings_are_stored_as_the_alerts_process_reads_them(
    db: sqlite_utils.Database, signer: SignerClient,
) -> None:
    answer = await ops(db, signer).alerts_configure({
        "telegram_chats": [123456789, -1001234567890], "telegram_activate": True,
        "webhook_url": "https://hooks.example.test/mmbox", **WHO})
    settings, problems = load_settings(appliance_db.settings(db))
    assert problems == []
    assert settings.telegram_chats == {123456789, -1001234567890}
    assert settings.telegram_activate and str(settings.webhook_url).endswith("/mmbox")
    assert answer["settings"]["telegram_activate"] is True


@pytest.mark.parametrize("bad", [
    {"telegram_chats": ["me"]}, {"webhook_url": "ftp://x"}, {"telegram_activate": "maybe"},
    {"elsewhere": 1},
])
async def test_a_bad_setting_changes_nothing(
    db: sqlite_utils.Database, signer: SignerClient, bad: dict[str, object],
) -> None:
    before = appliance_db.settings(db)
    with pytest.raises(IpcError) as refused:
        await ops(db, signer).alerts_configure({"telegram_chats": [1], **bad, **WHO})
    assert refused.value.code == "bad_args"
    assert appliance_db.settings(db) == before


async def test_the_bot_token_goes_into_the_token_and_nowhere_else(
    db: sqlite_utils.Database, signer: SignerClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = await ops(db, signer).alerts_secret({"which": "telegram", "value": BOT_TOKEN,
                                                  **WHO})
    assert answer == {"which": "telegram", "label": TELEGRAM_TOKEN_LABEL}
    assert signer.read_credential(TELEGRAM_TOKEN_LABEL).decode() == BOT_TOKEN
    await ops(db, signer).alerts_secret({"which": "telegram", "value": BOT_TOKEN + "x", **WHO})
    assert signer.read_credential(TELEGRAM_TOKEN_LABEL).decode() == BOT_TOKEN + "x"
    for path in tmp_path.glob("appliance.db*"):
        assert BOT_TOKEN.encode() not in path.read_bytes()
    assert BOT_TOKEN not in caplog.text
    await ops(db, signer).alerts_forget({"which": "telegram", **WHO})
    assert TELEGRAM_TOKEN_LABEL not in {key.label for key in signer.list_keys()}


async def test_a_bad_secret_request_is_refused_without_repeating_it(
    db: sqlite_utils.Database, signer: SignerClient,
) -> None:
    for args in ({"which": "sms", "value": BOT_TOKEN}, {"which": "webhook", "value": " "},
                 {"which": "webhook", "value": "line\nbreak" + BOT_TOKEN}):
        with pytest.raises(IpcError) as refused:
            await ops(db, signer).alerts_secret({**args, **WHO})
        assert refused.value.code == "bad_args" and BOT_TOKEN not in refused.value.message


async def test_the_alerts_process_is_restarted_to_read_a_new_secret(
    db: sqlite_utils.Database, signer: SignerClient,
) -> None:
    restarts: list[str] = []

    async def reread() -> None:
        restarts.append("alerts")

    box = AlertsOps(db, signer, os.getuid, reread)
    await box.alerts_secret({"which": "webhook", "value": "k" * 32, **WHO})
    await box.alerts_forget({"which": "webhook", **WHO})
    assert restarts == ["alerts", "alerts"]
    with pytest.raises(IpcError):
        await box.alerts_secret({"which": "webhook", "value": "", **WHO})
    assert restarts == ["alerts", "alerts"], "a refused secret restarts nothing"
