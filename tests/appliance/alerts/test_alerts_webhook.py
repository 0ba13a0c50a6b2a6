"""The webhook: each alert POSTed as JSON, signed so the receiver can check it came from the box."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from appliance.alerts.const import SIGNATURE_HEADER
from appliance.alerts.manager import Alerter
from appliance.alerts.webhook import origin, signature
from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from hsm.client import SignerClient
from tests.appliance.alerts.alert_box import (
    FAST,
    WEBHOOK_KEY,
    put,
    record_activity,
    running,
    signer,
    trip,
    until,
)

SECRET_PATH = "/hooks/T0KEN-in-the-path"

pytestmark = pytest.mark.usefixtures("box_signer")


@pytest.fixture
def box_signer(data: DataDir, tmp_path: Path) -> Iterator[SignerClient]:
    """Run the box's signer holding the webhook key only: these tests use no Telegram."""
    with signer(data, tmp_path / "signer.log", bot_token=None) as client:
        yield client


@dataclass
class Receiver:
    """A webhook receiver on loopback that checks signatures as the owner's would."""

    failures_left: int = 0
    status: int = 503
    bodies: list[dict[str, Any]] = field(default_factory=list)
    tries: int = 0
    url: str = ""

    async def take(self, request: web.Request) -> web.Response:
        """Check the signature of one POST and keep its alert, unless told to fail it."""
        self.tries += 1
        body = await request.read()
        expected = "sha256=" + hmac.new(WEBHOOK_KEY.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get(SIGNATURE_HEADER, ""), expected):
            return web.Response(status=401, text="bad signature")
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=self.status)
        self.bodies.append(json.loads(body))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Serve a webhook receiver at a URL whose path holds a secret."""
    receiving = Receiver()
    app = web.Application()
    app.router.add_post(SECRET_PATH, receiving.take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiving.url = f"http://127.0.0.1:{runner.addresses[0][1]}{SECRET_PATH}"
    yield receiving
    await runner.cleanup()


def test_the_signature_is_hmac_sha256_of_the_body_in_hex() -> None:
    body = b'{"id":"bot-1:event:7"}'
    assert signature(b"key", body) == (
        "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest())
    assert signature(b"other key", body) != signature(b"key", body)


def test_only_the_urls_scheme_host_and_port_may_be_logged() -> None:
    assert origin("https://user:pw@hooks.example.com:8443/t/SECRET?k=v") == (
        "https://hooks.example.com:8443")


async def test_each_alert_arrives_signed_with_the_owners_key(
        data: DataDir, receiver: Receiver) -> None:
    put(data, "alerts_webhook_url", receiver.url)
    async with running(Alerter(data, FAST)):
        seq = trip(data, "bot-1", TripKind.ORDER_RATE, "31 orders in a second",
                   SymbolState.HALTED)
        record_activity(data, "unlock", "ok", actor="alice")
        await until(lambda: len(receiver.bodies) == 2, 3.0)
    risk, unlock = receiver.bodies
    assert risk == {"id": f"bot-1:event:{seq}", "kind": "risk_trip", "severity": "critical",
                    "ts": risk["ts"], "bot": "bot-1", "symbol": "MTS/USDT",
                    "text": risk["text"], "details": {"trip": "order_rate",
                                                      "reason": "31 orders in a second",
                                                      "state": "HALTED", "seq": seq}}
    assert unlock["kind"] == "unlocked" and "alice" in str(unlock["text"])
    assert receiver.tries == 2


async def test_a_receiver_that_fails_gets_the_alert_again_until_it_takes_it(
        data: DataDir, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.failures_left = 3
    put(data, "alerts_webhook_url", receiver.url)
    async with running(Alerter(data, FAST)):
        trip(data, "bot-2", TripKind.CROSSED_BOOK, "bid 1.02 above ask 1.01")
        trip(data, "bot-2", TripKind.STALE_DATA, "no book for 10 s")
        await until(lambda: len(receiver.bodies) == 2, 5.0)
    assert [body["details"]["trip"] for body in receiver.bodies] == [
        "crossed_book", "stale_data"]
    assert receiver.tries == 5
    assert "webhook: not delivered (http://127.0.0.1:" in caplog.text
    assert "answered 503" in caplog.text
    assert "T0KEN" not in caplog.text and WEBHOOK_KEY not in caplog.text


async def test_a_receiver_that_refuses_for_good_is_not_asked_again(
        data: DataDir, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.failures_left, receiver.status = 1, 400
    put(data, "alerts_webhook_url", receiver.url)
    async with running(Alerter(data, FAST)):
        trip(data, "bot-1", TripKind.POSITION, "position 1200 above 1000")
        trip(data, "bot-1", TripKind.EXPOSURE, "exposure 5000 above 4000")
        await until(lambda: len(receiver.bodies) == 1, 3.0)
    assert receiver.bodies[0]["details"]["trip"] == "exposure"
    assert receiver.tries == 2
    assert "refused alert bot-1:event:" in caplog.text
