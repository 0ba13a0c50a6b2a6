"""The supervisor's database (`appliance.db`): the box's configuration and its processes.

Exchanges name a key label, never a secret: the secret lives in the token only. Who may reach
and use the panel (users, API tokens, the pending allowlist change, the activity log) is read
and written by `appliance.store.access`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exchanges (
    name TEXT PRIMARY KEY, ccxt_id TEXT NOT NULL, api_url TEXT);
CREATE TABLE IF NOT EXISTS keys (
    label TEXT PRIMARY KEY, exchange TEXT NOT NULL REFERENCES exchanges(name),
    bot TEXT NOT NULL REFERENCES bots(name), kind TEXT NOT NULL, api_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bots (
    name TEXT PRIMARY KEY, uid INTEGER NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,
    risk TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS pairs (
    id INTEGER PRIMARY KEY, bot TEXT NOT NULL REFERENCES bots(name),
    exchange TEXT NOT NULL REFERENCES exchanges(name), symbol TEXT NOT NULL,
    strategy TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', shadow INTEGER NOT NULL DEFAULT 0,
    UNIQUE (bot, exchange, symbol));
CREATE TABLE IF NOT EXISTS allowlist (cidr TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS processes (
    name TEXT PRIMARY KEY, state TEXT NOT NULL, pid INTEGER, restarts INTEGER NOT NULL,
    since REAL NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS config_history (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, fingerprint TEXT NOT NULL,
    target TEXT NOT NULL, settings TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS config_history_target ON config_history (target, id);
CREATE TABLE IF NOT EXISTS users (
    fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'operator')), public_key_pem TEXT NOT NULL,
    usb_serial TEXT NOT NULL, token_label TEXT, token_serial TEXT, key_id TEXT, key_label TEXT,
    created REAL NOT NULL, revoked REAL);
CREATE UNIQUE INDEX IF NOT EXISTS users_name ON users (name) WHERE revoked IS NULL;
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'control')), hash TEXT NOT NULL UNIQUE,
    created REAL NOT NULL, expires REAL NOT NULL, revoked REAL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activity (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, fingerprint TEXT NOT NULL,
    address TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS allowlist_change (
    id INTEGER PRIMARY KEY CHECK (id = 1), previous TEXT NOT NULL, proposed TEXT NOT NULL,
    author TEXT NOT NULL, address TEXT NOT NULL, deadline REAL NOT NULL);
"""


@dataclass(frozen=True)
class Exchange:
    """An exchange connection: a ccxt id and, for the simulator, its base URL."""

    name: str
    ccxt_id: str
    api_url: str | None
    sandbox: bool = False
    """Whether the account is on the exchange's sandbox or testnet, as ccxt knows it."""


@dataclass(frozen=True)
class ExchangeKey:
    """A key in the token that signs for one bot on one exchange."""

    label: str
    exchange: str
    bot: str
    kind: str
    api_key: str
    passphrase: str | None = None
    """The token label of the account's passphrase, for exchanges that ask for one."""
    uid: str | None = None
    """The account's user id, for exchanges that ask for one (not a secret)."""


@dataclass(frozen=True)
class Pair:
    """One market a bot quotes, with its strategy and parameters."""

    bot: str
    exchange: str
    symbol: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    shadow: bool = False
    tolerance: dict[str, Any] = field(default_factory=dict)
    """How far a resting order may drift and be kept (`orders.plan.Tolerance`)."""
    integrity: dict[str, Any] = field(default_factory=dict)
    """Minimum rest and order-to-trade cap (`compliance.rules.ComplianceRules`)."""


@dataclass(frozen=True)
class Bot:
    """A bot process: its uid and whether the operator wants it running."""

    name: str
    uid: int
    enabled: bool


@dataclass(frozen=True)
class ProcessStatus:
    """What the supervisor last saw of one child process."""

    name: str
    state: str
    pid: int | None
    restarts: int
    since: float
    detail: str = ""


ADDED_COLUMNS = {
    ("bots", "risk"): "TEXT NOT NULL DEFAULT '{}'",
    ("pairs", "tolerance"): "TEXT NOT NULL DEFAULT '{}'",
    ("pairs", "integrity"): "TEXT NOT NULL DEFAULT '{}'",
    ("exchanges", "sandbox"): "INTEGER NOT NULL DEFAULT 0",
    ("keys", "passphrase"): "TEXT",
    ("keys", "uid"): "TEXT",
}
"""Columns later versions added, so an older appliance.db is brought up to date."""


def create_schema(db: sqlite_utils.Database) -> None:
    """Create every table that does not exist yet, and add the columns an older one lacks."""
    db.conn.executescript(SCHEMA)
    for (table, column), definition in ADDED_COLUMNS.items():
        if column not in db[table].columns_dict:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def settings(db: sqlite_utils.Database) -> dict[str, str]:
    """Return every setting."""
    return {k: v for k, v in db.execute("SELECT key, value FROM settings").fetchall()}


