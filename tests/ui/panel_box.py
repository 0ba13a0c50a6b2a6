"""A small box on disk for the panel's tests: appliance.db, the bots' logs, a supervisor."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from nicegui import ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from appliance.license import TIERS, Limits
from appliance.risk.const import SymbolState, TripKind
from appliance.store import access
from appliance.store.access import ApiToken, Role, TokenScope
from appliance.store.appliance_db import ProcessStatus, create_schema, put_process, put_setting
from appliance.store.database import open_reader, open_writer
from appliance.store.events import (
    EventLog,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderSent,
    PriceSize,
    QuotesChosen,
    RiskTripped,
    SymbolStateChanged,
)
from appliance.supervisor.access import AccessOps
from appliance.supervisor.alerts_ops import AlertsOps
from appliance.supervisor.config_ops import ConfigOps
from appliance.supervisor.exchange_ops import ExchangeOps
from appliance.supervisor.pair_ops import PairOps
from appliance.vocabulary import Side
from hsm.client import SignerClient
from hsm.enrol import fingerprint, public_pem
from ui.auth.tokens import NewToken, new_token

REPO = Path(__file__).resolve().parents[2]
PANEL_MAIN = REPO / "ui" / "__main__.py"
BOTS = ("bot-1", "bot-2")
PAIRS = {"bot-1": "MTS/USDT", "bot-2": "MTS/BTC"}
RUNNING = ("bot-1",)
SINCE = 1_700_000_000.0
USER_CAP = 5


def enrolled(name: str, role: Role, serial: str) -> access.User:
    """Return a user enrolled with a fresh P-256 key, as the signer's enrol_read reads one."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return access.User(fingerprint(public), name, role, public_pem(public), serial, None,
                       serial, None, None, SINCE)


OWNER = enrolled("alice", Role.OWNER, "1001")
OPERATOR = enrolled("bob", Role.OPERATOR, "1002")
CONTROL_TOKEN: NewToken = new_token()
READ_TOKEN: NewToken = new_token()


def write_appliance_db(datadir: DataDir) -> None:
    """Write the supervisor's database: asset MTS, two bots, their pairs, loopback allowed."""
    db = open_writer(datadir.appliance_db)
    create_schema(db)
    put_setting(db, "asset", "MTS")
    db.table("exchanges").insert({"name": "sim", "ccxt_id": "binance", "api_url": "http://127.0.0.1:1"})
    db.table("bots").insert_all([
        {"name": "bot-1", "uid": 1001, "enabled": 1},
        {"name": "bot-2", "uid": 1002, "enabled": 0},
    ])
    db.table("pairs").insert_all([
        {"bot": "bot-1", "exchange": "sim", "symbol": "MTS/USDT", "strategy": "spread"},
        {"bot": "bot-2", "exchange": "sim", "symbol": "MTS/BTC", "strategy": "grid"},
    ])
    put_process(db, ProcessStatus("bot-1", "RUNNING", 4242, 1, SINCE))
    put_process(db, ProcessStatus("bot-2", "STOPPED", None, 0, SINCE, "stopped by the operator"))
    db.table("allowlist").insert({"cidr": "127.0.0.1/32"})
    for user in (OWNER, OPERATOR):
        access.put_user(db, user)
    for made, scope in ((CONTROL_TOKEN, TokenScope.CONTROL), (READ_TOKEN, TokenScope.READ)):
        access.put_api_token(db, ApiToken(made.id, f"{scope} script", scope, made.hash, SINCE,
                                          time.time() + 86_400, OWNER.fingerprint))
    db.close()


def fill(client_id: str, trade_id: str, side: Side, price: str, amount: str, fee: str,
         fee_asset: str, symbol: str = "MTS/USDT") -> OrderFilled:
    """Return a fill of the order `client_id`."""
    base, quote = symbol.split("/")
    return OrderFilled(client_id, f"o-{client_id}", trade_id, side, Decimal(price),
                       Decimal(amount), Decimal(fee), fee_asset, base, quote)


def order(client_id: str, side: Side, price: str, amount: str) -> OrderSent:
    """Return an order sent."""
    return OrderSent(client_id, side, Decimal(price), Decimal(amount))


def ack(client_id: str) -> OrderAcked:
    """Return the exchange's ack of the order `client_id`."""
    return OrderAcked(client_id, f"o-{client_id}")


def best(price_size: tuple[str, str] | None) -> tuple[PriceSize, ...]:
    """Return the levels of one side of quotes that hold at most one (price, size)."""
    return () if price_size is None else ((Decimal(price_size[0]), Decimal(price_size[1])),)


