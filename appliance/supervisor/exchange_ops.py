"""Set up where the bots trade, on the owner's behalf: exchange accounts.

Ops (each `async (args) -> result`; the supervisor has already checked the caller is the panel):
  exchange_test    {exchange, api_url, sandbox, kind, credentials}
                                          -> {markets, balances, permissions, asset_markets}
  exchange_add     {name, exchange, api_url, sandbox, bot, kind, credentials, actor, fingerprint}
                                          -> {name, bot, exchange, kind, label}
  exchange_keygen  {name, bot, actor, fingerprint} -> {name, bot, label, public_key_pem}
  exchange_remove  {name, bot, actor, fingerprint} -> {name, bot, destroyed}

A secret goes into the token at once, under the label of the account's key, and the account is
tested through the signer, as the bot will trade on it: the test loads markets, reads balances
and the key's rights, and a key that can withdraw is refused and destroyed. Only a key that
passed is granted to its bot and written to appliance.db; the secret is never written, logged
or repeated, and errors are the exchange's with the request left out.

An account is removed only when no pair uses it (`pair_ops` adds and removes pairs, under the
same lock), and its keys are destroyed in the token.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import sqlite_utils

from appliance.exchanges.adapter import connect
from appliance.exchanges.catalog import (
    ACCOUNT_NAME,
    ACCOUNT_RULE,
    CREDENTIAL_MAX,
    SIMULATOR,
    UnknownChoice,
    choice,
)
from appliance.exchanges.probe import Probe, ProbeRefused, probe
from appliance.ipc import IpcError
from appliance.license import Limits
from appliance.store import appliance_db
from appliance.store.access import transaction
from appliance.store.appliance_db import Exchange, ExchangeKey
from appliance.supervisor.access_args import text
from appliance.supervisor.config_ops import ConfigOp, known_bot
from hsm.client import SignerClient, SignerError

log = logging.getLogger(__name__)
T = TypeVar("T")

class ExchangeOps:
    """Test, add and remove exchange accounts."""

    def __init__(self, db: sqlite_utils.Database, signer: SignerClient, limits: Limits,
                 asset: str, uid_of: Callable[[str], int], own_uid: int,
                 lock: asyncio.Lock) -> None:
        self._db = db
        self._signer = signer
        self._limits = limits
        self._asset = asset
        self._uid_of = uid_of
        self._own_uid = own_uid
        self._lock = lock
        """Held by every account and pair change: each reads, then writes, the same rows."""

    def table(self) -> dict[str, ConfigOp]:
        """Return the ops by name."""
        return {"exchange_test": self.exchange_test, "exchange_add": self.exchange_add,
                "exchange_keygen": self.exchange_keygen,
                "exchange_remove": self.exchange_remove}

    async def exchange_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """Test credentials without keeping them: the secret is in the token only meanwhile."""
        exchange = _exchange(args, "probe")
        credentials = _credentials(args, exchange)
        label = f"probe-{secrets.token_hex(4)}.{exchange.name}.hmac"
        async with self._lock:
            key = await self._store_key(label, exchange, "", credentials)
            try:
                found = await self._probe(exchange, key)
            finally:
                await self._destroy([key.label, *filter(None, [key.passphrase])])
        return _probed(found)

    async def exchange_add(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add a bot's account on an exchange once it passed its test."""
        name = _account_name(args)
        bot = known_bot(self._db, args)
        exchange = _exchange(args, name)
        kind = text(args, "kind", "hmac or ed25519", limit=8)
        if kind not in ("hmac", "ed25519"):
            raise IpcError("bad_args", "'kind' must be hmac (a secret from the exchange) or "
                           "ed25519 (a key made on the token with exchange_keygen)")
        async with self._lock:
            known = appliance_db.exchanges(self._db)
            self._check_room(name, known, exchange, bot)
            if kind == "hmac":
                credentials = _credentials(args, exchange)
                key = await self._store_key(f"{bot}.{name}.hmac", exchange, bot, credentials)
            else:
                key = await self._ed25519_key(args, exchange, bot)
            try:
                await self._probe(exchange, key)
                for label in filter(None, [key.label, key.passphrase]):
                    await self._sign(functools.partial(
                        self._signer.call, "grant", uid=self._uid_of(bot), label=label))
                with transaction(self._db):
                    appliance_db.add_account(self._db, exchange, key)
            except BaseException:
                if kind == "hmac":  # an Ed25519 key stays, registered, for the next try
                    await self._destroy([key.label, *filter(None, [key.passphrase])])
                raise
        log.info("exchange account %s of %s added (%s)", name, bot, kind)
        return {"name": name, "bot": bot, "exchange": exchange.ccxt_id, "kind": kind,
                "label": key.label}

    async def exchange_keygen(self, args: dict[str, Any]) -> dict[str, Any]:
        """Make an Ed25519 key on the token for an account to be added; return its public key."""
        name = _account_name(args)
        bot = known_bot(self._db, args)
        label = f"{bot}.{name}.ed25519"
        async with self._lock:
            if any(k.label == label for k in appliance_db.exchange_keys(self._db, bot)):
                raise IpcError("conflict", f"{bot} already has account '{name}'; remove it first")
            await self._destroy([label])  # a key made earlier and never used
            pem = await self._sign(lambda: self._signer.generate_ed25519(label))
        return {"name": name, "bot": bot, "label": label, "public_key_pem": pem}

    async def exchange_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        """Remove a bot's account, destroying its keys; refused while a pair uses it."""
        name = text(args, "name", "the account's name", limit=40)
        bot = known_bot(self._db, args)
        async with self._lock:
            keys = [k for k in appliance_db.exchange_keys(self._db, bot) if k.exchange == name]
            if not keys:
                raise IpcError("not_found", f"{bot} has no account '{name}'")
            using = [p.symbol for p in appliance_db.pairs(self._db, bot) if p.exchange == name]
            if using:
                raise IpcError("conflict", f"{bot} still trades {', '.join(using)} on '{name}'; "
                               "remove those pairs first")
            labels = [label for k in keys for label in (k.label, k.passphrase) if label]
            with transaction(self._db):
                appliance_db.remove_account(self._db, name, bot)
            await self._destroy(labels)
        log.info("exchange account %s of %s removed", name, bot)
        return {"name": name, "bot": bot, "destroyed": labels}

    def _check_room(self, name: str, known: dict[str, Exchange], exchange: Exchange,
                    bot: str) -> None:
        """Refuse an account the license has no room for, or one that exists."""
        if name in known:
            if (known[name].ccxt_id, known[name].api_url, known[name].sandbox) != (
                    exchange.ccxt_id, exchange.api_url, exchange.sandbox):
                raise IpcError("conflict", f"account '{name}' is on another exchange; choose "
                               "another name")
            if any(k.exchange == name for k in appliance_db.exchange_keys(self._db, bot)):
                raise IpcError("conflict", f"{bot} already has account '{name}'")
        elif len(known) >= self._limits.exchanges:
            raise IpcError("limit", f"this box's license allows {self._limits.exchanges} "
                           f"exchange(s), and {len(known)} are set up; remove one, or upgrade "
                           "the license's tier")

    async def _store_key(self, label: str, exchange: Exchange, bot: str,
                         credentials: dict[str, str]) -> ExchangeKey:
        """Put the secret (and passphrase) into the token at once; return the key reference."""
        passphrase = None
        await self._destroy([label])  # a key left by an attempt that did not finish
        secret = credentials.pop("secret").encode()
        await self._sign(functools.partial(self._signer.import_hmac, label, secret))
        if "password" in credentials:
            passphrase = label.rsplit(".", 1)[0] + ".passphrase"
            value = base64.b64encode(credentials.pop("password").encode()).decode()
            await self._destroy([passphrase])
            try:
                await self._sign(lambda: self._signer.call(
                    "import_credential", label=passphrase, value_b64=value))
            except BaseException:
                await self._destroy([label])
                raise
        return ExchangeKey(label, exchange.name, bot, "hmac", credentials["apiKey"],
                           passphrase, credentials.get("uid"))

    async def _ed25519_key(self, args: dict[str, Any], exchange: Exchange,
                           bot: str) -> ExchangeKey:
        """Return the reference of the Ed25519 key exchange_keygen made for this account."""
        label = f"{bot}.{exchange.name}.ed25519"
        labels = {entry.label for entry in await self._sign(self._signer.list_keys)}
        if label not in labels:
            raise IpcError("not_found", f"the token has no key {label}; make one with "
                           "exchange_keygen and register its public key at the exchange first")
        raw = args.get("credentials")
        api_key = raw.get("apiKey") if isinstance(raw, dict) else None
        if not isinstance(api_key, str) or not api_key or len(api_key) > CREDENTIAL_MAX:
            raise IpcError("bad_args", "credentials need 'apiKey': the key id the exchange gave "
                           "for the registered public key")
        return ExchangeKey(label, exchange.name, bot, "ed25519", api_key)

    async def _probe(self, exchange: Exchange, key: ExchangeKey) -> Probe:
        """Test the account through the signer, as its bot will trade on it."""
        for label in filter(None, [key.label, key.passphrase]):
            await self._sign(functools.partial(
                self._signer.call, "grant", uid=self._own_uid, label=label))
        passphrase = None
        if key.passphrase:
            reply = await self._sign(lambda: self._signer.call("read_credential",
                                                               label=key.passphrase))
            passphrase = base64.b64decode(reply["value_b64"]).decode()
        client = connect(exchange, key, self._signer, streams=False, passphrase=passphrase)
        try:
            return await probe(client, self._asset)
        except ProbeRefused as exc:
            raise IpcError(exc.code, exc.message) from None
        finally:
            await client.close()

    async def _destroy(self, labels: list[str]) -> None:
        """Destroy keys on the token; one that is not there is already gone."""
        for label in labels:
            try:
                await asyncio.to_thread(self._signer.delete_key, label)
            except SignerError as exc:
                if exc.code != "unknown_key":
                    log.warning("could not destroy key %s: %s", label, exc.message)

    async def _sign(self, call: Callable[[], T]) -> T:
        """Run one signer call off the event loop; a refusal becomes the op's refusal."""
        try:
            return await asyncio.to_thread(call)
        except SignerError as exc:
            raise IpcError("unavailable" if exc.code in ("locked", "unavailable") else exc.code,
                           f"the signer refused: {exc.message}") from None


