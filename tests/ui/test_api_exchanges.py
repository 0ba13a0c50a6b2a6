"""Exchange accounts and pairs through the panel's REST routes (the Exchanges page is
test_exchanges_page's).

The supervisor's side is the real one (`ExchangeOps` on the box's appliance.db, as panel_box's
control socket serves it), with a real signer on SoftHSM2 and real ccxt to the simulator over
HTTP, so what the panel tests, adds and removes is what the box keeps. Refusals the supervisor
makes before it reaches the signer are tested without one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.license import Limits
from appliance.store.access import ActivityRecord
from tests.conftest import RunningSimulator, free_port
from tests.ui.conftest import log_in
from tests.ui.panel_box import CONTROL_TOKEN, OPERATOR, READ_TOKEN, ControlServer, activity_records
from tests.ui.signer_box import OWNER_KEY, KeyedSigner
from tests.ui.signer_box import log_in as key_login
from ui.api import MAX_BODY
from ui.auth.guard import SESSION_COOKIE

SECRET = "s3cr3t-never-shown-0123456789abcdef"
"""A secret the panel is sent where it does not fit: no answer may repeat it."""


async def open_account(simulator: RunningSimulator, name: str, **options: Any
                       ) -> dict[str, Any]:
    """Open an account at the simulator as an owner opens one at an exchange: key and secret."""
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(f"{simulator.url}/sim/accounts", json={
            "name": name, "balances": {"MTS": "1000", "USDT": "10000"}, **options})
    assert answer.status_code == 201, answer.text
    account: dict[str, Any] = answer.json()
    return account


def connection(simulator: RunningSimulator, account: dict[str, Any]) -> dict[str, Any]:
    """Return the body that tests an account of the simulator."""
    return {"exchange": "simulator", "api_url": simulator.url,
            "credentials": {"apiKey": account["apiKey"], "secret": account["secretKey"]}}


@pytest.fixture
async def owner(guest: User, signer: KeyedSigner) -> User:
    """Return a visitor logged in with the owner's software key: the signer knows the session,
    as it must for the signer's session watch to keep it."""
    await key_login(guest, OWNER_KEY, signer.key_pin)
    return guest


def bearer(text: str) -> httpx.AsyncClient:
    """Return a script's client: no cookie, only its token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                             headers={"authorization": f"Bearer {text}"})


def box_files_hold(datadir: DataDir, text: str) -> list[Path]:
    """Return the files of the box's data directory that hold `text` as it was typed."""
    return [path for path in datadir.root.rglob("*")
            if path.is_file() and text.encode() in path.read_bytes()]


def secrets_kept(datadir: DataDir, tmp_path: Path, secret: str, *said: str) -> list[str]:
    """Return where a secret is found: the box's files, the signer's log, the activity log,
    or any of `said` (answers, logs)."""
    found = [str(path) for path in box_files_hold(datadir, secret)]
    log = tmp_path / "signer.log"
    if log.exists() and secret in log.read_text(errors="replace"):
        found.append("the signer's log")
    if secret in json.dumps([r.detail for r in activity_records(datadir)]):
        found.append("the activity log")
    return found + [text[:80] for text in said if secret in text]


def changes_recorded(datadir: DataDir) -> list[ActivityRecord]:
    """Return the activity log without its logins."""
    return [r for r in activity_records(datadir) if r.action != "login"]


async def test_the_catalog_lists_the_simulator_first_and_says_why_others_are_not_offered(
    user: User,
) -> None:
    answer = await user.http_client.get("/api/exchanges/catalog")

    assert answer.status_code == 200
    choices = answer.json()
    assert choices[0] == {"id": "simulator", "name": "Exchange simulator (Binance spot API)",
                          "credentials": ["apiKey", "secret"], "sandbox": False,
                          "supported": True, "missing": None}
    unsupported = [c for c in choices if not c["supported"]]
    assert unsupported and all(c["missing"] for c in unsupported)
    assert len({c["id"] for c in choices}) == len(choices)


