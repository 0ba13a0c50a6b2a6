"""The simulator's own admin endpoints: accounts, keys and what the keys may do, deposits,
open orders, and the run's faults, limits and outside market, changeable while it runs."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from simulator import errors, views
from simulator.accounts import (
    check_name,
    parse_balances,
    parse_public_key,
    parse_stp_mode,
    parse_withdrawals,
)
from simulator.api.keys import (
    ACCOUNTS,
    EXCHANGE,
    FAULTS,
    MARKET,
    ORDER_COUNTS,
    SAPI_WEIGHTS,
    WEIGHTS,
)
from simulator.api.request import answer
from simulator.const import ASSET_SCALE
from simulator.faults import FaultPlan
from simulator.limits import RateLimits

routes = web.RouteTableDef()
Settings = TypeVar("Settings", bound=BaseModel)
ACCOUNT_FIELDS = frozenset(
    {"name", "balances", "ed25519_public_key", "self_trade_prevention_mode", "enable_withdrawals"}
)
KEY_FIELDS = frozenset({"ed25519_public_key"})
RESTRICTION_FIELDS = frozenset({"enable_withdrawals"})
DEPOSIT_FIELDS = frozenset({"asset", "amount"})
MARKET_FIELDS = frozenset({"running"})


async def read_json_object(request: web.Request, fields: frozenset[str]) -> dict[str, Any]:
    """Return a request's JSON object body, or refuse anything else or any other field."""
    try:
        document = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.BinanceError(-1135, "Invalid JSON Request") from None
    if not isinstance(document, dict):
        raise errors.BinanceError(-1135, "Invalid JSON Request; send a JSON object.")
    extra = document.keys() - fields
    if extra:
        raise errors.BinanceError(
            -1104, f"Fields {sorted(extra)} are not taken; send only {sorted(fields)}."
        )
    return document


def known_account(request: web.Request) -> str:
    """Return the account named in the path, or refuse an unknown one with 404."""
    name = request.match_info["name"]
    if not request.app[EXCHANGE].has_account(name):
        raise errors.BinanceError(
            -1130, f"Account '{name}' does not exist; create it with POST /sim/accounts.", 404
        )
    return name


def stored_account(request: web.Request) -> str:
    """Return the account named in the path if it holds API keys, or refuse it."""
    name = known_account(request)
    if request.app[ACCOUNTS].by_name(name) is None:
        raise errors.BinanceError(
            -1130, f"Account '{name}' is the simulator's own and holds no API keys.", 409
        )
    return name


@routes.post("/sim/accounts")
async def create_account(request: web.Request) -> web.Response:
    """Create a trading account with starting balances; answer its fresh API keys.

    With `ed25519_public_key` (PEM) the account also gets an Ed25519 API key; with
    `self_trade_prevention_mode` its orders default to that STP mode; with
    `"enable_withdrawals": true` its keys may withdraw.
    """
    exchange, store = request.app[EXCHANGE], request.app[ACCOUNTS]
    document = await read_json_object(request, ACCOUNT_FIELDS)
    name = check_name(document.get("name"))
    balances = parse_balances(document.get("balances", {}))
    stp_mode = parse_stp_mode(document.get("self_trade_prevention_mode"))
    enable_withdrawals = parse_withdrawals(document.get("enable_withdrawals"))
    public_key = document.get("ed25519_public_key")
    if public_key is not None:
        parse_public_key(public_key)
    if exchange.has_account(name):
        raise errors.BinanceError(
            -1130, f"Account '{name}' already exists; choose another name.", 409
        )
    account = store.create(name, balances, exchange.clock(), stp_mode, enable_withdrawals)
    exchange.open_account(account.name, account.starting_units())
    created = {"name": account.name, "apiKey": account.api_key, "secretKey": account.secret_key}
    if public_key is not None:
        created["ed25519ApiKey"] = store.add_ed25519_key(name, public_key, exchange.clock())
    return answer(created, 201)


@routes.post("/sim/accounts/{name}/ed25519-keys")
async def add_ed25519_key(request: web.Request) -> web.Response:
    """Register an Ed25519 public key (PEM) for an account; answer its new API key."""
    name = stored_account(request)
    document = await read_json_object(request, KEY_FIELDS)
    public_key = document.get("ed25519_public_key")
    if not isinstance(public_key, str):
        raise errors.mandatory_missing("ed25519_public_key")
    api_key = request.app[ACCOUNTS].add_ed25519_key(name, public_key, request.app[EXCHANGE].clock())
    return answer({"apiKey": api_key}, 201)


