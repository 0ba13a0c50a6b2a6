"""`/metrics`: the box's figures as Prometheus scrapes them, read with prometheus_client's parser.

The figures are checked against the ledger rebuilt from the test box's events.db, and a risk
trip written to a bot's log must show in its counter at the next scrape.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from nicegui import app
from nicegui.testing.user import User
from prometheus_client.parser import text_string_to_metric_families

from appliance.datadir import DataDir
from appliance.ledger import positions_from_events
from appliance.risk.const import SymbolState, TripKind
from appliance.store.appliance_db import ProcessStatus, put_process
from appliance.store.database import open_writer
from appliance.store.events import Event, EventKind, QuotesChosen, open_events, read_events
from tests.ui.panel_box import CONTROL_TOKEN, READ_TOKEN, risk_trip
from tests.ui.panel_server import serving_panel, trusting
from ui.auth.guard import SESSION_COOKIE

METRICS = "/metrics"
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0;q=0.5,"
                     "text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
"""What Prometheus asks a target for."""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def bearer(text: str) -> httpx.AsyncClient:
    """Return a script's client of the panel built in-process: no cookie, only its token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                             headers={"authorization": f"Bearer {text}"})


def parsed(text: str) -> Samples:
    """Return every sample of a scrape by its name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def scrape(token: str = READ_TOKEN.text) -> Samples:
    """Scrape the panel as Prometheus does with a token; return the samples."""
    async with bearer(token) as prometheus:
        answer = await prometheus.get(METRICS, headers={"accept": PROMETHEUS_ACCEPT})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parsed(answer.text)


def of(samples: Samples, name: str, **labels: str) -> float | None:
    """Return one sample's value, or None if the scrape has no such sample."""
    return samples.get((name, frozenset(labels.items())))


def pair(bot: str = "bot-1", symbol: str = "MTS/USDT", **more: str) -> dict[str, str]:
    """Return the labels of one of a bot's pairs."""
    return {"bot": bot, "symbol": symbol, **more}


def logged(datadir: DataDir, bot: str) -> list[Event]:
    """Return every event of a bot's log, as the ledger reads it."""
    db = open_events(datadir.events_db(bot))
    try:
        return read_events(db)
    finally:
        db.close()


def set_process(datadir: DataDir, status: ProcessStatus) -> None:
    """Record a process in appliance.db as the supervisor does."""
    db = open_writer(datadir.appliance_db)
    try:
        put_process(db, status)
    finally:
        db.close()


async def test_the_figures_are_the_ledgers(user: User, datadir: DataDir) -> None:
    samples = await scrape()

    events = logged(datadir, "bot-1")
    quotes = [event.body for event in events if isinstance(event.body, QuotesChosen)]
    latest = quotes[-1]
    assert latest.mid is not None
    ledger = positions_from_events(events)["MTS/USDT"]
    assert {
        "inventory": of(samples, "mmbox_inventory_base", **pair()),
        "realized": of(samples, "mmbox_realized_pnl", **pair()),
        "unrealized": of(samples, "mmbox_unrealized_pnl", **pair()),
        "fees": of(samples, "mmbox_fees_paid", **pair()),
        "fills": of(samples, "mmbox_fills_total", **pair()),
        "volume": of(samples, "mmbox_fill_volume_total", **pair()),
    } == {
        "inventory": float(ledger.base), "realized": float(ledger.realized),
        "unrealized": float(ledger.unrealized(latest.mid)), "fees": float(ledger.fees),
        "fills": ledger.fills, "volume": float(ledger.volume),
    }
    assert (ledger.base, ledger.fills, ledger.volume) == (Decimal("59.9"), 2, Decimal("139.4"))
    kinds = [event.kind for event in events]
    assert {name: of(samples, f"mmbox_orders_{name}_total", **pair()) for name in (
        "sent", "acked", "cancelled", "rejected")} == {
        "sent": kinds.count(EventKind.ORDER), "acked": kinds.count(EventKind.ACK),
        "cancelled": kinds.count(EventKind.CANCEL), "rejected": kinds.count(EventKind.REJECT)}
    assert kinds.count(EventKind.ORDER) == 4
    bid, ask = latest.bids[0][0], latest.asks[0][0]
    assert of(samples, "mmbox_quoted_spread_bps", **pair()) == pytest.approx(
        float((ask - bid) / latest.mid * 10_000))
    age = of(samples, "mmbox_market_data_age_seconds", **pair())
    assert age is not None and 0 <= age <= time.time() - events[-1].ts + 1
    assert of(samples, "mmbox_api_weight_used", bot="bot-1") == 67
    assert {state.name: of(samples, "mmbox_pair_state", **pair(state=state.name))
            for state in SymbolState} == {"ACTIVE": 1, "PAUSED": 0, "HALTED": 0}
    assert all(of(samples, "mmbox_risk_trips_total", **pair(kind=kind)) == 0
               for kind in TripKind)