def put_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Set one setting."""
    db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])


def exchanges(db: sqlite_utils.Database) -> dict[str, Exchange]:
    """Return the exchanges by name."""
    rows = db.execute("SELECT name, ccxt_id, api_url, sandbox FROM exchanges").fetchall()
    return {name: Exchange(name, ccxt_id, url, bool(sandbox))
            for name, ccxt_id, url, sandbox in rows}


def exchange_keys(db: sqlite_utils.Database, bot: str | None = None) -> list[ExchangeKey]:
    """Return the key references, of one bot or of all."""
    sql = "SELECT label, exchange, bot, kind, api_key, passphrase, uid FROM keys"
    rows = (db.execute(sql + " WHERE bot = ? ORDER BY label", [bot]) if bot
            else db.execute(sql + " ORDER BY label"))
    return [ExchangeKey(*row) for row in rows.fetchall()]


def add_account(db: sqlite_utils.Database, exchange: Exchange, key: ExchangeKey) -> None:
    """Record an exchange account: its connection, if new, and its key (in the caller's
    transaction)."""
    db.execute("INSERT OR IGNORE INTO exchanges (name, ccxt_id, api_url, sandbox) "
               "VALUES (?, ?, ?, ?)",
               [exchange.name, exchange.ccxt_id, exchange.api_url, int(exchange.sandbox)])
    db.execute("INSERT INTO keys (label, exchange, bot, kind, api_key, passphrase, uid) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               [key.label, key.exchange, key.bot, key.kind, key.api_key, key.passphrase,
                key.uid])


def remove_account(db: sqlite_utils.Database, exchange: str, bot: str) -> None:
    """Forget a bot's account on an exchange, and the exchange once no bot has one there."""
    db.execute("DELETE FROM keys WHERE exchange = ? AND bot = ?", [exchange, bot])
    db.execute("DELETE FROM exchanges WHERE name = ? AND NOT EXISTS "
               "(SELECT 1 FROM keys WHERE exchange = ?)", [exchange, exchange])


def bots(db: sqlite_utils.Database) -> list[Bot]:
    """Return the bots in name order."""
    rows = db.execute("SELECT name, uid, enabled FROM bots ORDER BY name").fetchall()
    return [Bot(name, int(uid), bool(enabled)) for name, uid, enabled in rows]


def bot_risk(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    """Return a bot's risk limits as stored (the bot validates them)."""
    row = db.execute("SELECT risk FROM bots WHERE name = ?", [name]).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def set_bot_enabled(db: sqlite_utils.Database, name: str, enabled: bool) -> None:
    """Record whether the operator wants a bot running."""
    db.execute("UPDATE bots SET enabled = ? WHERE name = ?", [int(enabled), name])


def pairs(db: sqlite_utils.Database, bot: str | None = None) -> list[Pair]:
    """Return the pairs, of one bot or of all."""
    sql = ("SELECT bot, exchange, symbol, strategy, params, shadow, tolerance, integrity "
           "FROM pairs")
    rows = (db.execute(sql + " WHERE bot = ? ORDER BY id", [bot]) if bot
            else db.execute(sql + " ORDER BY id")).fetchall()
    return [Pair(b, e, s, st, json.loads(p), bool(sh), json.loads(t), json.loads(i))
            for b, e, s, st, p, sh, t, i in rows]


def put_pair(db: sqlite_utils.Database, pair: Pair) -> None:
    """Write a pair's strategy and settings over the stored ones (the pair must exist)."""
    db.execute(
        "UPDATE pairs SET strategy = ?, params = ?, shadow = ?, tolerance = ?, integrity = ? "
        "WHERE bot = ? AND exchange = ? AND symbol = ?",
        [pair.strategy, json.dumps(pair.params), int(pair.shadow), json.dumps(pair.tolerance),
         json.dumps(pair.integrity), pair.bot, pair.exchange, pair.symbol])


def add_pair(db: sqlite_utils.Database, pair: Pair) -> None:
    """Record a new pair of a bot (sqlite3.IntegrityError when the bot has it already)."""
    db.execute(
        "INSERT INTO pairs (bot, exchange, symbol, strategy, params, shadow, tolerance, "
        "integrity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [pair.bot, pair.exchange, pair.symbol, pair.strategy, json.dumps(pair.params),
         int(pair.shadow), json.dumps(pair.tolerance), json.dumps(pair.integrity)])


def remove_pair(db: sqlite_utils.Database, bot: str, exchange: str, symbol: str) -> None:
    """Forget a pair of a bot."""
    db.execute("DELETE FROM pairs WHERE bot = ? AND exchange = ? AND symbol = ?",
               [bot, exchange, symbol])


def set_bot_risk(db: sqlite_utils.Database, name: str, risk: dict[str, Any]) -> None:
    """Write a bot's risk limits (validated by the caller)."""
    db.execute("UPDATE bots SET risk = ? WHERE name = ?", [json.dumps(risk), name])


def allowlist(db: sqlite_utils.Database) -> tuple[str, ...]:
    """Return the networks (CIDRs) allowed to reach the panel."""
    rows = db.execute("SELECT cidr FROM allowlist ORDER BY cidr").fetchall()
    return tuple(str(cidr) for (cidr,) in rows)


def put_process(db: sqlite_utils.Database, status: ProcessStatus) -> None:
    """Record what the supervisor sees of one child."""
    db.execute(
        "INSERT OR REPLACE INTO processes (name, state, pid, restarts, since, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [status.name, status.state, status.pid, status.restarts, status.since, status.detail],
    )


def processes(db: sqlite_utils.Database) -> dict[str, ProcessStatus]:
    """Return the supervisor's view of every child, by name."""
    rows = db.execute(
        "SELECT name, state, pid, restarts, since, detail FROM processes"
    ).fetchall()
    return {row[0]: ProcessStatus(*row) for row in rows}

