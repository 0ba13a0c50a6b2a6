"""The access routes: tokens, users, the allowlist and the activity log, as the owner uses them.

The supervisor's side is the real one (`AccessOps` on the box's appliance.db), so what these
routes change is what the box keeps.
"""

from __future__ import annotations

import httpx
from nicegui import app
from nicegui.testing.user import User

from appliance.datadir import DataDir
from tests.ui.conftest import log_in
from tests.ui.panel_box import (
    CONTROL_TOKEN,
    OPERATOR,
    OWNER,
    READ_TOKEN,
    ControlServer,
    activity_records,
)
from ui.auth.guard import SESSION_COOKIE


def bearer(text: str) -> httpx.AsyncClient:
    """Return a script's client: no cookie, only its token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                             headers={"authorization": f"Bearer {text}"})


async def test_session_says_who_is_asking(user: User) -> None:
    answer = (await user.http_client.get("/api/session")).json()
    assert (answer["name"], answer["role"], answer["owner"], answer["may_control"]) == (
        "alice", "owner", True, True)


async def test_a_token_is_shown_once_works_by_its_scope_and_stops_when_revoked(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    made = await user.http_client.post("/api/tokens", json={"name": "grafana", "scope": "read",
                                                            "days": 30})
    assert made.status_code == 201
    text, token_id = made.json()["token"], made.json()["id"]
    listed = (await user.http_client.get("/api/tokens")).json()["tokens"]
    assert token_id in [t["id"] for t in listed]
    assert text not in str(listed) and all("hash" not in t for t in listed)
    assert text.encode() not in datadir.appliance_db.read_bytes()
    async with bearer(text) as script:
        assert (await script.get("/api/bots")).status_code == 200
        assert (await script.post("/api/bots/bot-1/stop")).status_code == 403
        assert (await script.get("/api/tokens")).status_code == 403
        assert (await user.http_client.delete(f"/api/tokens/{token_id}")).status_code == 200
        assert (await script.get("/api/bots")).status_code == 401
    assert control.calls == []


async def test_a_control_token_controls_but_administers_nothing(
    user: User, control: ControlServer,
) -> None:
    async with bearer(CONTROL_TOKEN.text) as script:
        assert (await script.post("/api/bots/bot-1/stop")).status_code == 200
        assert (await script.post("/api/tokens", json={"name": "x", "scope": "read"})
                ).status_code == 403
    async with bearer(READ_TOKEN.text) as script:
        assert (await script.post("/api/bots/bot-1/start")).status_code == 403
    assert control.calls == [("stop_bot", {"bot": "bot-1"})]


async def test_an_operator_is_refused_every_owner_route(
    user: User, control: ControlServer,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    for method, path in (("GET", "/api/users"), ("GET", "/api/tokens"),
                         ("POST", "/api/tokens"), ("GET", "/api/allowlist"),
                         ("PUT", "/api/allowlist"), ("GET", "/api/activity"),
                         ("DELETE", f"/api/users/{OWNER.fingerprint}"), ("GET", "/unlock")):
        answer = await user.http_client.request(method, path, json={})
        assert answer.status_code == 403, (method, path)
    assert (await user.http_client.post("/api/bots/bot-1/stop")).status_code == 200


async def test_revoking_a_user_ends_their_sessions_and_the_last_owner_stays(
    user: User, control: ControlServer,
) -> None:
    panel = app.state.panel
    operator_session = panel.sessions.open("s", OPERATOR, "d", "127.0.0.1")
    revoked = await user.http_client.delete(f"/api/users/{OPERATOR.fingerprint}")
    assert revoked.status_code == 200
    assert panel.sessions.find(operator_session.id) is None
    last = await user.http_client.delete(f"/api/users/{OWNER.fingerprint}")
    assert last.status_code == 409 and "owner" in last.json()["error"]["message"]
    users = (await user.http_client.get("/api/users")).json()["users"]
    assert {u["name"]: u["revoked"] is not None for u in users} == {"alice": False, "bob": True}


async def test_an_allowlist_change_may_not_lock_out_its_author_and_waits_for_confirmation(
    user: User, control: ControlServer,
) -> None:
    locked_out = await user.http_client.put("/api/allowlist", json={"cidrs": ["10.0.0.0/8"]})
    assert locked_out.status_code == 409
    assert locked_out.json()["error"]["code"] == "lockout"
    junk = await user.http_client.put("/api/allowlist", json={"cidrs": ["not-a-net"]})
    assert junk.status_code == 422
    changed = await user.http_client.put("/api/allowlist",
                                         json={"cidrs": ["127.0.0.0/8", "10.0.0.0/8"]})
    assert changed.status_code == 200
    listed = (await user.http_client.get("/api/allowlist")).json()
    assert listed["cidrs"] == ["10.0.0.0/8", "127.0.0.0/8"] and listed["pending"] is not None
    assert (await user.http_client.post("/api/allowlist/confirm")).status_code == 200
    assert (await user.http_client.get("/api/allowlist")).json()["pending"] is None


async def test_bad_bodies_get_4xx_and_change_nothing(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    before = len(activity_records(datadir))
    answers = [
        await user.http_client.post("/api/tokens", content=b"name=x",
                                    headers={"content-type": "application/x-www-form-urlencoded"}),
        await user.http_client.post("/api/tokens", content=b"{junk",
                                    headers={"content-type": "application/json"}),
        await user.http_client.post("/api/tokens", json={"name": "x", "scope": "all"}),
        await user.http_client.post("/api/tokens", json={"name": "x", "scope": "read",
                                                         "days": 5000}),
        await user.http_client.post("/api/tokens", json={"name": "x", "scope": "read",
                                                         "extra": 1}),
        await user.http_client.put("/api/allowlist", json={"cidrs": []}),
    ]
    assert [a.status_code for a in answers] == [415, 422, 422, 422, 422, 422]
    assert (await user.http_client.get("/api/tokens")).json()["tokens"] == [
        t for t in (await user.http_client.get("/api/tokens")).json()["tokens"]
        if t["id"] in (CONTROL_TOKEN.id, READ_TOKEN.id)]
    assert [r.outcome for r in activity_records(datadir)[before:]] == ["refused"] * 6


async def test_the_activity_log_names_who_did_what_from_where(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    await user.http_client.post("/api/tokens", json={"name": "ci", "scope": "control"})
    await user.http_client.post("/api/bots/bot-9/stop")
    records = (await user.http_client.get("/api/activity")).json()
    assert records["chain"] == "intact"
    assert [(r["actor"], r["address"], r["action"], r["outcome"])
            for r in records["records"]] == [
        ("alice", "127.0.0.1", "token_create", "ok"),
        ("alice", "127.0.0.1", "POST /api/bots/bot-9/stop", "refused"),
    ]
    (created, _) = activity_records(datadir)
    assert created.fingerprint == OWNER.fingerprint and created.detail["scope"] == "control"