async def test_a_bot_that_has_not_traded_shows_its_pair_at_zero(user: User) -> None:
    samples = await scrape()

    btc = pair("bot-2", "MTS/BTC")
    assert of(samples, "mmbox_pair_state", **btc, state="PAUSED") == 1
    assert of(samples, "mmbox_orders_sent_total", **btc) == 0
    assert of(samples, "mmbox_risk_trips_total", **btc, kind="drawdown") == 0
    assert of(samples, "mmbox_store_up", store="events.db", bot="bot-2") == 1
    assert of(samples, "mmbox_api_weight_used", bot="bot-2") is None
    assert of(samples, "mmbox_quoted_spread_bps", **btc) is None


async def test_a_risk_trip_shows_in_its_counter(user: User, datadir: DataDir) -> None:
    before = await scrape()
    risk_trip(datadir, "bot-1", TripKind.DRAWDOWN, "equity fell 6% below its peak",
              SymbolState.HALTED)
    after = await scrape()

    trips = {kind: (of(before, "mmbox_risk_trips_total", **pair(kind=kind)),
                    of(after, "mmbox_risk_trips_total", **pair(kind=kind))) for kind in TripKind}
    assert trips.pop(TripKind.DRAWDOWN) == (0, 1)
    assert all(was == now for was, now in trips.values())
    assert of(after, "mmbox_pair_state", **pair(state="HALTED")) == 1
    assert of(after, "mmbox_orders_sent_total", **pair()) == of(
        before, "mmbox_orders_sent_total", **pair())


async def test_new_events_are_counted_once_per_scrape(user: User, datadir: DataDir) -> None:
    await scrape()
    for _ in range(3):
        risk_trip(datadir, "bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
        await scrape()
    samples = await scrape()

    assert of(samples, "mmbox_risk_trips_total", **pair(kind="stale_data")) == 3


async def test_each_process_shows_its_state_restarts_memory_and_cpu(
    user: User, datadir: DataDir
) -> None:
    set_process(datadir, ProcessStatus("panel", "RUNNING", os.getpid(), 2, time.time()))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    set_process(datadir, ProcessStatus("signer", "BACKOFF", gone.pid, 3, time.time()))

    samples = await scrape()

    assert of(samples, "mmbox_process_up", process="panel") == 1
    assert of(samples, "mmbox_process_restarts_total", process="panel") == 2
    rss = of(samples, "mmbox_process_resident_memory_bytes", process="panel")
    cpu = of(samples, "mmbox_process_cpu_seconds_total", process="panel")
    assert rss is not None and rss > 10 * 1024 * 1024
    assert cpu is not None and cpu > 0
    assert of(samples, "mmbox_process_up", process="signer") == 0
    assert of(samples, "mmbox_process_state", process="signer", state="BACKOFF") == 1
    assert of(samples, "mmbox_process_state", process="signer", state="RUNNING") == 0
    assert of(samples, "mmbox_process_resident_memory_bytes", process="signer") is None
    assert of(samples, "mmbox_process_restarts_total", process="bot-1") == 1
    assert of(samples, "mmbox_process_state", process="bot-2", state="STOPPED") == 1
    # bot-1's pid 4242 was recorded in 2023: whatever has that pid now is not bot-1.
    assert of(samples, "mmbox_process_resident_memory_bytes", process="bot-1") is None
    assert of(samples, "mmbox_process_cpu_seconds_total", process="bot-2") is None


def spoil(path: Path) -> None:
    """Overwrite a SQLite database with bytes that are not one."""
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 1000)


