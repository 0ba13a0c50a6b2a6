"""Pairs that come and go while their bot runs: a real bot, signer and simulator.

A bot with no pairs waits instead of failing; `add_pair` starts a stored pair's worker beside
the running ones, and `remove_pair` ends one, cancelling its orders before it answers. The
bot runs in this process on a data directory like the box's: appliance.db, a SoftHSM2 token
holding its accounts' secrets, and a signer process signing for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.bot.runtime import BotRuntime
from appliance.datadir import DataDir
from appliance.ipc import IpcError
from appliance.ipc.client import IpcClient
from appliance.risk.const import SymbolState
from appliance.store.appliance_db import create_schema
from appliance.store.database import open_writer
from appliance.store.events import (
    Event,
    OrderCancelled,
    OrderSent,
    QuotesChosen,
    SymbolStateChanged,
    open_events,
    read_events,
)
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token
from provisioning.const import RISK_LIMITS, SPREAD_PARAMS
from provisioning.factory import ExchangeCredential
from provisioning.sim_accounts import open_account
from tests.appliance.bot.conftest import DIRECT
from tests.conftest import RunningSimulator
from tests.hsm.signer_bed import allow, start_signer, stop, wait_until_serving

BOT = "bot-1"
SECOND_ACCOUNT = "bot-1-second"
"""bot-1's account on exchange sim-2."""
ACCOUNTS = {"sim": BOT, "sim-2": SECOND_ACCOUNT}
USER_PIN = "pairs-user-pin"
BALANCES = {"MTS": "10000", "USDT": "20000", "USDC": "20000", "BTC": "1"}
WAIT_S = 40.0


@pytest.fixture
def data(tmp_path: Path, simulator: RunningSimulator) -> Iterator[DataDir]:
    """A box's data directory with bot-1 and no pairs; a signer runs.

    bot-1 has an account on exchange `sim` and another on `sim-2` (both the simulator), each
    with its own key in the token; it has no key on `sim-3`.
    """
    accounts = {"sim": open_account(simulator.url, BOT, BALANCES),
                "sim-2": open_account(simulator.url, SECOND_ACCOUNT, BALANCES)}
    with box_with(tmp_path, simulator, accounts) as data:
        yield data


@contextlib.contextmanager
def box_with(tmp_path: Path, simulator: RunningSimulator,
             accounts: dict[str, ExchangeCredential]) -> Iterator[DataDir]:
    """Make the data directory `data` describes for these accounts, with its signer running."""
    data = DataDir(tmp_path / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), USER_PIN)
    use_config(data)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, USER_PIN) as token:
        for exchange, credential in accounts.items():
            token.import_hmac(label_of(exchange), credential.secret.encode())
    db = open_writer(data.appliance_db)
    try:
        create_schema(db)
        db.table("settings").insert({"key": "asset", "value": "MTS"})
        db.table("exchanges").insert_all(
            {"name": name, "ccxt_id": "binance", "api_url": simulator.url}
            for name in ("sim", "sim-2", "sim-3"))
        db.table("bots").insert({"name": BOT, "uid": os.getuid(), "enabled": 1,
                                 "risk": json.dumps(RISK_LIMITS)})
        db.table("keys").insert_all(
            {"label": label_of(exchange), "exchange": exchange, "bot": BOT, "kind": "hmac",
             "api_key": credential.api_key} for exchange, credential in accounts.items())
    finally:
        db.close()
    signer = start_signer(data, USER_PIN, tmp_path / "signer.log",
                          *allow(f"{os.getuid()}={label_of('sim')},{label_of('sim-2')}"))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(signer, client)
        yield data
    finally:
        client.close()
        stop(signer)


def label_of(exchange: str) -> str:
    """Return the token label of bot-1's key on an exchange."""
    return f"{BOT}.{exchange}.hmac"


def store_pair(data: DataDir, symbol: str, exchange: str = "sim", shadow: bool = False) -> None:
    """Add a pair row for bot-1, as the supervisor does before it asks the bot to start it."""
    db = open_writer(data.appliance_db)
    try:
        db.table("pairs").insert({"bot": BOT, "exchange": exchange, "symbol": symbol,
                                  "strategy": "spread", "params": json.dumps(SPREAD_PARAMS),
                                  "shadow": int(shadow)})
    finally:
        db.close()


@contextlib.asynccontextmanager
async def running_bot(data: DataDir) -> AsyncIterator[IpcClient]:
    """Run bot-1 in this process; yield the supervisor's end of its control channel."""
    ours, theirs = socket.socketpair()
    run = asyncio.create_task(BotRuntime(data, BOT).run(theirs))
    control = IpcClient(sock=ours)
    try:
        await until(lambda: ready(control, run), "the bot answers ping")
        yield control
    finally:
        if not run.done():
            await control.call("shutdown")
        await run
        await control.close()


