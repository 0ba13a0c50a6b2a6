"""A small box on disk for the alerts' tests: appliance.db, the bots' logs, a supervisor, a signer.

The supervisor answers on a real control socket as the real one does for `symbol_action` (the
pair moves, and the bot's log says so) and serves the real `record_activity` on appliance.db.
The signer is the real one on a SoftHSM2 token holding the bot token and the webhook key,
granted to this process's uid as the supervisor grants them to the alerts process.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.alerts.const import TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL, Timing
from appliance.alerts.manager import Alerter
from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer, serve_unix
from appliance.risk.const import SymbolState, TripKind
from appliance.store import access
from appliance.store.appliance_db import ProcessStatus, create_schema, put_process, put_setting
from appliance.store.database import open_writer
from appliance.store.events import (
    BotStateChanged,
    BotStatus,
    EventBody,
    EventLog,
    RiskTripped,
    SymbolStateChanged,
)
from appliance.supervisor.access import AccessOps
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import init_token, use_config
from tests.hsm.signer_bed import allow, start_signer, stop, wait_until_serving

BOTS = ("bot-1", "bot-2")
PAIRS = {"bot-1": "MTS/USDT", "bot-2": "MTS/BTC"}
OWNER_CHAT = 424242
GROUP_CHAT = -100777
STRANGER_CHAT = 999001
BOT_TOKEN = "7000001:" + "A" * 35
WEBHOOK_KEY = "whk-" + "b" * 40

FAST = Timing(poll_s=0.1, retry_first_s=0.1, retry_cap_s=0.4, credential_retry_s=0.2,
              telegram_burst=50, telegram_per_s=50.0, long_poll_s=1.0,
              supervisor_timeout_s=5.0)
"""Timings that let a test see a retry, a long poll or a burst in well under a second."""


def write_box(data: DataDir, chats: tuple[int, ...] = (OWNER_CHAT,)) -> None:
    """Write appliance.db (asset MTS, two bots and their pairs, both running) and their logs."""
    db = open_writer(data.appliance_db)
    create_schema(db)
    put_setting(db, "asset", "MTS")
    put_setting(db, "alerts_telegram_chats", json.dumps(list(chats)))
    db.table("exchanges").insert({"name": "sim", "ccxt_id": "binance", "api_url": None})
    db.table("bots").insert_all([{"name": bot, "uid": 1001 + i, "enabled": 1}
                                 for i, bot in enumerate(BOTS)])
    db.table("pairs").insert_all([{"bot": bot, "exchange": "sim", "symbol": symbol,
                                   "strategy": "spread"} for bot, symbol in PAIRS.items()])
    now = time.time()
    for bot in BOTS:
        put_process(db, ProcessStatus(bot, "RUNNING", 4242, 0, now))
    db.close()
    for bot, symbol in PAIRS.items():
        append(data, bot, "", BotStateChanged(BotStatus.RUNNING))
        append(data, bot, symbol, SymbolStateChanged(SymbolState.ACTIVE, "operator: activate"))


def put(data: DataDir, key: str, value: str) -> None:
    """Set one setting in appliance.db, as the supervisor does for the panel."""
    db = open_writer(data.appliance_db)
    put_setting(db, key, value)
    db.close()


def append(data: DataDir, bot: str, symbol: str, body: EventBody) -> int:
    """Append one event to a bot's log, as the bot does; return its seq."""
    log = EventLog(data.events_db(bot))
    seq = log.append(symbol, body).seq
    log.close()
    return seq


def trip(data: DataDir, bot: str, kind: TripKind, reason: str,
         state: SymbolState = SymbolState.PAUSED) -> int:
    """Record a risk trip of the bot's pair, as its risk guard does; return its seq."""
    return append(data, bot, PAIRS[bot], RiskTripped(kind, reason, state))


def set_process(data: DataDir, status: ProcessStatus) -> None:
    """Record what the supervisor sees of one child."""
    db = open_writer(data.appliance_db)
    put_process(db, status)
    db.close()


def record_activity(data: DataDir, action: str, outcome: str, address: str = "10.0.0.9",
                    actor: str = "", ts: float | None = None) -> None:
    """Append one record to the user-activity log, as the supervisor does for the panel."""
    db = open_writer(data.appliance_db)
    with access.transaction(db):
        access.append_activity(db, time.time() if ts is None else ts, actor, "", address,
                               action, outcome, {})
    db.close()


@dataclass
class Supervisor:
    """The supervisor's control socket, for the ops the alerts process asks."""

    data: DataDir
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _access: AccessOps | None = None

    async def handle(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer symbol_action as the supervisor relays a bot's answer; record_activity as it."""
        if op == "record_activity":
            if self._access is None:
                self._access = AccessOps(open_writer(self.data.appliance_db), 5)
            return await self._access.record_activity(args)
        if op != "symbol_action":
            raise IpcError("unknown_op", f"no op named {op!r}")
        bot, symbol, action = args.get("bot"), args.get("symbol"), args.get("action")
        if bot not in PAIRS:
            raise IpcError("unknown_bot", f"there is no bot named '{bot}'")
        if symbol != PAIRS[bot]:
            raise IpcError("unknown_symbol", f"{bot} does not quote {symbol!r}")
        self.calls.append((op, args))
        state = SymbolState.ACTIVE if action == "activate" else SymbolState.PAUSED
        append(self.data, bot, symbol, SymbolStateChanged(state, f"operator: {action}"))
        return {"bot": bot, "symbol": symbol, "state": state.name}


@asynccontextmanager
async def supervisor(data: DataDir) -> AsyncIterator[Supervisor]:
    """Serve a supervisor on the box's control socket."""
    answering = Supervisor(data)
    server = await serve_unix(data.control_sock, answering.handle)
    try:
        yield answering
    finally:
        server.close()
        await server.wait_closed()


@contextmanager
def signer(data: DataDir, log: Path, *, bot_token: str | None = BOT_TOKEN,
           webhook_key: str | None = WEBHOOK_KEY) -> Iterator[SignerClient]:
    """Run the signer with the alerts' credentials imported (those given) and granted."""
    pin = secrets.token_hex(8)
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), pin)
    use_config(data)
    labels = f"{TELEGRAM_TOKEN_LABEL},{WEBHOOK_SECRET_LABEL}"
    process = start_signer(data, pin, log, "--token", DEFAULT_TOKEN_LABEL,
                           *allow(f"{os.getuid()}={labels}"))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        for label, value in ((TELEGRAM_TOKEN_LABEL, bot_token),
                             (WEBHOOK_SECRET_LABEL, webhook_key)):
            if value is not None:
                client.import_credential(label, value.encode())
        yield client
    finally:
        client.close()
        stop(process)


@asynccontextmanager
async def running(alerter: Alerter) -> AsyncIterator[Alerter]:
    """Run the alerter until the block ends; enter once it has read every source once."""
    stop_event = asyncio.Event()
    task = asyncio.create_task(alerter.run(stop_event))
    try:
        await until(lambda: alerter.watch.view.bots == BOTS, 5.0)
        yield alerter
    finally:
        stop_event.set()
        await task


async def until(ready: Callable[[], bool], timeout: float) -> None:
    """Wait until `ready()` holds, checking every 20 ms; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)
