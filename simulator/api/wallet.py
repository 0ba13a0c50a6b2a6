"""Binance's wallet endpoints (`/sapi/...`) that a trading box reads: its API key's permissions."""

from __future__ import annotations

from aiohttp import web

from simulator import views
from simulator.api.request import answer, signed_params, signing_key

routes = web.RouteTableDef()


@routes.get("/sapi/v1/account/apiRestrictions")
async def api_restrictions(request: web.Request) -> web.Response:
    """Return what the signing API key may do: read, trade spot, and withdraw if allowed."""
    signer, params = await signed_params(request)
    params.check_all_read()
    key = signing_key(request)
    return answer(views.api_restrictions(key.create_time, signer.enable_withdrawals))
