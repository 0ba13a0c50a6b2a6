"""The simulator's own admin endpoints: create and inspect accounts, list open orders."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from appliance.exchanges.simulator import errors, views
from appliance.exchanges.simulator.accounts import check_name, parse_balances
from appliance.exchanges.simulator.api.keys import ACCOUNTS, EXCHANGE
from appliance.exchanges.simulator.api.request import answer

routes = web.RouteTableDef()
ACCOUNT_FIELDS = frozenset({"name", "balances"})


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """Return a request's JSON object body, or refuse anything else."""
    try:
        document = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise errors.BinanceError(-1135, "Invalid JSON Request") from None
    if not isinstance(document, dict):
        raise errors.BinanceError(-1135, "Invalid JSON Request; send a JSON object.")
    return document


@routes.post("/sim/accounts")
async def create_account(request: web.Request) -> web.Response:
    """Create a trading account with starting balances; answer its fresh API key and secret."""
    exchange, store = request.app[EXCHANGE], request.app[ACCOUNTS]
    document = await read_json_object(request)
    extra = document.keys() - ACCOUNT_FIELDS
    if extra:
        raise errors.BinanceError(
            -1104, f"Fields {sorted(extra)} are not taken; send only 'name' and 'balances'."
        )
    name = check_name(document.get("name"))
    balances = parse_balances(document.get("balances", {}))
    if exchange.has_account(name):
        raise errors.BinanceError(
            -1130, f"Account '{name}' already exists; choose another name.", 409
        )
    account = store.create(name, balances)
    exchange.open_account(account.name, account.starting_units())
    return answer(
        {"name": account.name, "apiKey": account.api_key, "secretKey": account.secret_key}, 201
    )


@routes.get("/sim/accounts/{name}")
async def show_account(request: web.Request) -> web.Response:
    """Return an account's API key, balances and number of open orders; never its secret."""
    exchange, store = request.app[EXCHANGE], request.app[ACCOUNTS]
    name = request.match_info["name"]
    if not exchange.has_account(name):
        raise errors.BinanceError(
            -1130, f"Account '{name}' does not exist; create it with POST /sim/accounts.", 404
        )
    stored = store.by_name(name)
    api_key = None if stored is None else stored.api_key
    open_orders = len(exchange.open_orders(name))
    return answer(views.admin_account(name, api_key, exchange.wallets, open_orders))


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
