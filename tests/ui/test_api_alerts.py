"""Where alerts go, through the panel's REST routes (the Alerts page is test_alerts_page's).

The supervisor's side is the real one (`AlertsOps` on the box's appliance.db, as panel_box's
control socket serves it); the secrets go into a real signer on SoftHSM2, and are read back
from it as the alerts process reads them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing.user import User

from appliance.alerts.const import SETTING_CHATS, TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL
from appliance.datadir import DataDir
from appliance.store.appliance_db import put_setting
from appliance.store.database import open_writer
from hsm.client import SignerClient, SignerError
from tests.ui import test_api_exchanges
from tests.ui.conftest import log_in
from tests.ui.panel_box import CONTROL_TOKEN, OPERATOR, READ_TOKEN, ControlServer, activity_records
from tests.ui.signer_box import KeyedSigner
from tests.ui.test_api_exchanges import bearer, changes_recorded, secrets_kept
from ui.auth.guard import SESSION_COOKIE

owner = test_api_exchanges.owner
"""A visitor logged in with the owner's software key, as test_api_exchanges makes one."""

BOT_TOKEN = "123456:AAE-bot-token-never-shown-0123456789"
"""A Telegram bot token as @BotFather gives one: no answer, log or record may repeat it."""

SETTINGS = {"telegram_chats": [-1001234567890, 123456789],
            "webhook_url": "https://hooks.example.com/mmbox/path-secret",
            "telegram_activate": True, "telegram_api": None}
DEFAULTS: dict[str, Any] = {"telegram_chats": [], "webhook_url": None, "telegram_activate": False,
                            "telegram_api": None}


def read_secret(datadir: DataDir, label: str) -> bytes:
    """Return a credential of the box's token as the alerts process reads it (this process's
    uid is the one the supervisor grants it to in these tests)."""
    client = SignerClient(datadir.signer_sock)
    try:
        return client.read_credential(label)
    finally:
        client.close()


async def test_an_owner_sets_where_alerts_go_and_reads_it_back(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    put = await user.http_client.put("/api/alerts", json=SETTINGS)

    assert put.status_code == 200, put.text
    assert put.json() == {"settings": SETTINGS, "problems": []}
    got = await user.http_client.get("/api/alerts")
    assert got.json() == {"settings": SETTINGS, "problems": []}
    (record,) = changes_recorded(datadir)
    assert (record.action, record.outcome, record.actor) == ("alerts_configure", "ok", "alice")
    assert record.detail["webhook"] == "hooks.example.com"
    assert "path-secret" not in json.dumps(record.detail)


async def test_a_setting_stored_wrong_is_reported_and_counts_as_its_default(
    user: User, datadir: DataDir,
) -> None:
    db = open_writer(datadir.appliance_db)
    put_setting(db, SETTING_CHATS, "[12, 'x']")
    db.close()

    got = await user.http_client.get("/api/alerts")

    assert got.status_code == 200
    assert got.json()["settings"] == DEFAULTS
    (problem,) = got.json()["problems"]
    assert problem.startswith(f"setting {SETTING_CHATS} is not valid")
    assert "set it to a JSON list of chat ids" in problem


@pytest.mark.parametrize(("body", "says"), [
    ({**SETTINGS, "telegram_chats": [123, "my chat"]}, "telegram_chats.1: Input should be a "
     "valid integer"),
    ({**SETTINGS, "telegram_chats": 123}, "telegram_chats: Input should be a valid array"),
    ({**SETTINGS, "webhook_url": "ftp://example.com/x"}, "webhook_url: URL scheme should be "
     "'http' or 'https'"),
    ({**SETTINGS, "webhook_url": "not a url"}, "webhook_url: Input should be a valid URL"),
    ({**SETTINGS, "telegram_chat": [1]}, "telegram_chat: Extra inputs are not permitted"),
])
async def test_a_bad_setting_is_refused_naming_its_field_and_nothing_changes(
    user: User, control: ControlServer, body: dict[str, Any], says: str,
) -> None:
    answer = await user.http_client.put("/api/alerts", json=body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_body"
    assert says in answer.json()["error"]["message"]
    assert (await user.http_client.get("/api/alerts")).json()["settings"] == DEFAULTS


async def test_operators_and_tokens_read_where_alerts_go_but_only_owners_change_it(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "/api/alerts", SETTINGS),
        ("PUT", "/api/alerts/secrets/telegram", {"value": BOT_TOKEN}),
        ("DELETE", "/api/alerts/secrets/webhook", None)]
    async with bearer(CONTROL_TOKEN.text) as control_script, bearer(READ_TOKEN.text) as reader, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                              headers={"origin": "https://test"}) as stranger:
        for caller in (user.http_client, control_script, reader):
            assert (await caller.get("/api/alerts")).status_code == 200
            for method, path, body in changes:
                answer = await caller.request(method, path, json=body)
                assert answer.status_code == 403, (method, path, answer.text)
                assert BOT_TOKEN not in answer.text
        for method, path, body in changes:
            answer = await stranger.request(method, path, json=body)
            assert answer.status_code == 401, (method, path, answer.text)
    assert (await user.http_client.get("/api/alerts")).json()["settings"] == DEFAULTS
    records = activity_records(datadir)
    assert len(records) == 4 * len(changes)
    assert {r.outcome for r in records} == {"refused"}
    assert BOT_TOKEN not in json.dumps([r.detail for r in records])


