"""USB-key login, logout, expiry, throttling and unlocking, with a real signer and real keys.

The panel runs in-process (NiceGUI's simulated visitor); the signer is `python -m hsm` on real
SoftHSM2 tokens, the operator keys being the development box's software keys.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from appliance.datadir import DataDir
from appliance.store.appliance_db import put_setting
from appliance.store.database import open_writer
from hsm.const import OPERATOR_PIN_GUARD_FILE
from hsm.pinguard import PinGuard
from tests.hsm.signer_bed import audit_records
from tests.ui.panel_box import PANEL_MAIN, ControlServer
from tests.ui.signer_box import (
    OPERATOR_KEY,
    OWNER_KEY,
    STRANGER_KEY,
    KeyedSigner,
    log_in,
)
from ui.auth.guard import SESSION_COOKIE
from ui.auth.throttle import LIMIT


def verifications(signer: KeyedSigner) -> int:
    """Return the wrong PINs in a row the signer met logging in to an operator key.

    The signer counts each PIN it tries on a key and forgets the count at a right one, so an
    unchanged count after a right PIN proves the key was not tried.
    """
    return PinGuard(signer.data.hsm / OPERATOR_PIN_GUARD_FILE).state().failures


async def test_the_login_page_lists_the_plugged_keys_by_their_users(guest: User) -> None:
    page = await guest.http_client.get("/login")
    assert page.status_code == 200
    for shown in ("carol (owner)", "dave (operator)", "not enrolled on this box",
                  'type="password"'):
        assert shown in page.text
    assert (await guest.http_client.get("/")).headers["location"] == "/login"


async def test_an_owner_logs_in_and_the_session_opens_pages_and_api(
    guest: User, signer: KeyedSigner,
) -> None:
    answer = await log_in(guest, OWNER_KEY, signer.key_pin)
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = answer.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "secure", "samesite=strict", "path=/"))
    session = (await guest.http_client.get("/api/session")).json()
    assert (session["name"], session["role"]) == ("carol", "owner")
    await guest.open("/")
    await guest.should_see("carol (owner)")


async def test_a_wrong_pin_is_refused_and_past_the_limit_the_key_is_not_tried(
    guest: User, signer: KeyedSigner,
) -> None:
    for _ in range(LIMIT):
        refused = await log_in(guest, OPERATOR_KEY, "0000-wrong")
        assert refused.status_code == 401 and "0000-wrong" not in refused.text
    tried = verifications(signer)
    assert tried == LIMIT
    for pin in ("0000-wrong", signer.key_pin):
        throttled = await log_in(guest, OPERATOR_KEY, pin)
        assert throttled.status_code == 429 and "try again in" in throttled.text
    assert verifications(signer) == tried, "a throttled login still reached the key"
    assert SESSION_COOKIE not in guest.http_client.cookies


async def test_a_key_enrolled_for_nobody_logs_nobody_in(
    guest: User, signer: KeyedSigner,
) -> None:
    refused = await log_in(guest, STRANGER_KEY, signer.key_pin)
    assert refused.status_code == 401 and "not enrolled" in refused.text
    assert not any(r.get("op") == "login_challenge" for r in audit_records(signer.data))


async def test_after_logout_the_session_cookie_opens_nothing(
    guest: User, signer: KeyedSigner,
) -> None:
    await log_in(guest, OWNER_KEY, signer.key_pin)
    session_id = guest.http_client.cookies[SESSION_COOKIE]
    out = await guest.http_client.post("/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    guest.http_client.cookies.set(SESSION_COOKIE, session_id)
    assert (await guest.http_client.get("/api/session")).status_code == 401
    assert (await guest.http_client.get("/")).status_code == 303


async def test_pulling_the_key_ends_its_session(guest: User, signer: KeyedSigner) -> None:
    await log_in(guest, OPERATOR_KEY, signer.key_pin)
    assert (await guest.http_client.get("/api/session")).status_code == 200
    signer.pull(OPERATOR_KEY)
    for _ in range(40):
        if (await guest.http_client.get("/api/session")).status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert (await guest.http_client.get("/api/session")).status_code == 401
    page = await guest.http_client.get("/login")
    assert "dave (operator)" not in page.text and "Plug in soft:dev-key-2" in page.text


async def test_a_software_key_is_plugged_back_in_from_the_login_page(
    guest: User, signer: KeyedSigner,
) -> None:
    signer.pull(OWNER_KEY)
    plugged = await guest.http_client.post("/login/dev-key", data={"device": OWNER_KEY})
    assert (plugged.status_code, plugged.headers["location"]) == (303, "/login")
    assert (await log_in(guest, OWNER_KEY, signer.key_pin)).status_code == 303


async def test_an_idle_session_expires(
    datadir: DataDir, signer: KeyedSigner, control: ControlServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = open_writer(datadir.appliance_db)
    put_setting(db, "session_idle_s", "0.5")
    db.close()
    monkeypatch.setattr(sys, "argv", ["python -m ui", "--data", str(datadir.root)])
    async with user_simulation(main_file=PANEL_MAIN) as visitor:
        visitor.http_client.headers["origin"] = f"https://{visitor.http_client.base_url.host}"
        await log_in(visitor, OWNER_KEY, signer.key_pin)
        assert (await visitor.http_client.get("/api/session")).status_code == 200
        await asyncio.sleep(0.6)
        assert (await visitor.http_client.get("/api/session")).status_code == 401


@pytest.mark.parametrize("signer", [True], indirect=True, ids=["locked"])
async def test_a_locked_box_is_unlocked_by_an_owner_with_the_token_pin(
    guest: User, signer: KeyedSigner,
) -> None:
    assert signer.client.call("status")["locked"] is True
    await log_in(guest, OPERATOR_KEY, signer.key_pin)
    assert (await guest.http_client.post("/unlock", data={"pin": signer.box_pin})
            ).status_code == 403
    await guest.http_client.post("/logout")
    await log_in(guest, OWNER_KEY, signer.key_pin)
    page = await guest.http_client.get("/unlock")
    assert "Unlock the box" in page.text
    wrong = await guest.http_client.post("/unlock", data={"pin": "not-the-pin"})
    assert wrong.status_code == 401 and "not-the-pin" not in wrong.text
    assert signer.client.call("status")["locked"] is True
    right = await guest.http_client.post("/unlock", data={"pin": signer.box_pin})
    assert (right.status_code, right.headers["location"]) == (303, "/")
    assert signer.client.call("status")["locked"] is False


async def test_no_pin_nor_session_id_reaches_a_log(
    guest: User, signer: KeyedSigner, datadir: DataDir, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await log_in(guest, OWNER_KEY, "wrong-pin-1234")
    await log_in(guest, OWNER_KEY, signer.key_pin)
    session_id = guest.http_client.cookies[SESSION_COOKIE]
    await guest.http_client.post("/api/bots/bot-1/stop")
    await guest.http_client.post("/logout")
    secrets = ("wrong-pin-1234", signer.key_pin, signer.box_pin, session_id)
    logs = caplog.text + (tmp_path / "signer.log").read_text()
    stored = b"".join(p.read_bytes() for p in datadir.root.rglob("*")
                      if p.is_file() and "tokens" not in p.parts and p.suffix != ".pin")
    for secret in secrets:
        assert secret not in logs
        assert secret.encode() not in stored
