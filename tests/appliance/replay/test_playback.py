"""Deciding apart from doing: a worker's recorded inputs, played back, give the same decisions.

A worker trades on the simulator for a minute, streaming its book and its account, with some
of the exchange's answers failing, while the recorder writes down every input. The same cycle
code is then fed those inputs with nothing sent (the record answers every exchange call), and
every event it logs — each quote and each order intent, and all that followed them — must equal
the live run's, element for element.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.bot.runtime import streaming
from appliance.bot.worker import SymbolWorker
from appliance.market.rules import MarketRules
from appliance.orders.live import ClientIds
from appliance.orders.manager import OrderManager
from appliance.recorder.journal import InputJournal, read_journal
from appliance.recorder.limits import RecorderLimits
from appliance.replay.playback import Playback
from appliance.risk.bot import BotGuard
from appliance.risk.const import SymbolState
from appliance.store.events import (
    EventKind,
    EventLog,
    OrderSent,
    QuotesChosen,
    SymbolStateChanged,
)
from tests.appliance.bot.conftest import LIMITS, PAIR, active, post, venue_of, worker_for
from tests.conftest import RunningSimulator

RECORD_SECONDS = float(os.environ.get("MMBOX_REPLAY_SECONDS", "62"))
FAULTS = {"server_error_rate": 0.05}


async def record(client: Any, log: EventLog, journal: InputJournal,
                 simulator: RunningSimulator) -> None:
    """Trade for the recording's time, as the bot does, writing every input down."""
    worker = await active(client, log, journal=journal)
    post(f"{simulator.url}/sim/faults", FAULTS)
    async with streaming(worker, client, venue_of(worker)):
        deadline = time.monotonic() + RECORD_SECONDS
        while time.monotonic() < deadline:
            try:
                await worker.cycle(time.time())
            except ccxt_async.OperationFailed:
                await worker.check_stale(time.time())
            journal.flush()
            await asyncio.sleep(0.5)
    post(f"{simulator.url}/sim/faults", {})
    journal.close()


def replayed_worker(client: Any, log: EventLog, playback: Playback) -> SymbolWorker:
    """Return a worker like the recorded one, whose venue answers from the record."""
    rules = MarketRules.from_ccxt(client.market(PAIR.symbol))
    orders = OrderManager(PAIR.symbol, playback, log, rules, ClientIds("bot-1", 0))
    guard = BotGuard(LIMITS, [PAIR.symbol]).guard(PAIR.symbol)
    worker = SymbolWorker(PAIR, orders, log, rules, guard)
    worker.streamed = True
    worker.restore(time.time())
    return worker


def decisions(log: EventLog) -> list[tuple[str, Any]]:
    """Return every event of a log without its time: symbol and body, in order."""
    return [(event.symbol, event.body) for event in log.events()]


async def test_recorded_inputs_replayed_give_the_same_quotes_and_intents(
    pro_client: Any, tmp_path: Path, simulator: RunningSimulator
) -> None:
    live = EventLog(tmp_path / "live.db")
    inputs = tmp_path / "inputs"
    await record(pro_client, live, InputJournal(inputs, RecorderLimits()), simulator)
    entries = list(read_journal(inputs))
    assert entries[-1].ts - entries[0].ts >= RECORD_SECONDS - 2
    replay = EventLog(tmp_path / "replay.db")
    playback = Playback(entries, PAIR.symbol)
    await playback.run(replayed_worker(pro_client, replay, playback))
    assert decisions(replay) == decisions(live)
    intents = live.events(kinds=(EventKind.ORDER,))
    quotes = live.events(kinds=(EventKind.QUOTE,))
    assert len(intents) >= 10 and all(isinstance(e.body, OrderSent) for e in intents)
    assert len(quotes) >= 10 and all(isinstance(e.body, QuotesChosen) for e in quotes)


async def test_an_operators_action_is_replayed_with_who_asked_for_it(
    pro_client: Any, tmp_path: Path
) -> None:
    live = EventLog(tmp_path / "live.db")
    journal = InputJournal(tmp_path / "inputs", RecorderLimits())
    worker = worker_for(pro_client, live, journal=journal)
    await worker.operate("activate", time.time(), actor="alice", fingerprint="a1" * 32)
    await worker.operate("pause", time.time(), actor="bob", fingerprint="b2" * 32)
    journal.close()
    entries = list(read_journal(tmp_path / "inputs"))
    replay = EventLog(tmp_path / "replay.db")
    playback = Playback(entries, PAIR.symbol)

    await playback.run(replayed_worker(pro_client, replay, playback))

    assert decisions(replay) == decisions(live)
    assert [(body.state, body.actor, body.fingerprint) for _, body in decisions(replay)
            if isinstance(body, SymbolStateChanged)] == [
        (SymbolState.ACTIVE, "alice", "a1" * 32), (SymbolState.PAUSED, "bob", "b2" * 32)]
