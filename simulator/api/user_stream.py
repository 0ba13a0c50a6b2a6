"""Binance's listen key endpoints: open, keep alive and close a REST-started user data stream.

They need the API key header but no signature (security type USER_STREAM).
"""

from __future__ import annotations

from aiohttp import web

from simulator.api.keys import ACCOUNTS, HUB
from simulator.api.request import answer, public_params
from simulator.auth import API_KEY_HEADER, api_key_of

routes = web.RouteTableDef()
PATH = "/api/v3/userDataStream"


def _account(request: web.Request) -> str:
    """Return the account of the request's API key."""
    return api_key_of(request.app[ACCOUNTS], request.headers.get(API_KEY_HEADER)).account


@routes.post(PATH)
async def open_stream(request: web.Request) -> web.Response:
    """Return the account's listen key, new or extended by an hour."""
    (await public_params(request)).check_all_read()
    return answer({"listenKey": request.app[HUB].listen_keys.open(_account(request))})


@routes.put(PATH)
async def keep_alive(request: web.Request) -> web.Response:
    """Extend a listen key by an hour."""
    params = await public_params(request)
    listen_key = params.text("listenKey")
    params.check_all_read()
    request.app[HUB].listen_keys.keep_alive(_account(request), listen_key)
    return answer({})


@routes.delete(PATH)
async def close_stream(request: web.Request) -> web.Response:
    """Close a listen key and the streams that use it."""
    params = await public_params(request)
    listen_key = params.text("listenKey")
    params.check_all_read()
    hub = request.app[HUB]
    hub.listen_keys.close(_account(request), listen_key)
    hub.end_listen_key(listen_key, expired=False)
    return answer({})