def quotes(mid: str, bid: tuple[str, str] | None = None,
           ask: tuple[str, str] | None = None) -> QuotesChosen:
    """Return quotes chosen at `mid`, at most one (price, size) on each side."""
    return QuotesChosen(Decimal(mid), best(bid), best(ask))


def write_bot_1_events(datadir: DataDir) -> None:
    """Write bot-1's day on MTS/USDT: a bought lot, part of it sold, orders resting."""
    log = EventLog(datadir.events_db("bot-1"))
    s = "MTS/USDT"
    log.append(s, SymbolStateChanged(SymbolState.ACTIVE, "operator"))
    log.append(s, quotes("1.00", ("0.99", "100"), ("1.01", "100")))
    log.append(s, order("c1", Side.BUY, "0.99", "100"))
    log.append(s, ack("c1"))
    log.append(s, order("c2", Side.SELL, "1.01", "100"))
    log.append(s, ack("c2"))
    log.append(s, fill("c1", "t1", Side.BUY, "0.99", "100", "0.1", "MTS"))
    log.append(s, fill("c2", "t2", Side.SELL, "1.01", "40", "0.0404", "USDT"))
    log.append(s, order("c3", Side.BUY, "0.98", "50"))
    log.append(s, ack("c3"))
    log.append(s, OrderCancelled("c3", "o-c3", "cancelled"))
    log.append(s, order("c4", Side.BUY, "0.985", "20"))
    log.append(s, quotes("1.02", ("0.985", "20"), ("1.01", "60")))
    log.close()


def write_bot_2_events(datadir: DataDir) -> None:
    """Write bot-2's grid on MTS/BTC: one buy filled, its counter order resting."""
    log = EventLog(datadir.events_db("bot-2"))
    s = "MTS/BTC"
    log.append(s, quotes("0.000025"))
    log.append(s, order("g1", Side.BUY, "0.000024", "1000"))
    log.append(s, ack("g1"))
    log.append(s, fill("g1", "u1", Side.BUY, "0.000024", "1000", "0.000000024", "BTC", symbol=s))
    log.append(s, order("g2", Side.SELL, "0.000026", "1000"))
    log.append(s, ack("g2"))
    log.close()


BOT_1_REQUESTS = (  # seconds before the box was written, method, path, status, weight, ms, error
    (3600.0, "GET", "/api/v3/exchangeInfo", 200, 20, 32.5, None),
    (3.0, "GET", "/api/v3/openOrders", 200, 66, 1.6, None),
    (2.0, "POST", "/api/v3/order", 400, 67, 2.1, None),
    (1.0, "DELETE", "/api/v3/order", None, None, 500.0, "RequestTimeout"),
)
"""bot-1's exchange requests: one an hour old, then in the last minute a rejected order and a
cancel that timed out (two failures); the latest used weight is 67."""


def request_line(ts: float, method: str = "GET", path: str = "/api/v3/depth",
                 status: int | None = 200, weight: int | None = 2, ms: float | None = 1.5,
                 error: str | None = None) -> bytes:
    """Return one line of an API log as the bot writes it."""
    record = {"ts": round(ts, 3), "method": method, "path": path, "status": status,
              "weight": weight, "ms": ms, "error": error}
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def write_bot_1_api_log(datadir: DataDir) -> None:
    """Write bot-1's API log, its times counted back from now."""
    now = time.time()
    datadir.api_log("bot-1").write_bytes(b"".join(
        request_line(now - ago, method, path, status, weight, ms, error)
        for ago, method, path, status, weight, ms, error in BOT_1_REQUESTS
    ))


def risk_trip(datadir: DataDir, bot: str, trip: TripKind, reason: str, state: SymbolState) -> int:
    """Record a risk trip that moved the bot's pair, as its risk guard does; return its seq."""
    log = EventLog(datadir.events_db(bot))
    seq = log.append(PAIRS[bot], RiskTripped(trip, reason, state)).seq
    log.close()
    return seq


