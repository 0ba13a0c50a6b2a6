"""The owner's Access page, as a simulated owner (and an operator) sees and uses it.

The supervisor's side is the real one (`AccessOps` on the box's appliance.db), so what the page
changes is what the box keeps. Enrolling a key, pulling one out and the locked box need a
signer: those tests run the real one with the development box's software keys and log in
through the login form.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nicegui import app, ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.store import access, appliance_db
from appliance.store.database import open_reader
from tests.ui.conftest import log_in
from tests.ui.panel_box import (
    OPERATOR,
    OWNER,
    READ_TOKEN,
    ControlServer,
    activity_records,
    table_rows,
)
from tests.ui.signer_box import OPERATOR_KEY, OWNER_KEY, STRANGER_KEY, KeyedSigner
from tests.ui.signer_box import log_in as key_login
from ui.auth.guard import SESSION_COOKIE
from ui.auth.tokens import TOKEN_SHAPE


def stored_tokens(datadir: DataDir) -> dict[str, access.ApiToken]:
    """Return the API tokens appliance.db keeps, by name."""
    db = open_reader(datadir.appliance_db)
    try:
        return {token.name: token for token in access.api_tokens(db)}
    finally:
        db.close()


def stored_allowlist(datadir: DataDir) -> tuple[list[str], access.AllowlistChange | None]:
    """Return the allowlist appliance.db keeps and the change waiting for confirmation."""
    db = open_reader(datadir.appliance_db)
    try:
        return list(appliance_db.allowlist(db)), access.allowlist_change(db)
    finally:
        db.close()


def on_page(user: User, text: str) -> bool:
    """Return whether any element of the open page holds `text`, shown or not."""
    assert user.client is not None
    return any(text in json.dumps(element._to_dict(), default=str)
               for element in user.client.elements.values())


def shown_token(user: User) -> str:
    """Return the one token text the page shows."""
    (text,) = [str(label.text) for label in user.find(kind=ui.label).elements
               if TOKEN_SHAPE.fullmatch(label.text)]
    return text


async def rows_when(user: User, marker: str,
                    holds: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Return a table's rows once they satisfy `holds` (the page refreshes every second)."""
    for _ in range(60):
        rows: list[dict[str, Any]] = list(table_rows(user, marker))
        if holds(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {marker} table never showed what was expected: {rows}")


def names(rows: list[dict[str, Any]]) -> list[str]:
    """Return the name column of a table's rows."""
    return [str(row["name"]) for row in rows]


def set_editor(user: User, text: str) -> None:
    """Replace what the allowlist editor holds."""
    user.find(kind=ui.textarea).clear().type(text)



def as_operator(visitor: User) -> None:
    """Make the visitor an operator instead of the owner."""
    visitor.http_client.cookies.delete(SESSION_COOKIE)
    log_in(visitor, OPERATOR)


def bearer(text: str) -> httpx.AsyncClient:
    """Return a script's client: no cookie, only its token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                             headers={"authorization": f"Bearer {text}"})


async def test_the_owner_sees_the_users_and_the_tokens(
    user: User, control: ControlServer
) -> None:
    await user.open("/access")

    users = {row["name"]: row for row in await rows_when(user, "users", bool)}
    assert set(users) == {"alice", "bob"}
    assert (users["bob"]["role"], users["bob"]["serial"], users["bob"]["revoked"]) == (
        "operator", "1002", "—")
    assert users["bob"]["fingerprint"] == OPERATOR.fingerprint[:23] + "…"
    assert sorted((r["name"], r["scope"]) for r in table_rows(user, "tokens")) == [
        ("control script", "control"), ("read script", "read")]
    await user.should_see("Allowed now: 127.0.0.1/32")
    await user.should_see("The log's chain is intact.")


async def test_a_new_token_is_shown_once_then_listed_without_its_text(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/access")
    with user.scope(marker="tokens-card"):
        user.find("Name").type("grafana")
        user.find("Create token").click()

    await user.should_see("It will not be shown again")
    text = shown_token(user)
    assert on_page(user, text)
    async with bearer(text) as script:
        assert (await script.get("/api/bots")).status_code == 200
    user.find("I have copied it").click()

    await user.should_not_see("It will not be shown again")
    assert not on_page(user, text)
    rows = await rows_when(user, "tokens", lambda rows: "grafana" in names(rows))
    assert text not in str(rows)
    assert stored_tokens(datadir)["grafana"].scope is access.TokenScope.READ


async def test_bad_form_input_says_what_is_wrong_and_changes_nothing(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    before = (stored_tokens(datadir), stored_allowlist(datadir), len(activity_records(datadir)))
    await user.open("/access")
    with user.scope(marker="tokens-card"):
        user.find("Create token").click()
    await user.should_see("name: String should have at least 1 character")
    set_editor(user, "")
    user.find("Apply").click()
    await user.should_see("cidrs: List should have at least 1 item")

    after = (stored_tokens(datadir), stored_allowlist(datadir), len(activity_records(datadir)))
    assert after == before


async def test_revoking_a_token_asks_first_and_then_the_token_opens_nothing(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/access")
    await rows_when(user, "tokens", lambda rows: "read script" in names(rows))

    user.find(marker="tokens").trigger("revoke", READ_TOKEN.id)
    await user.should_see("Scripts using it are refused from now on.")
    user.find("Cancel").click()
    await user.should_not_see("Scripts using it are refused from now on.")
    assert stored_tokens(datadir)["read script"].revoked is None

    user.find(marker="tokens").trigger("revoke", READ_TOKEN.id)
    await user.should_see("Revoke token")
    user.find("Revoke token").click()

    await user.should_see("The token read script is revoked")
    assert stored_tokens(datadir)["read script"].revoked is not None
    async with bearer(READ_TOKEN.text) as script:
        assert (await script.get("/api/bots")).status_code == 401
    rows = await rows_when(user, "tokens", lambda rows: any(
        r["name"] == "read script" and r["revoked"] != "—" for r in rows))
    assert sorted((r["name"], r["live"]) for r in rows) == [
        ("control script", True), ("read script", False)]


async def test_revoking_a_user_ends_their_session_and_the_last_owner_stays(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    panel = app.state.panel
    bobs = panel.sessions.open("s", OPERATOR, "d", "127.0.0.1")
    await user.open("/access")
    await rows_when(user, "users", lambda rows: "bob" in names(rows))

    user.find(marker="users").trigger("revoke", OPERATOR.fingerprint)
    await user.should_see("Revoke user")
    user.find("Revoke user").click()
    await user.should_see("bob is revoked")
    assert panel.sessions.find(bobs.id) is None

    user.find(marker="users").trigger("revoke", OWNER.fingerprint)
    await user.should_see("Revoke user")
    user.find("Revoke user").click()
    await user.should_see("alice is the box's last owner; enrol another owner")
    assert [r.action for r in activity_records(datadir)] == ["user_revoke", "user_revoke"]
    assert [r.outcome for r in activity_records(datadir)] == ["ok", "conflict"]


async def test_an_allowlist_change_that_would_lock_out_the_owner_is_refused(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/access")

    set_editor(user, "10.0.0.0/8")
    user.find("Apply").click()

    await user.should_see("127.0.0.1, the address making this change, is in none of the "
                          "proposed networks")
    assert stored_allowlist(datadir) == (["127.0.0.1/32"], None)
    await user.should_not_see("Keep this allowlist")


async def test_an_accepted_allowlist_change_waits_until_the_owner_keeps_it(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/access")

    set_editor(user, "127.0.0.0/8\n10.0.0.0/8\n")
    user.find("Apply").click()

    await user.should_see("The new allowlist reverts in")
    cidrs, pending = stored_allowlist(datadir)
    assert cidrs == ["10.0.0.0/8", "127.0.0.0/8"] and pending is not None
    user.find("Keep this allowlist").click()

    await user.should_see("The new allowlist is kept: 10.0.0.0/8, 127.0.0.0/8")
    await user.should_not_see("The new allowlist reverts in")
    assert stored_allowlist(datadir) == (["10.0.0.0/8", "127.0.0.0/8"], None)
    await user.should_see("Allowed now: 10.0.0.0/8, 127.0.0.0/8", retries=100)


async def test_the_activity_section_lists_what_the_page_did_and_who_did_it(
    user: User, control: ControlServer, datadir: DataDir
) -> None:
    await user.open("/access")
    with user.scope(marker="tokens-card"):
        user.find("Name").type("ci")
        user.find("Scope").click()
        user.find("control").click()
        user.find("Create token").click()
    await user.should_see("It will not be shown again")
    user.find("I have copied it").click()
    set_editor(user, "10.0.0.0/8")
    user.find("Apply").click()
    await user.should_see("is in none of the proposed networks")

    rows = await rows_when(user, "activity", lambda rows: len(rows) == 2)
    await user.should_see("The log's chain is intact.")
    assert [(r["actor"], r["address"], r["action"], r["outcome"]) for r in rows] == [
        ("alice", "127.0.0.1", "allowlist_propose", "lockout"),
        ("alice", "127.0.0.1", "token_create", "ok"),
    ]
    created = activity_records(datadir)[0]
    assert created.fingerprint == OWNER.fingerprint
    assert created.detail == {"via": "panel", "token": stored_tokens(datadir)["ci"].id,
                              "name": "ci", "scope": "control"}


async def test_an_operator_is_refused_the_access_page_and_sees_no_link_to_it(
    user: User, control: ControlServer
) -> None:
    as_operator(user)

    assert (await user.http_client.get("/access")).status_code == 403
    await user.open("/")
    await user.should_see("bob (operator)")
    await user.should_not_see(kind=ui.link, content="Access")


async def test_the_owner_has_a_link_to_the_access_page_and_no_pull_key_button(
    user: User, control: ControlServer
) -> None:
    await user.open("/")

    await user.should_see(kind=ui.link, content="Access")
    await user.should_not_see("Pull key")


async def session_ended(visitor: User) -> bool:
    """Return whether the visitor's session ends within two seconds."""
    for _ in range(40):
        if (await visitor.http_client.get("/api/session")).status_code == 401:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_an_owner_enrols_a_plugged_key_that_then_logs_in(
    guest: User, signer: KeyedSigner, datadir: DataDir
) -> None:
    await key_login(guest, OWNER_KEY, signer.key_pin)
    await guest.open("/access")
    with guest.scope(marker="users-card"):
        await guest.should_see("serial", retries=100)
        (keys,) = guest.find("Key plugged in").elements
        assert isinstance(keys, ui.select) and list(keys.options) == [STRANGER_KEY]
        guest.find("Name").type("erin")
        guest.find("Key PIN (if it asks)").type(signer.key_pin)
        guest.find(kind=ui.button, content="Enrol").click()

    await guest.should_see("erin is enrolled as operator", retries=100)
    assert not on_page(guest, signer.key_pin)
    rows = await rows_when(guest, "users", lambda rows: "erin" in names(rows))
    assert [(r["role"], r["live"]) for r in rows if r["name"] == "erin"] == [("operator", True)]
    (enrolled,) = [r for r in activity_records(datadir) if r.action == "user_enrol"]
    assert (enrolled.actor, enrolled.outcome, enrolled.detail["user"]) == ("carol", "ok", "erin")
    await guest.http_client.post("/logout")
    await key_login(guest, STRANGER_KEY, signer.key_pin)
    assert (await guest.http_client.get("/api/session")).json()["name"] == "erin"


async def test_pull_key_pulls_the_sessions_key_and_ends_the_session(
    guest: User, signer: KeyedSigner
) -> None:
    await key_login(guest, OPERATOR_KEY, signer.key_pin)
    await guest.open("/")

    guest.find("Pull key").click()

    assert await session_ended(guest)
    page = await guest.http_client.get("/login")
    assert "Plug in soft:dev-key-2" in page.text


@pytest.mark.parametrize("signer", [True], indirect=True)
async def test_the_locked_banner_links_owners_to_unlock(
    guest: User, signer: KeyedSigner
) -> None:
    await key_login(guest, OWNER_KEY, signer.key_pin)
    await guest.open("/")
    await guest.should_see("The box is locked", retries=100)
    await guest.should_see(kind=ui.link, content="Unlock the box")
    await guest.http_client.post("/logout")

    await key_login(guest, OPERATOR_KEY, signer.key_pin)
    await guest.open("/")
    await guest.should_see("no bot trades until an owner unlocks it", retries=100)
    await guest.should_not_see(kind=ui.link, content="Unlock the box")