def _account_name(args: dict[str, Any]) -> str:
    name = text(args, "name", f"the account's name: {ACCOUNT_RULE}", limit=24)
    if not ACCOUNT_NAME.fullmatch(name):
        raise IpcError("bad_args", f"'name' must be {ACCOUNT_RULE}")
    return name


def _exchange(args: dict[str, Any], name: str) -> Exchange:
    """Return the connection the args describe: a catalog exchange, its URL or sandbox."""
    try:
        picked = choice(text(args, "exchange", "an exchange id of the catalog", limit=40))
    except UnknownChoice as exc:
        raise IpcError("bad_args", str(exc)) from None
    if not picked.supported:
        raise IpcError("not_supported", picked.missing or "the box cannot trade there")
    sandbox = args.get("sandbox", False)
    if not isinstance(sandbox, bool) or (sandbox and not picked.sandbox):
        raise IpcError("bad_args", f"'sandbox' must be true or false, and {picked.name} has "
                       f"{'a' if picked.sandbox else 'no'} sandbox")
    api_url = args.get("api_url")
    if picked.id == SIMULATOR:
        url = text(args, "api_url", "the simulator's address, e.g. http://127.0.0.1:9100",
                   limit=200)
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[\w./-]*)?", url):
            raise IpcError("bad_args", f"'api_url' {url[:60]!r} is not an http(s) address of "
                           "the simulator, e.g. http://127.0.0.1:9100")
        return Exchange(name, picked.ccxt_id, url.rstrip("/"), False)
    if api_url is not None:
        raise IpcError("bad_args", "'api_url' is for the simulator only; leave it out")
    return Exchange(name, picked.ccxt_id, None, sandbox)