async def ready(control: IpcClient, run: asyncio.Task[None]) -> bool:
    """Return whether the bot answers ping; fail if it stopped."""
    assert not run.done(), f"the bot stopped: {run.exception()!r}"
    try:
        await control.call("ping")
    except IpcError as exc:
        assert exc.code == "starting", exc
        return False
    return True


async def until(check: Callable[[], Any], what: str) -> None:
    """Poll `check` (sync or async) until it holds; fail saying `what` never happened."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.25)
    pytest.fail(f"within {WAIT_S:.0f} s: {what}")


def orders_on(simulator: RunningSimulator, symbol: str, exchange: str = "sim") -> set[str]:
    """Return the client ids of bot-1's orders resting in one market of one exchange."""
    url = f"{simulator.url}/sim/open-orders?account={ACCOUNTS[exchange]}"
    with DIRECT.open(url, timeout=5) as response:
        orders = json.load(response)
    market = symbol.replace("/", "")
    return {o["clientOrderId"] for o in orders if o["symbol"] == market}


def events(data: DataDir, symbol: str, since: int = 0) -> list[Event]:
    """Return bot-1's events of one symbol after `since`, oldest first."""
    db = open_events(data.events_db(BOT))
    try:
        return [e for e in read_events(db, since) if e.symbol == symbol]
    finally:
        db.close()


def last_seq(data: DataDir) -> int:
    """Return the place of bot-1's newest event."""
    db = open_events(data.events_db(BOT))
    try:
        return max((e.seq for e in read_events(db, newest=1)), default=0)
    finally:
        db.close()


def bodies(found: list[Event], kind: type[Any]) -> list[Any]:
    """Return the bodies of one type among events, oldest first."""
    return [e.body for e in found if isinstance(e.body, kind)]


async def start_quoting(control: IpcClient, simulator: RunningSimulator, symbol: str,
                        exchange: str = "sim") -> None:
    """Activate a started pair and wait until its orders rest on the exchange."""
    answer = await control.call("symbol_action", symbol=symbol, action="activate")
    assert answer == {"symbol": symbol, "state": "ACTIVE"}
    await until(lambda: orders_on(simulator, symbol, exchange),
                f"{symbol}'s quotes rest on the exchange")


def next_to_the_book(quote: QuotesChosen) -> bool:
    """Return whether a quote set names the book's best bid and ask, around its mid."""
    return (quote.best_bid is not None and quote.best_ask is not None and quote.mid is not None
            and quote.best_bid < quote.best_ask and quote.best_bid <= quote.mid <= quote.best_ask)


async def test_a_bot_with_no_pairs_waits_and_quotes_a_pair_once_it_is_added(
    data: DataDir, simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="appliance.bot.runtime")
    async with running_bot(data) as control:
        assert await control.call("ping") == {"bot": BOT, "workers": 0, "resting": {}}
        assert "has no pairs yet" in caplog.text
        store_pair(data, "MTS/USDT")
        answer = await control.call("add_pair", exchange="sim", symbol="MTS/USDT")
        assert answer == {"symbol": "MTS/USDT", "state": "PAUSED"}
        assert (await control.call("ping"))["workers"] == 1
        await start_quoting(control, simulator, "MTS/USDT")
    assert not orders_on(simulator, "MTS/USDT"), "stopping the bot left orders resting"


async def test_an_added_pair_quotes_beside_a_running_one_and_a_removed_one_stops_alone(
    data: DataDir, simulator: RunningSimulator
) -> None:
    store_pair(data, "MTS/USDT")
    async with running_bot(data) as control:
        await start_quoting(control, simulator, "MTS/USDT")
        before_add = last_seq(data)
        store_pair(data, "MTS/USDC")
        await control.call("add_pair", exchange="sim", symbol="MTS/USDC")
        assert orders_on(simulator, "MTS/USDT"), "adding a pair took the other pair's orders"
        await start_quoting(control, simulator, "MTS/USDC")
        # The running pair's orders left the book only as its own cycles replaced them.
        reasons = {c.reason for c in bodies(events(data, "MTS/USDT", before_add), OrderCancelled)}
        assert reasons <= {"replaced"}

        before_remove = last_seq(data)
        answer = await control.call("remove_pair", symbol="MTS/USDC")
        assert answer["symbol"] == "MTS/USDC" and answer["cancelled"] >= 1
        assert not orders_on(simulator, "MTS/USDC"), "the answer came before the orders went"
        assert (await control.call("ping"))["workers"] == 1
        with pytest.raises(IpcError) as gone:
            await control.call("symbol_action", symbol="MTS/USDC", action="activate")
        assert gone.value.code == "unknown_symbol"
        await until(lambda: bodies(events(data, "MTS/USDT", before_remove), OrderSent)
                    and orders_on(simulator, "MTS/USDT"),
                    "MTS/USDT sends orders after MTS/USDC was removed, and they rest")
        assert not bodies(events(data, "MTS/USDC", before_remove), OrderSent)
        assert not orders_on(simulator, "MTS/USDC")
        quotes = bodies(events(data, "MTS/USDT"), QuotesChosen)
        assert quotes and all(next_to_the_book(q) for q in quotes if q.mid is not None)
    assert not orders_on(simulator, "MTS/USDT"), "stopping the bot left orders resting"


