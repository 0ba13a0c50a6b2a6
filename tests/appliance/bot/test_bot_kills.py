"""A bot process SIGKILLed while it trades, again and again, leaves an event log whose chain
verifies: a row and its hash are written at once, and a restarted bot chains on from its
last row. A real bot process, signer and simulator.

The short profile (5 kills) runs in CI; set MMBOX_SOAK_KILLS=20 (or more) for the soak.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from appliance.bot.runtime import CYCLE_SECONDS
from appliance.datadir import DataDir
from appliance.ipc import IpcError
from appliance.ipc.client import IpcClient
from appliance.risk.const import SymbolState
from appliance.store.events import SymbolStateChanged
from appliance.store.verify import verify
from tests.appliance.bot.test_bot_pairs import BOT, data, events, orders_on, store_pair, until
from tests.conftest import REPO, RunningSimulator

__all__ = ["data"]  # the fixture, shared with the pair tests

KILLS = int(os.environ.get("MMBOX_SOAK_KILLS", "5"))
SYMBOL = "MTS/USDT"
OPERATOR = {"actor": "alice", "fingerprint": "a1" * 32}


async def answers(control: IpcClient, process: subprocess.Popen[bytes]) -> bool:
    """Return whether the bot answers ping; fail if its process ended."""
    assert process.poll() is None, f"the bot exited with {process.returncode}"
    try:
        await control.call("ping")
    except IpcError as exc:
        assert exc.code == "starting", exc
        return False
    return True


@contextlib.asynccontextmanager
async def bot_process(
    data: DataDir, output: Path
) -> AsyncIterator[tuple[subprocess.Popen[bytes], IpcClient]]:
    """Run bot-1 as the supervisor does, `python -m appliance.bot` on a control socket; yield
    the process and the supervisor's end of the socket once it answers."""
    ours, theirs = socket.socketpair()
    with output.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance.bot", "--data", str(data.root), "--name", BOT,
             "--control-fd", str(theirs.fileno())],
            cwd=REPO, pass_fds=(theirs.fileno(),), stdout=out, stderr=subprocess.STDOUT)
    theirs.close()
    control = IpcClient(sock=ours)
    try:
        await until(lambda: answers(control, process), "the bot answers ping")
        yield process, control
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await control.close()


async def test_a_bot_killed_while_it_trades_leaves_a_chain_that_verifies(
    data: DataDir, simulator: RunningSimulator, tmp_path: Path
) -> None:
    store_pair(data, SYMBOL)
    pause = random.Random(2026)
    verified = [0]
    for kill in range(1, KILLS + 1):
        async with bot_process(data, tmp_path / "bot.log") as (process, control):
            answer = await control.call("symbol_action", symbol=SYMBOL, action="activate",
                                        **OPERATOR)
            assert answer == {"symbol": SYMBOL, "state": "ACTIVE"}
            await until(lambda: orders_on(simulator, SYMBOL), "the bot's quotes rest")
            await asyncio.sleep(pause.uniform(0, 2 * CYCLE_SECONDS))
            process.send_signal(signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL

        verdict = verify(data.events_db(BOT))

        assert verdict.ok, f"after kill {kill}: {verdict}"
        assert verdict.rows > verified[-1], f"the bot wrote nothing before kill {kill}"
        verified.append(verdict.rows)
    activated = [e.body for e in events(data, SYMBOL) if isinstance(e.body, SymbolStateChanged)
                 and e.body.state is SymbolState.ACTIVE]
    assert [(body.actor, body.fingerprint) for body in activated] == [
        (OPERATOR["actor"], OPERATOR["fingerprint"])] * KILLS