def _credentials(args: dict[str, Any], exchange: Exchange) -> dict[str, str]:
    """Return the credentials the exchange's ccxt class requires, checked but never shown."""
    raw = args.get("credentials")
    if not isinstance(raw, dict):
        raise IpcError("bad_args", "args need 'credentials': apiKey and secret, with password "
                       "and uid where the exchange asks for them")
    needed = choice_credentials(exchange)
    taken: dict[str, str] = {}
    for name in needed:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise IpcError("bad_args", f"credentials need '{name}': the exchange asks for it")
        if len(value) > CREDENTIAL_MAX or not value.isprintable():
            raise IpcError("bad_args", f"credential '{name}' must be printable and at most "
                           f"{CREDENTIAL_MAX} characters long; paste it again")
        taken[name] = value.strip()
    extra = sorted(set(raw) - set(needed))
    if extra:
        raise IpcError("bad_args", f"the exchange does not ask for {', '.join(extra)}; leave "
                       "them out")
    return taken


def choice_credentials(exchange: Exchange) -> tuple[str, ...]:
    """Return the credentials the account's exchange asks for."""
    return choice(SIMULATOR if exchange.api_url else exchange.ccxt_id).credentials


def _probed(found: Probe) -> dict[str, Any]:
    return {"markets": found.markets, "balances": found.balances,
            "permissions": {"reported": found.permissions.reported,
                            "withdraw": found.permissions.withdraw},
            "asset_markets": found.asset_markets}