@routes.post("/sim/accounts/{name}/api-restrictions")
async def set_api_restrictions(request: web.Request) -> web.Response:
    """Allow or forbid withdrawals with an account's API keys: `{"enable_withdrawals": true}`."""
    name = stored_account(request)
    document = await read_json_object(request, RESTRICTION_FIELDS)
    enabled = document.get("enable_withdrawals")
    if enabled is None:
        raise errors.mandatory_missing("enable_withdrawals")
    account = request.app[ACCOUNTS].set_withdrawals(name, parse_withdrawals(enabled))
    return answer({"name": account.name, "enableWithdrawals": account.enable_withdrawals})


@routes.post("/sim/accounts/{name}/deposits")
async def deposit(request: web.Request) -> web.Response:
    """Credit an account as a deposit would: `{"asset": "USDT", "amount": "100"}`."""
    name = known_account(request)
    document = await read_json_object(request, DEPOSIT_FIELDS)
    asset = document.get("asset")
    if not isinstance(asset, str):
        raise errors.mandatory_missing("asset")
    amount = parse_balances({asset: document.get("amount")})[asset]
    if not amount:
        raise errors.invalid_value("amount")
    request.app[EXCHANGE].deposit(name, asset, int(amount * ASSET_SCALE))
    return answer({"asset": asset, "amount": str(amount)}, 201)


@routes.get("/sim/accounts/{name}")
async def show_account(request: web.Request) -> web.Response:
    """Return an account's API keys, whether they may withdraw, its balances and number of open
    orders; never its secret."""
    exchange, store = request.app[EXCHANGE], request.app[ACCOUNTS]
    name = known_account(request)
    stored = store.by_name(name)
    api_key = None if stored is None else stored.api_key
    open_orders = len(exchange.open_orders(name))
    shown = views.admin_account(name, api_key, exchange.wallets, open_orders)
    if stored is not None:
        shown["enableWithdrawals"] = stored.enable_withdrawals
    if stored is not None and stored.ed25519_keys:
        shown["ed25519ApiKeys"] = sorted(stored.ed25519_keys)
    return answer(shown)


@routes.get("/sim/open-orders")
async def list_open_orders(request: web.Request) -> web.Response:
    """Return every open order with its account, or those of `?account=NAME`."""
    exchange = request.app[EXCHANGE]
    account = request.query.get("account")
    return answer(
        [
            views.admin_open_order(order, exchange.instrument(order.symbol))
            for order in exchange.all_open_orders()
            if account is None or order.account == account
        ]
    )


@routes.get("/sim/faults")
async def show_faults(request: web.Request) -> web.Response:
    """Return the faults in force."""
    return answer(request.app[FAULTS].plan.model_dump())


@routes.post("/sim/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Replace the faults in force; a field left out is no fault."""
    document = await read_json_object(request, frozenset(FaultPlan.model_fields))
    plan = _validated(FaultPlan, document)
    request.app[FAULTS].plan = plan
    return answer(plan.model_dump())


@routes.get("/sim/limits")
async def show_limits(request: web.Request) -> web.Response:
    """Return the rate limits in force."""
    return answer(request.app[WEIGHTS].limits.model_dump())


@routes.post("/sim/limits")
async def set_limits(request: web.Request) -> web.Response:
    """Replace the rate limits, and forget every count and ban so far."""
    document = await read_json_object(request, frozenset(RateLimits.model_fields))
    limits = _validated(RateLimits, document)
    request.app[WEIGHTS].limits = limits
    request.app[WEIGHTS].forgive()
    request.app[SAPI_WEIGHTS].limits = limits.for_sapi()
    request.app[SAPI_WEIGHTS].forgive()
    request.app[ORDER_COUNTS].limits = limits
    return answer(limits.model_dump())


@routes.get("/sim/market")
async def show_market(request: web.Request) -> web.Response:
    """Return whether the outside market trades, and how it behaves."""
    market = request.app[MARKET]
    return answer({"running": market.running, "profile": market.profile.model_dump()})


@routes.post("/sim/market")
async def set_market(request: web.Request) -> web.Response:
    """Pause or resume the outside market: `{"running": false}`."""
    market = request.app[MARKET]
    document = await read_json_object(request, MARKET_FIELDS)
    running = document.get("running")
    if not isinstance(running, bool):
        raise errors.BinanceError(
            -1130, "Data sent for parameter 'running' is not valid; send true or false."
        )
    if running and not market.running:
        market.start()
    elif not running and market.running:
        await market.stop()
    return answer({"running": market.running, "profile": market.profile.model_dump()})


def _validated(model: type[Settings], document: dict[str, Any]) -> Settings:
    """Return a settings model from a JSON object, or refuse it with what is wrong."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise errors.BinanceError(-1130, f"Settings are not valid: {problems}.") from None