async def test_an_owner_tests_adds_and_removes_an_account_and_its_pair(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
    datadir: DataDir, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    account = await open_account(simulator, "owner-1")
    body = connection(simulator, account)
    http = owner.http_client

    tested = await http.post("/api/exchanges/test", json=body)
    assert tested.status_code == 200, tested.text
    found = tested.json()
    assert found["markets"] > 0 and found["balances"]["MTS"] == "1000"
    assert found["permissions"]["withdraw"] is False and "MTS/USDT" in found["asset_markets"]
    added = await http.post("/api/exchanges", json={**body, "name": "main", "bot": "bot-1"})
    assert added.status_code == 201, added.text
    assert added.json() == {"name": "main", "bot": "bot-1", "exchange": "binance",
                            "kind": "hmac", "label": "bot-1.main.hmac"}
    paired = await http.post("/api/bots/bot-1/pairs",
                             json={"exchange": "main", "symbol": "MTS/USDC"})
    assert paired.status_code == 201, paired.text
    assert paired.json()["started"] is False  # the test box's bots run no process
    listed = {(a["name"], a["bot"]): a for a in (await http.get("/api/exchanges")).json()[
        "accounts"]}
    assert listed["main", "bot-1"] == {
        "name": "main", "exchange": "binance", "api_url": simulator.url, "sandbox": False,
        "bot": "bot-1", "kind": "hmac", "api_key": account["apiKey"], "pairs": ["MTS/USDC"]}

    kept = await http.delete("/api/exchanges/main/bot-1")
    assert kept.status_code == 409
    assert kept.json()["error"]["message"] == ("bot-1 still trades MTS/USDC on 'main'; remove "
                                               "those pairs first")
    unpaired = await http.delete("/api/bots/bot-1/pairs/main/MTS/USDC")
    assert unpaired.status_code == 200 and unpaired.json()["cancelled"] == 0
    removed = await http.delete("/api/exchanges/main/bot-1")
    assert removed.status_code == 200 and removed.json()["destroyed"] == ["bot-1.main.hmac"]
    accounts = (await http.get("/api/exchanges")).json()["accounts"]
    assert [a["name"] for a in accounts] == ["sim"]

    assert [(r.action, r.outcome, r.actor) for r in changes_recorded(datadir)] == [
        ("exchange_test", "ok", "carol"), ("exchange_add", "ok", "carol"),
        ("pair_add", "ok", "carol"), ("exchange_remove", "refused", "carol"),
        ("pair_remove", "ok", "carol"), ("exchange_remove", "ok", "carol")]
    said = [tested.text, added.text, paired.text, caplog.text]
    assert secrets_kept(datadir, tmp_path, account["secretKey"], *said) == []


async def test_an_ed25519_key_is_made_on_the_token_and_its_public_key_registered(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
) -> None:
    await open_account(simulator, "owner-2")
    made = await owner.http_client.post("/api/exchanges/keys",
                                       json={"name": "edge", "bot": "bot-2"})
    assert made.status_code == 200, made.text
    pem = made.json()["public_key_pem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    async with httpx.AsyncClient(trust_env=False) as http:
        registered = (await http.post(f"{simulator.url}/sim/accounts/owner-2/ed25519-keys",
                                      json={"ed25519_public_key": pem})).json()

    added = await owner.http_client.post("/api/exchanges", json={
        "exchange": "simulator", "api_url": simulator.url, "name": "edge", "bot": "bot-2",
        "kind": "ed25519", "credentials": {"apiKey": registered["apiKey"]}})

    assert added.status_code == 201, added.text
    assert added.json()["label"] == "bot-2.edge.ed25519"


async def test_a_key_that_can_withdraw_is_refused_with_how_to_make_a_trade_only_one(
    owner: User, control: ControlServer, signer: KeyedSigner, simulator: RunningSimulator,
) -> None:
    account = await open_account(simulator, "owner-3", enable_withdrawals=True)
    body = connection(simulator, account)

    tested = await owner.http_client.post("/api/exchanges/test", json=body)
    added = await owner.http_client.post("/api/exchanges",
                                        json={**body, "name": "main", "bot": "bot-1"})

    for refused in (tested, added):
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "withdraw_enabled"
        assert "create a trade-only key at the exchange" in refused.text
        assert account["secretKey"] not in refused.text
    accounts = (await owner.http_client.get("/api/exchanges")).json()["accounts"]
    assert [a["name"] for a in accounts] == ["sim"]


async def test_an_exchange_that_does_not_answer_is_a_bad_gateway(
    owner: User, control: ControlServer, signer: KeyedSigner,
) -> None:
    body = {"exchange": "simulator", "api_url": f"http://127.0.0.1:{free_port()}",
            "credentials": {"apiKey": "key", "secret": SECRET}}

    answer = await owner.http_client.post("/api/exchanges/test", json=body)

    assert answer.status_code == 502, answer.text
    assert answer.json()["error"]["code"] == "connection_failed"
    assert SECRET not in answer.text


SIM = {"exchange": "simulator", "api_url": "http://127.0.0.1:2",
       "credentials": {"apiKey": "key", "secret": SECRET}}


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/api/exchanges/test", {**SIM, "exchange": "nowhere"}, 422, "bad_args"),
    ("POST", "/api/exchanges/test", {**SIM, "exchange": "alpaca"}, 422, "not_supported"),
    ("POST", "/api/exchanges", {**SIM, "name": "sim", "bot": "bot-1"}, 409, "conflict"),
    ("POST", "/api/bots/bot-1/pairs", {"exchange": "sim", "symbol": "BTC/USDT"}, 422,
     "asset_locked"),
    ("POST", "/api/bots/bot-1/pairs", {"exchange": "nope", "symbol": "MTS/USDT"}, 404,
     "not_found"),
    ("POST", "/api/bots/bot-9/pairs", {"exchange": "sim", "symbol": "MTS/USDT"}, 404,
     "not_found"),
    ("DELETE", "/api/exchanges/nope/bot-1", None, 404, "not_found"),
    ("DELETE", "/api/bots/bot-1/pairs/nope/MTS/USDT", None, 404, "not_found"),
])
async def test_the_supervisors_refusals_keep_their_code_and_map_to_a_status(
    user: User, control: ControlServer, method: str, path: str, body: dict[str, Any] | None,
    status: int, code: str,
) -> None:
    answer = await user.http_client.request(method, path, json=body)

    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert SECRET not in answer.text


