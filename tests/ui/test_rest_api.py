"""The REST API under /api, called as a client on the LAN would call it."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from nicegui import app
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from tests.ui.panel_box import BOT_1_REQUESTS, OWNER, ControlServer, risk_trip
from ui.auth.guard import SESSION_COOKIE


async def test_health_answers_its_status_and_nothing_more_to_anyone(user: User) -> None:
    del user.http_client.cookies[SESSION_COOKIE]
    response = await user.http_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_bots_carry_the_ledger_with_decimals_as_strings(user: User) -> None:
    response = await user.http_client.get("/api/bots")

    assert response.status_code == 200
    bots = response.json()["bots"]
    position = bots["bot-1"]["positions"][0]
    assert {key: D(position[key]) for key in ("base", "average_cost", "mark", "realized",
                                               "unrealized", "fees", "volume")} == {
        "base": D("59.9"), "average_cost": D("0.99"), "mark": D("1.02"), "realized": D("0.8"),
        "unrealized": D("1.797"), "fees": D("0.1394"), "volume": D("139.4"),
    }
    assert all(isinstance(position[key], str) for key in ("base", "unrealized", "volume"))
    assert [(o["client_id"], o["side"], o["price"], o["amount"], o["filled"])
            for o in bots["bot-1"]["open_orders"]] == [
        ("c2", "sell", "1.01", "100", "40"), ("c4", "buy", "0.985", "20", "0"),
    ]
    assert [f["price"] for f in bots["bot-1"]["recent_fills"]] == ["1.01", "0.99"]
    assert (bots["bot-1"]["state"], bots["bot-1"]["enabled"]) == ("RUNNING", True)
    assert (bots["bot-2"]["events"], bots["bot-2"]["positions"]) == ("missing", [])


async def test_bots_carry_each_pairs_trading_state(user: User, datadir: DataDir) -> None:
    risk_trip(datadir, "bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)

    bots = (await user.http_client.get("/api/bots")).json()["bots"]

    (mts_usdt,) = bots["bot-1"]["pairs"]
    (mts_btc,) = bots["bot-2"]["pairs"]
    assert (mts_usdt["symbol"], mts_usdt["state"], mts_usdt["reason"], mts_usdt["trip"]) == (
        "MTS/USDT", "PAUSED", "no book for 5 s", "stale_data"
    )
    assert isinstance(mts_usdt["since"], float)
    assert {key: mts_btc[key] for key in ("state", "reason", "since", "trip")} == {
        "state": "PAUSED", "reason": "", "since": None, "trip": None
    }


async def test_the_api_log_lists_the_newest_requests_first_with_the_summary(user: User) -> None:
    response = await user.http_client.get("/api/bots/bot-1/api-log")

    assert response.status_code == 200
    answer = response.json()
    assert (answer["bot"], answer["log"], answer["detail"]) == ("bot-1", "read", "")
    assert [{key: entry[key] for key in ("method", "path", "status", "weight", "ms", "error")}
            for entry in answer["entries"]] == [
        {"method": method, "path": path, "status": status, "weight": weight, "ms": ms,
         "error": error}
        for _, method, path, status, weight, ms, error in reversed(BOT_1_REQUESTS)
    ]
    assert answer["entries"][0]["ts"] == answer["summary"]["last"]
    assert {key: answer["summary"][key] for key in ("requests", "errors", "weight")} == {
        "requests": 3, "errors": 2, "weight": 67
    }


async def test_the_api_log_limit_counts_from_the_newest(user: User) -> None:
    response = await user.http_client.get("/api/bots/bot-1/api-log", params={"limit": 2})

    assert response.status_code == 200
    assert [entry["method"] for entry in response.json()["entries"]] == ["DELETE", "POST"]
    assert response.json()["summary"]["requests"] == 3


@pytest.mark.parametrize("limit", ["0", "501", "-1", "2.5", "ten", "", "\uff11\uff10"])
async def test_a_bad_api_log_limit_says_what_to_send(user: User, limit: str) -> None:
    response = await user.http_client.get("/api/bots/bot-1/api-log", params={"limit": limit})

    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_limit")
    assert "from 1 to 500, like ?limit=50" in response.json()["error"]["message"]


async def test_a_bot_without_requests_has_an_empty_api_log(user: User) -> None:
    response = await user.http_client.get("/api/bots/bot-2/api-log")

    assert response.status_code == 200
    assert {key: response.json()[key] for key in ("log", "detail", "entries")} == {
        "log": "missing", "detail": "no exchange requests yet", "entries": []
    }
    assert response.json()["summary"] == {"requests": 0, "errors": 0, "weight": None,
                                           "last": None}


@pytest.mark.parametrize(("bot", "named"), [
    ("bot-9", "bot-9"), ("%2E%2E", ".."), ("bot-1..", "bot-1.."),
])
async def test_the_api_log_of_an_unknown_bot_is_a_404(user: User, bot: str, named: str) -> None:
    response = await user.http_client.get(f"/api/bots/{bot}/api-log")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_bot")
    assert response.json()["error"]["message"] == f"there is no bot named '{named}'"


async def symbol_action(user: User, bot: str, action: str, body: Any) -> httpx.Response:
    """Post a symbol action to the panel."""
    return await user.http_client.post(f"/api/bots/{bot}/symbols/{action}", json=body)


@pytest.mark.parametrize(("action", "before", "after"), [
    ("activate", SymbolState.PAUSED, "ACTIVE"), ("pause", SymbolState.ACTIVE, "PAUSED"),
    ("clear_halt", SymbolState.HALTED, "PAUSED"),
])
async def test_each_symbol_action_is_relayed_to_the_supervisor(
    user: User, control: ControlServer, action: str, before: SymbolState, after: str
) -> None:
    control.states["MTS/USDT"] = before

    response = await symbol_action(user, "bot-1", action, {"symbol": "MTS/USDT"})

    assert (response.status_code, response.json()) == (
        200, {"bot": "bot-1", "symbol": "MTS/USDT", "state": after}
    )
    assert control.calls == [
        ("symbol_action", {"bot": "bot-1", "symbol": "MTS/USDT", "action": action,
                           "actor": OWNER.name, "fingerprint": OWNER.fingerprint})
    ]


@pytest.mark.parametrize(("bot", "symbol", "status", "code", "says"), [
    ("bot-9", "MTS/USDT", 404, "unknown_bot", "bot-9"),
    ("bot-1", "MTS/EUR", 404, "unknown_symbol", "MTS/EUR"),
    ("bot-2", "MTS/BTC", 409, "not_running", "start it first"),
    ("bot-1", "MTS/USDT", 409, "refused", "clear the halt first"),
])
async def test_a_refused_symbol_action_carries_the_supervisors_code_and_message(
    user: User, control: ControlServer, bot: str, symbol: str, status: int, code: str, says: str
) -> None:
    control.states["MTS/USDT"] = SymbolState.HALTED

    response = await symbol_action(user, bot, "activate", {"symbol": symbol})

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert says in response.json()["error"]["message"]
    assert control.calls == []


async def test_an_unknown_symbol_action_lists_the_allowed_ones(
    user: User, control: ControlServer
) -> None:
    response = await symbol_action(user, "bot-1", "resume", {"symbol": "MTS/USDT"})

    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_action")
    assert "use one of activate, pause, clear_halt" in response.json()["error"]["message"]
    assert control.calls == []


@pytest.mark.parametrize("body", [None, [], {}, {"symbol": ""}, {"symbol": 7}, {"pair": "MTS"}])
async def test_a_symbol_action_without_a_symbol_says_what_to_send(
    user: User, control: ControlServer, body: Any
) -> None:
    response = await symbol_action(user, "bot-1", "activate", body)

    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_body")
    assert '{"symbol": "MTS/USDT"}' in response.json()["error"]["message"]
    assert control.calls == []


async def test_a_symbol_action_body_that_is_not_json_says_what_to_send(
    user: User, control: ControlServer
) -> None:
    response = await user.http_client.post(
        "/api/bots/bot-1/symbols/pause", content=b"symbol=MTS/USDT",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_body")
    assert control.calls == []


async def test_stop_and_start_are_relayed_to_the_supervisor(
    user: User, control: ControlServer
) -> None:
    stopped = await user.http_client.post("/api/bots/bot-1/stop")
    started = await user.http_client.post("/api/bots/bot-2/start")

    assert (stopped.status_code, stopped.json()) == (200, {"bot": "bot-1", "enabled": False})
    assert (started.status_code, started.json()) == (200, {"bot": "bot-2", "enabled": True})
    assert control.calls == [("stop_bot", {"bot": "bot-1"}), ("start_bot", {"bot": "bot-2"})]


async def test_an_unknown_bot_is_refused_with_the_supervisors_error(
    user: User, control: ControlServer
) -> None:
    response = await user.http_client.post("/api/bots/bot-9/start")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_bot"
    assert "bot-9" in response.json()["error"]["message"]
    assert control.calls == []


async def test_an_unreachable_supervisor_is_a_503(user: User) -> None:
    for response in (
        await user.http_client.post("/api/bots/bot-1/stop"),
        await symbol_action(user, "bot-1", "pause", {"symbol": "MTS/USDT"}),
    ):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unreachable"
        assert "control.sock" in response.json()["error"]["message"]


async def test_an_unreadable_appliance_db_is_a_503(
    user: User, datadir: DataDir
) -> None:
    assert (await user.http_client.get("/api/health")).status_code == 200
    datadir.appliance_db.write_bytes(b"garbage" * 1000)

    health = await user.http_client.get("/api/health")
    bots = await user.http_client.get("/api/bots")
    api_log = await user.http_client.get("/api/bots/bot-1/api-log")

    assert health.status_code == 503
    assert health.json() == {"status": "unavailable"}
    assert bots.status_code == 503
    assert (api_log.status_code, api_log.json()["error"]["code"]) == (503, "store_unavailable")


async def test_an_address_outside_the_allowlist_gets_403(user: User) -> None:
    transport = httpx.ASGITransport(app, client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://panel") as outsider:
        api = await outsider.get("/api/health")
        api_log = await outsider.get("/api/bots/bot-1/api-log")
        page = await outsider.get("/")

    assert (api.status_code, api_log.status_code, page.status_code) == (403, 403, 403)
    assert "192.0.2.7" in api.json()["error"]["message"]