async def test_a_shadow_pair_logs_its_quotes_next_to_the_book_and_sends_nothing(
    data: DataDir, simulator: RunningSimulator
) -> None:
    store_pair(data, "MTS/USDC", shadow=True)
    async with running_bot(data) as control:
        await control.call("symbol_action", symbol="MTS/USDC", action="activate")
        await until(lambda: any(q.bids and q.asks for q in bodies(
            events(data, "MTS/USDC"), QuotesChosen)), "the shadow pair chooses quotes")
    quotes = [q for q in bodies(events(data, "MTS/USDC"), QuotesChosen) if q.bids and q.asks]
    assert all(next_to_the_book(q) for q in quotes)
    assert not bodies(events(data, "MTS/USDC"), OrderSent)
    assert not orders_on(simulator, "MTS/USDC")


async def test_add_pair_refuses_a_pair_it_may_not_start_and_starts_nothing(
    data: DataDir, simulator: RunningSimulator
) -> None:
    store_pair(data, "MTS/USDT")
    async with running_bot(data) as control:
        store_pair(data, "BTC/USDT")
        store_pair(data, "MTS/USDC", exchange="sim-3")
        refusals = {
            "asset_locked": {"exchange": "sim", "symbol": "BTC/USDT"},
            "unknown_pair": {"exchange": "sim", "symbol": "MTS/BTC"},
            "no_key": {"exchange": "sim-3", "symbol": "MTS/USDC"},
            "exists": {"exchange": "sim", "symbol": "MTS/USDT"},
        }
        for code, args in refusals.items():
            with pytest.raises(IpcError) as refused:
                await control.call("add_pair", **args)
            assert refused.value.code == code, refused.value
        with pytest.raises(IpcError) as unknown:
            await control.call("remove_pair", symbol="MTS/USDC")
        assert unknown.value.code == "unknown_symbol"
        with pytest.raises(IpcError) as bad_op:
            await control.call("add_pairs")
        assert "add_pair, remove_pair and account" in bad_op.value.message
        assert (await control.call("ping"))["workers"] == 1
        await start_quoting(control, simulator, "MTS/USDT")
        await asyncio.sleep(2)
    assert "this box is licensed for" in refused_reason(data, "BTC/USDT")
    assert not orders_on(simulator, "BTC/USDT")
    assert not bodies(events(data, "BTC/USDT"), OrderSent)


def refused_reason(data: DataDir, symbol: str) -> str:
    """Return why the bot halted a symbol, as its line says."""
    (halted,) = bodies(events(data, symbol), SymbolStateChanged)
    assert halted.state is SymbolState.HALTED
    return str(halted.reason)


async def test_a_failing_worker_pauses_its_symbol_only_and_activating_it_starts_it_again(
    data: DataDir, simulator: RunningSimulator
) -> None:
    store_pair(data, "MTS/USDT")
    store_pair(data, "MTS/USDC", exchange="sim-2")
    admin = SignerClient(data.signer_sock)
    async with running_bot(data) as control:
        await start_quoting(control, simulator, "MTS/USDT")
        await start_quoting(control, simulator, "MTS/USDC", "sim-2")
        admin.rename_key(label_of("sim-2"), "parked")  # sim-2's requests can't be signed now
        await until(lambda: failed(data, "MTS/USDC"), "the failing worker pauses its symbol")
        since = last_seq(data)
        await until(lambda: bodies(events(data, "MTS/USDT", since), OrderSent)
                    and orders_on(simulator, "MTS/USDT"), "MTS/USDT goes on quoting")
        assert not failed(data, "MTS/USDT")

        admin.rename_key("parked", label_of("sim-2"))
        admin.grant(os.getuid(), label_of("sim-2"))
        since = last_seq(data)
        answer = await control.call("symbol_action", symbol="MTS/USDC", action="activate")
        assert answer == {"symbol": "MTS/USDC", "state": "ACTIVE"}
        await until(lambda: bodies(events(data, "MTS/USDC", since), OrderSent)
                    and orders_on(simulator, "MTS/USDC", "sim-2"),
                    "the activated symbol quotes again")
    admin.close()
    assert not orders_on(simulator, "MTS/USDC", "sim-2"), "stopping the bot left orders resting"


def failed(data: DataDir, symbol: str) -> bool:
    """Return whether the bot paused a symbol because its worker failed."""
    return any(change.state is SymbolState.PAUSED and "Error" in change.reason
               for change in bodies(events(data, symbol), SymbolStateChanged))