async def test_an_unreadable_events_db_is_a_zero_not_an_error(
    user: User, datadir: DataDir
) -> None:
    spoil(datadir.events_db("bot-1"))

    samples = await scrape()

    assert of(samples, "mmbox_store_up", store="events.db", bot="bot-1") == 0
    assert of(samples, "mmbox_store_up", store="events.db", bot="bot-2") == 1
    assert of(samples, "mmbox_store_up", store="appliance.db", bot="") == 1
    assert not [key for key in samples if ("bot", "bot-1") in key[1] and "symbol" in dict(key[1])]
    assert of(samples, "mmbox_api_weight_used", bot="bot-1") == 67
    assert of(samples, "mmbox_process_up", process="bot-1") == 1


async def test_an_unreadable_appliance_db_is_a_zero_not_an_error(
    user: User, datadir: DataDir
) -> None:
    await scrape()
    spoil(datadir.appliance_db)

    # The token is looked up in appliance.db, so only a session still reaches the panel.
    answer = await user.http_client.get(METRICS)

    assert answer.status_code == 200
    samples = parsed(answer.text)
    assert samples == {("mmbox_store_up", frozenset({"store": "appliance.db", "bot": ""}.items())
                        ): 0}


async def test_metrics_want_a_session_or_a_token_of_either_scope(user: User) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://test") as stranger:
        nobody = await stranger.get(METRICS)
        wrong = await stranger.get(METRICS, headers={"authorization": "Bearer mmb_not-a-token"})
    session = await user.http_client.get(METRICS)

    for refused in (nobody, wrong):
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")
        assert "mmbox_" not in refused.text
    assert session.status_code == 200 and "mmbox_store_up" in session.text
    assert of(await scrape(READ_TOKEN.text), "mmbox_store_up", store="appliance.db", bot="") == 1
    assert of(await scrape(CONTROL_TOKEN.text), "mmbox_store_up", store="appliance.db",
              bot="") == 1


async def test_metrics_are_not_part_of_the_rest_apis_schema(user: User) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    async with bearer(READ_TOKEN.text) as script:
        schema = (await script.get("/api/openapi.json")).json()

    assert "/api/bots" in schema["paths"]
    assert METRICS not in schema["paths"]


@pytest.fixture
async def panel(datadir: DataDir, tmp_path: Path) -> AsyncIterator[str]:
    """Serve the box's panel over HTTPS as the box runs it; yield its URL."""
    async with serving_panel(datadir, tmp_path / "panel.log") as url:
        yield url


async def test_prometheus_scrapes_over_https_with_the_boxs_certificate_and_a_read_token(
    panel: str, datadir: DataDir, tmp_path: Path
) -> None:
    credentials = tmp_path / "mmbox.token"
    credentials.write_text(READ_TOKEN.text + "\n")

    async with httpx.AsyncClient(verify=trusting(datadir)) as prometheus:
        answer = await prometheus.get(f"{panel}{METRICS}", headers={
            "accept": PROMETHEUS_ACCEPT,
            "authorization": f"Bearer {credentials.read_text().strip()}"})

    assert answer.status_code == 200
    samples = parsed(answer.text)
    assert of(samples, "mmbox_fills_total", **pair()) == 2
    assert of(samples, "mmbox_store_up", store="appliance.db", bot="") == 1
