"""Read a request's parameters and signer, and answer in JSON."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator import errors
from simulator.accounts import Account, ApiKey
from simulator.api.keys import ACCOUNTS, EXCHANGE
from simulator.auth import API_KEY_HEADER, api_key_of, authenticate
from simulator.params import Params


async def read_params(request: web.Request) -> tuple[Params, str, str]:
    """Return a request's parameters with its raw query string and raw form body."""
    query = request.raw_path.partition("?")[2]
    try:
        body = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BinanceError(-1100, "Illegal characters found in a parameter.") from None
    return Params.parse(query, body), query, body


async def public_params(request: web.Request) -> Params:
    """Return the parameters of a request to a public endpoint."""
    params, _, _ = await read_params(request)
    return params


async def signed_params(request: web.Request) -> tuple[Account, Params]:
    """Return the account that signed a request and the request's parameters."""
    params, query, body = await read_params(request)
    account = authenticate(
        request.app[ACCOUNTS],
        request.headers.get(API_KEY_HEADER),
        params,
        query,
        body,
        request.app[EXCHANGE].clock(),
    )
    return account, params


def signing_key(request: web.Request) -> ApiKey:
    """Return the API key a request names; call it once `signed_params` has checked the key."""
    return api_key_of(request.app[ACCOUNTS], request.headers.get(API_KEY_HEADER))


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return a JSON answer."""
    return web.json_response(data, status=status, headers=headers)


def refuse(error: errors.BinanceError, headers: dict[str, str] | None = None) -> web.Response:
    """Return a Binance error answer."""
    return answer(error.body(), error.status, headers)