async def test_an_owner_replaces_and_forgets_the_secrets_which_are_never_said_back(
    owner: User, control: ControlServer, signer: KeyedSigner, datadir: DataDir,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    http = owner.http_client

    replaced = await http.put("/api/alerts/secrets/telegram", json={"value": BOT_TOKEN})
    keyed = await http.put("/api/alerts/secrets/webhook", json={"value": "hmac-key-1"})

    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"which": "telegram", "label": TELEGRAM_TOKEN_LABEL}
    assert keyed.json() == {"which": "webhook", "label": WEBHOOK_SECRET_LABEL}
    assert await asyncio.to_thread(read_secret, datadir, TELEGRAM_TOKEN_LABEL) == \
        BOT_TOKEN.encode()
    again = await http.put("/api/alerts/secrets/telegram", json={"value": BOT_TOKEN + "x"})
    assert again.status_code == 200
    assert await asyncio.to_thread(read_secret, datadir, TELEGRAM_TOKEN_LABEL) == \
        (BOT_TOKEN + "x").encode()
    forgot = await http.delete("/api/alerts/secrets/telegram")
    assert forgot.status_code == 200
    with pytest.raises(SignerError):
        await asyncio.to_thread(read_secret, datadir, TELEGRAM_TOKEN_LABEL)
    assert (await http.delete("/api/alerts/secrets/telegram")).status_code == 200
    refused = [
        await http.put("/api/alerts/secrets/telegram", json={"value": BOT_TOKEN * 20}),
        await http.put("/api/alerts/secrets/telegram", json={"value": BOT_TOKEN + "\x07"}),
        await http.put("/api/alerts/secrets/telegram", json={"valu": BOT_TOKEN}),
        await http.put("/api/alerts/secrets/telegram", json=[BOT_TOKEN]),
        await http.put("/api/alerts/secrets/telegram",
                       content=json.dumps({"value": BOT_TOKEN})[:-2],
                       headers={"content-type": "application/json"}),
        await http.put("/api/alerts/secrets/bot-token", json={"value": BOT_TOKEN})]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [
        (422, "invalid_body"), (422, "bad_args"), (422, "invalid_body"), (422, "invalid_body"),
        (422, "invalid_body"), (404, "unknown_secret")]
    assert "value: String should have at most 512 characters" in refused[0].text
    assert "printable" in refused[1].text

    assert [(r.action, r.outcome, r.detail.get("which")) for r in changes_recorded(datadir)] \
        == [("alerts_secret", "ok", "telegram"), ("alerts_secret", "ok", "webhook"),
            ("alerts_secret", "ok", "telegram"), ("alerts_forget", "ok", "telegram"),
            ("alerts_forget", "ok", "telegram"), ("alerts_secret", "refused", "telegram"),
            ("alerts_secret", "refused", "telegram"), ("alerts_secret", "refused", "telegram"),
            ("alerts_secret", "refused", "telegram"), ("alerts_secret", "refused", "telegram"),
            ("PUT /api/alerts/secrets/bot-token", "refused", None)]
    said = [answer.text for answer in (replaced, keyed, again, forgot, *refused)]
    assert secrets_kept(datadir, tmp_path, BOT_TOKEN, *said, caplog.text) == []


async def test_without_the_supervisor_a_change_is_unavailable(user: User) -> None:
    answer = await user.http_client.put("/api/alerts", json=SETTINGS)

    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "unreachable")