async def test_the_license_tier_caps_the_exchanges(
    user: User, control: ControlServer,
) -> None:
    control.limits = Limits(bots=2, exchanges=1, users=5)

    answer = await user.http_client.post("/api/exchanges",
                                         json={**SIM, "name": "second", "bot": "bot-1"})

    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "limit")
    assert "license allows 1 exchange(s)" in answer.text


async def test_without_the_supervisor_a_change_is_unavailable(user: User) -> None:
    answer = await user.http_client.post("/api/bots/bot-1/pairs",
                                         json={"exchange": "sim", "symbol": "MTS/USDT"})

    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "unreachable")


@pytest.mark.parametrize(("body", "says"), [
    ({**SIM, "credentials": {"apiKey": "key", "secret": SECRET * 20}},
     "credentials.secret: String should have at most 512 characters"),
    ({**SIM, "credentials": {"apiKey": "key", "password": [SECRET]}},
     "credentials.password: Input should be a valid string"),
    ({**SIM, "credentials": {"apiKey": "key", "secrte": SECRET}},
     "credentials.secrte: Extra inputs are not permitted"),
    ({**SIM, "exchange": "Not An Id", "credentials": {"secret": SECRET}}, "exchange: String "
     "should match pattern"),
    ({"credentials": {"secret": SECRET}}, "exchange: Field required"),
    ({**SIM, "api_url": SECRET}, "api_url: String should match pattern"),
])
async def test_a_bad_body_names_its_field_and_never_repeats_a_secret(
    user: User, control: ControlServer, datadir: DataDir, body: dict[str, Any], says: str,
) -> None:
    for path in ("/api/exchanges/test", "/api/exchanges"):
        answer = await user.http_client.post(path, json={**body, "name": "main", "bot": "bot-1"}
                                             if path == "/api/exchanges" else body)

        assert answer.status_code == 422, answer.text
        assert says in answer.json()["error"]["message"]
        assert SECRET not in answer.text
    assert SECRET not in json.dumps([r.detail for r in activity_records(datadir)])


async def test_a_body_that_is_not_json_is_refused_without_repeating_it(
    user: User, control: ControlServer,
) -> None:
    http = user.http_client
    cut = json.dumps(connection_of_secret())[:-3].encode()
    json_type = {"content-type": "application/json"}

    assert (await http.post("/api/exchanges/test", content=cut, headers=json_type)
            ).status_code == 422
    broken = await http.post("/api/exchanges", content=cut, headers=json_type)
    plain = await http.post("/api/exchanges/test", content=json.dumps(connection_of_secret()),
                            headers={"content-type": "text/plain"})
    huge = await http.post("/api/exchanges/test", content=b" " * (MAX_BODY + 1),
                           headers=json_type)

    assert "Invalid JSON" in broken.json()["error"]["message"]
    assert (plain.status_code, huge.status_code) == (415, 422)
    assert all(SECRET not in answer.text for answer in (broken, plain, huge))


def connection_of_secret() -> dict[str, Any]:
    """Return a well-formed test body holding SECRET."""
    return {**SIM, "credentials": {"apiKey": "key", "secret": SECRET}}


async def test_operators_and_tokens_read_accounts_but_only_owners_change_them(
    user: User, control: ControlServer, datadir: DataDir,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/exchanges/test", connection_of_secret()),
        ("POST", "/api/exchanges", {**connection_of_secret(), "name": "main", "bot": "bot-1"}),
        ("POST", "/api/exchanges/keys", {"name": "main", "bot": "bot-1"}),
        ("DELETE", "/api/exchanges/sim/bot-1", None),
        ("POST", "/api/bots/bot-1/pairs", {"exchange": "sim", "symbol": "MTS/USDC"}),
        ("DELETE", "/api/bots/bot-1/pairs/sim/MTS/USDT", None),
    ]
    async with bearer(CONTROL_TOKEN.text) as control_script, bearer(READ_TOKEN.text) as reader:
        for caller in (user.http_client, control_script, reader):
            assert (await caller.get("/api/exchanges")).status_code == 200
            assert (await caller.get("/api/exchanges/catalog")).status_code == 200
            for method, path, body in changes:
                answer = await caller.request(method, path, json=body)
                assert answer.status_code == 403, (method, path, answer.text)
                assert SECRET not in answer.text
    records = activity_records(datadir)
    assert len(records) == 3 * len(changes)
    assert {r.outcome for r in records} == {"refused"}
    assert SECRET not in json.dumps([r.detail for r in records])
