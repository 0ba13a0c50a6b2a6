"""Telegram: alerts reach the enrolled chats, and only enrolled chats are answered.

The real python-telegram-bot talks to the local Bot API server; the signer is the real one on
SoftHSM2; the supervisor answers on a real control socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.alerts.manager import Alerter
from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from appliance.store import access
from appliance.store.database import open_reader
from tests.alerts.telegram_server import BOT_USERNAME, Sent, TelegramServer
from tests.appliance.alerts.alert_box import (
    BOT_TOKEN,
    FAST,
    GROUP_CHAT,
    OWNER_CHAT,
    STRANGER_CHAT,
    put,
    running,
    signer,
    supervisor,
    trip,
    until,
)

with_signer = pytest.mark.usefixtures("box_signer")


def to(chat: int, *words: str) -> Callable[[Sent], bool]:
    """Return a matcher of a message sent to `chat` that holds every word."""
    return lambda sent: sent.chat_id == chat and all(word in sent.text for word in words)


@with_signer
async def test_a_risk_trip_reaches_every_enrolled_chat_within_2_s(
        data: DataDir, telegram: TelegramServer) -> None:
    put(data, "alerts_telegram_chats", f"[{OWNER_CHAT}, {GROUP_CHAT}]")
    async with running(Alerter(data, FAST, telegram.api_url)):
        tripped = time.monotonic()
        trip(data, "bot-1", TripKind.DRAWDOWN, "equity 12% below its peak", SymbolState.HALTED)
        for chat in (OWNER_CHAT, GROUP_CHAT):
            sent = await telegram.wait_sent(to(chat, "drawdown"), 2.0)
            assert "bot-1 MTS/USDT" in sent.text and "HALTED" in sent.text
        assert time.monotonic() - tripped < 2.0
    assert len(telegram.sent) == 2, "one trip, one message per enrolled chat"


@with_signer
async def test_pause_from_an_enrolled_chat_asks_the_supervisor_and_answers(
        data: DataDir, telegram: TelegramServer) -> None:
    async with supervisor(data) as box, running(Alerter(data, FAST, telegram.api_url)):
        await telegram.inject(OWNER_CHAT, f"/pause@{BOT_USERNAME} bot-1 MTS/USDT")
        answer = await telegram.wait_sent(to(OWNER_CHAT, "bot-1 MTS/USDT"), 3.0)
        assert answer.text == "bot-1 MTS/USDT: PAUSED"
        assert box.calls == [("symbol_action", {
            "bot": "bot-1", "symbol": "MTS/USDT", "action": "pause",
            "actor": f"telegram:{OWNER_CHAT}"})]
        await telegram.inject(OWNER_CHAT, "/status")
        status = await telegram.wait_sent(to(OWNER_CHAT, "bot-2: RUNNING"), 3.0)
        assert "MTS/USDT on sim: PAUSED: operator: pause" in status.text
        assert "MTS/BTC on sim: ACTIVE" in status.text
    db = open_reader(data.appliance_db)
    try:
        access.verify_activity(db)
        (record,) = access.activity(db)
    finally:
        db.close()
    assert (record.actor, record.action, record.outcome) == (
        f"telegram:{OWNER_CHAT}", "telegram /pause bot-1 MTS/USDT", "ok")


@with_signer
async def test_pause_without_a_pair_pauses_every_pair(
        data: DataDir, telegram: TelegramServer) -> None:
    async with supervisor(data) as box, running(Alerter(data, FAST, telegram.api_url)):
        await telegram.inject(OWNER_CHAT, "/pause")
        answer = await telegram.wait_sent(to(OWNER_CHAT, "bot-2"), 3.0)
    assert answer.text == "bot-1 MTS/USDT: PAUSED\nbot-2 MTS/BTC: PAUSED"
    assert sorted(args["bot"] for _, args in box.calls) == ["bot-1", "bot-2"]


@with_signer
async def test_an_unknown_chat_gets_nothing_and_changes_nothing(
        data: DataDir, telegram: TelegramServer) -> None:
    async with supervisor(data) as box, running(Alerter(data, FAST, telegram.api_url)):
        for text in ("/status", "/pause", "/pause bot-1 MTS/USDT", "/help", "hello"):
            await telegram.inject(STRANGER_CHAT, text)
        await telegram.inject(OWNER_CHAT, "/help")
        await telegram.wait_sent(to(OWNER_CHAT, "/status"), 3.0)
        trip(data, "bot-2", TripKind.STALE_DATA, "no book for 10 s")
        await telegram.wait_sent(to(OWNER_CHAT, "stale_data"), 2.0)
    assert [sent for sent in telegram.sent if sent.chat_id == STRANGER_CHAT] == []
    assert box.calls == []


@with_signer
async def test_activate_is_refused_until_the_owner_switches_it_on(
        data: DataDir, telegram: TelegramServer) -> None:
    async with supervisor(data) as box, running(Alerter(data, FAST, telegram.api_url)) as alerter:
        await telegram.inject(OWNER_CHAT, "/activate bot-1 MTS/USDT")
        refused = await telegram.wait_sent(to(OWNER_CHAT, "/activate"), 3.0)
        assert "switched off" in refused.text and box.calls == []
        put(data, "alerts_telegram_activate", "1")
        await until(lambda: alerter.watch.view.settings.telegram_activate, 2.0)
        await telegram.inject(OWNER_CHAT, "/activate bot-1 MTS/USDT")
        done = await telegram.wait_sent(to(OWNER_CHAT, "ACTIVE"), 3.0)
    assert done.text == "bot-1 MTS/USDT: ACTIVE"
    assert [args["action"] for _, args in box.calls] == ["activate"]


@with_signer
async def test_a_command_sent_while_the_box_could_not_read_it_is_not_carried_out(
        data: DataDir, telegram: TelegramServer) -> None:
    async with supervisor(data) as box, running(Alerter(data, FAST, telegram.api_url)):
        await telegram.inject(OWNER_CHAT, "/pause", sent_at=time.time() - 3600)
        answer = await telegram.wait_sent(to(OWNER_CHAT, "send it again"), 3.0)
    assert answer.text.startswith("Not done: your /pause was sent")
    assert box.calls == []


@with_signer
async def test_alerts_wait_while_telegram_is_down_and_arrive_in_order_when_it_returns(
        data: DataDir, telegram: TelegramServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(Alerter(data, FAST, telegram.api_url)) as alerter:
        await telegram.stop()
        trip(data, "bot-1", TripKind.POSITION, "position 1200 above 1000")
        trip(data, "bot-2", TripKind.REJECT_STORM, "12 rejects in 10 s", SymbolState.HALTED)
        await until(lambda: alerter.telegram.outbox.waiting == 2, 2.0)
        await asyncio.sleep(1.0)  # several tries fail meanwhile
        assert "telegram: not delivered (Telegram cannot be reached" in caplog.text
        await telegram.start()
        await telegram.wait_sent(to(OWNER_CHAT, "reject_storm"), 3.0)
    texts = [sent.text for sent in telegram.sent]
    assert ["position" in texts[0], "reject_storm" in texts[1], len(texts)] == [True, True, 2]
    assert BOT_TOKEN not in caplog.text and BOT_TOKEN.split(":")[1] not in caplog.text


async def test_without_a_bot_token_alerts_wait_for_it(
        data: DataDir, telegram: TelegramServer, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    with signer(data, tmp_path / "signer.log", bot_token=None) as box_signer:
        async with running(Alerter(data, FAST, telegram.api_url)) as alerter:
            trip(data, "bot-1", TripKind.POSITION, "position 1200 above 1000")
            await until(lambda: "waiting for the bot token alerts.telegram.token"
                        in caplog.text, 2.0)
            assert "cannot read alerts.telegram.token from the token yet" in caplog.text
            box_signer.import_credential("alerts.telegram.token", BOT_TOKEN.encode())
            await telegram.wait_sent(to(OWNER_CHAT, "position"), 3.0)
            await until(lambda: alerter.telegram.outbox.delivered == 1, 1.0)