@dataclass
class ControlServer:
    """A supervisor's control socket that knows the two bots and records what it was asked.

    A symbol action it accepts is written to the bot's events.db as the bot would write it;
    `states` holds what the bots' risk guards hold of each pair, as their logs were written.
    """

    datadir: DataDir
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    statuses: int = 0
    states: dict[str, SymbolState] = field(
        default_factory=lambda: {"MTS/USDT": SymbolState.ACTIVE})

    limits: Limits = field(default_factory=lambda: TIERS["pro"])
    """The license's tier, which caps the exchanges."""

    _access: dict[str, Any] | None = None

    def access_ops(self) -> dict[str, Any]:
        """Return the supervisor's own access, config, exchange and alert ops on the box's
        appliance.db.

        The bots of this box run no process: a change reaches them as it reaches a stopped bot.
        The exchange and alert ops reach the signer on the box's signer.sock (a test that adds
        accounts or alert secrets runs one) and grant keys to this process's uid, as a
        supervisor without root does.
        """
        if self._access is None:
            db = open_writer(self.datadir.appliance_db)
            setup = asyncio.Lock()
            exchanges = ExchangeOps(db, SignerClient(self.datadir.signer_sock), self.limits,
                                    "MTS", lambda bot: os.getuid(), os.getuid(), setup)
            self._access = {**AccessOps(db, USER_CAP).table(),
                            **ConfigOps(db, self.ask_bot).table(), **exchanges.table(),
                            **PairOps(db, self.ask_bot, "MTS", setup).table(),
                            **AlertsOps(db, SignerClient(self.datadir.signer_sock),
                                        lambda: os.getuid()).table()}
        return self._access

    async def ask_bot(self, bot: str, op: str, args: dict[str, Any]) -> Any:
        """Answer for a bot as the supervisor does when it is not running."""
        raise IpcError("not_running", f"{bot} is stopped; start it first")

    def trip(self, bot: str, trip: TripKind, reason: str, state: SymbolState) -> None:
        """Trip the risk guard of a bot's pair: record it and move the pair."""
        risk_trip(self.datadir, bot, trip, reason, state)
        self.states[PAIRS[bot]] = state

    async def handle(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer status, start_bot, stop_bot and symbol_action as the supervisor does."""
        if op == "status":
            self.statuses += 1
            return {"processes": {name: {"state": "RUNNING", "pid": 1, "restarts": 0,
                                         "since": SINCE, "detail": ""} for name in BOTS}}
        access_op = self.access_ops().get(op)
        if access_op is not None:
            return await access_op(args)
        if op not in ("start_bot", "stop_bot", "symbol_action"):
            raise IpcError("unknown_op", f"no op named {op!r}")
        if args.get("bot") not in BOTS:
            raise IpcError("unknown_bot", f"no bot named {args.get('bot')!r}; the bots are "
                                          + ", ".join(BOTS))
        if op == "symbol_action":
            return self.symbol_action(args)
        self.calls.append((op, args))
        return {"bot": args["bot"], "enabled": op == "start_bot"}

    def symbol_action(self, args: dict[str, Any]) -> dict[str, Any]:
        """Move a pair as the bot's risk guard would, or refuse as the supervisor relays it."""
        bot, symbol, action = args["bot"], args.get("symbol"), args.get("action")
        if bot not in RUNNING:
            raise IpcError("not_running", f"{bot} is not running; start it first")
        if symbol != PAIRS[bot]:
            raise IpcError("unknown_symbol", f"{bot} does not quote {symbol!r}")
        state = self.states.get(symbol, SymbolState.PAUSED)
        halted = state is SymbolState.HALTED
        if halted and action != "clear_halt":
            raise IpcError("refused", f"{symbol} is HALTED; clear the halt first, then {action}")
        if not halted and action == "clear_halt":
            raise IpcError("refused",
                           f"{symbol} is {state.name}, not HALTED; there is no halt to clear")
        new = SymbolState.ACTIVE if action == "activate" else SymbolState.PAUSED
        self.calls.append(("symbol_action", args))
        self.states[symbol] = new
        log = EventLog(self.datadir.events_db(bot))
        log.append(symbol, SymbolStateChanged(new, f"operator: {action}"))
        log.close()
        return {"bot": bot, "symbol": symbol, "state": new.name}


def activity_records(datadir: DataDir) -> list[access.ActivityRecord]:
    """Return the user-activity log appliance.db keeps, after checking its chain."""
    db = open_reader(datadir.appliance_db)
    try:
        access.verify_activity(db)
        return access.activity(db, limit=1000)
    finally:
        db.close()


def table_rows(user: User, marker: str) -> list[dict[str, str]]:
    """Return the rows of the panel's table with this marker, as a visitor sees them."""
    (table,) = user.find(kind=ui.table, marker=marker).elements
    rows: list[dict[str, str]] = table.rows
    return rows
