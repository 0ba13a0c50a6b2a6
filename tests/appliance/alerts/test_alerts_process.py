"""The alerts process as the supervisor runs it: `python -m appliance.alerts --data DIR`."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import pytest

from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from tests.alerts.telegram_server import TelegramServer
from tests.appliance.alerts.alert_box import BOT_TOKEN, OWNER_CHAT, supervisor, trip

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.usefixtures("box_signer")
async def test_the_process_alerts_answers_and_stops_on_sigterm(
        data: DataDir, telegram: TelegramServer, tmp_path: Path) -> None:
    log = tmp_path / "alerts.log"
    async with supervisor(data) as box:
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "appliance.alerts", "--data", str(data.root),
                "--telegram-api", telegram.api_url, cwd=REPO, stdout=out, stderr=out)
        try:
            await telegram.inject(OWNER_CHAT, "/status")
            await telegram.wait_sent(lambda sent: "bot-1: RUNNING" in sent.text, 20.0)
            tripped = time.monotonic()
            trip(data, "bot-2", TripKind.DRAWDOWN, "equity 15% below its peak",
                 SymbolState.HALTED)
            alert = await telegram.wait_sent(lambda sent: "drawdown" in sent.text, 2.0)
            assert time.monotonic() - tripped < 2.0
            assert alert.chat_id == OWNER_CHAT and "bot-2 MTS/BTC" in alert.text
            await telegram.inject(OWNER_CHAT, "/pause bot-1 MTS/USDT")
            await telegram.wait_sent(lambda sent: sent.text == "bot-1 MTS/USDT: PAUSED", 5.0)
            assert [args["actor"] for _, args in box.calls] == [f"telegram:{OWNER_CHAT}"]
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 10.0)
    assert code == 0
    text = log.read_text()
    assert "alert risk_trip" in text
    assert BOT_TOKEN not in text and BOT_TOKEN.split(":")[1] not in text
    bookmarks = json.loads((data.root / "alerts" / "bookmarks.json").read_text())
    assert set(bookmarks["events"]) == {"bot-1", "bot-2"}
