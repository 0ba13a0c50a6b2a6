"""The panel's REST API under /api: JSON views of the snapshot, and bot control relayed."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from appliance.ipc import UNREACHABLE, IpcError
from appliance.risk.const import SymbolState
from appliance.store.database import StoreUnavailable
from ui.const import API_LOG_LIMIT, API_LOG_MAX_LIMIT, SymbolAction
from ui.panel import Panel
from ui.snapshot import UnknownBot

ERROR_STATUS = {UNREACHABLE: 503, "unknown_bot": 404, "unknown_symbol": 404}
"""The HTTP status of a supervisor error code; any other refusal is a 409."""

MAX_SYMBOL = 40
"""The longest pair name a request may carry (ccxt's are far shorter)."""

SYMBOL_BODY_EXAMPLE = '{"symbol": "MTS/USDT"}'
"""The body a symbol action wants, as its error messages show it."""


class SymbolRequest(BaseModel):
    """The body of a symbol action: which of the bot's pairs it is about."""

    symbol: str = Field(min_length=1, max_length=MAX_SYMBOL)


def as_json(value: Any) -> Any:
    """Return a value as JSON data, every Decimal an exact string, every pair state its name.

    Pair states are upper-case names ("PAUSED") on the API, as the bots answer symbol actions.
    """
    return jsonable_encoder(value, custom_encoder={Decimal: lambda d: format(d, "f"),
                                                   SymbolState: lambda s: s.name})


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """Return an error in the shape the supervisor uses."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def relay(answer: Awaitable[dict[str, Any]]) -> JSONResponse:
    """Pass the supervisor's answer to one command back, or its refusal."""
    try:
        return JSONResponse(as_json(await answer))
    except IpcError as exc:
        return error_response(ERROR_STATUS.get(exc.code, 409), exc.code, exc.message)


def symbol_action_of(text: str) -> SymbolAction | None:
    """Return the symbol action a path names, or None for any other word."""
    try:
        return SymbolAction(text)
    except ValueError:
        return None


def limit_of(text: str | None) -> int | None:
    """Return the number of requests `?limit=` asks for, the default without one, else None."""
    if text is None:
        return API_LOG_LIMIT
    digits = len(str(API_LOG_MAX_LIMIT))
    limit = int(text) if text.isascii() and text.isdecimal() and len(text) <= digits else 0
    return limit if 1 <= limit <= API_LOG_MAX_LIMIT else None


async def symbol_of(request: Request) -> str | None:
    """Return the symbol a request's JSON body names, or None if the body is not that."""
    try:
        return SymbolRequest.model_validate_json(await request.body()).symbol
    except ValidationError:
        return None


def api_router(panel: Panel) -> APIRouter:
    """Return the /api routes of a panel."""
    router = APIRouter(prefix="/api")

    @router.get("/health")
    async def health() -> JSONResponse:
        """Say whether the panel can read the box: open to anyone, so it tells nothing more."""
        try:
            panel.reader.health()
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/bots")
    async def list_bots() -> JSONResponse:
        """Return every bot's state, pairs with their trading states, positions, orders, fills."""
        try:
            box = panel.reader.snapshot()
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse(as_json({"asset": box.asset, "bots": {b.name: b for b in box.bots}}))

    @router.get("/bots/{name}/api-log")
    async def api_log(name: str, limit: str | None = None) -> JSONResponse:
        """Return a bot's newest exchange requests, newest first, and the last minute's summary."""
        count = limit_of(limit)
        if count is None:
            return error_response(422, "invalid_limit", f"limit must be a whole number from 1 to"
                                  f" {API_LOG_MAX_LIMIT}, like ?limit={API_LOG_LIMIT}")
        try:
            view = panel.reader.requests(name, count)
        except UnknownBot as exc:
            return error_response(404, "unknown_bot", str(exc))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse({"bot": name, **as_json(view)})

    @router.post("/bots/{name}/start")
    async def start_bot(name: str) -> JSONResponse:
        """Ask the supervisor to start a bot."""
        return await relay(panel.supervisor.start_bot(name))

    @router.post("/bots/{name}/stop")
    async def stop_bot(name: str) -> JSONResponse:
        """Ask the supervisor to stop a bot."""
        return await relay(panel.supervisor.stop_bot(name))

    @router.post("/bots/{name}/symbols/{action}")
    async def symbol_action(name: str, action: str, request: Request) -> JSONResponse:
        """Ask the supervisor to activate, pause or clear the halt of one of a bot's pairs."""
        chosen = symbol_action_of(action)
        if chosen is None:
            allowed = ", ".join(SymbolAction)
            return error_response(400, "unknown_action",
                                  f"there is no symbol action '{action}'; use one of {allowed}")
        symbol = await symbol_of(request)
        if symbol is None:
            return error_response(422, "invalid_body",
                                  f"send a JSON body naming the pair, like {SYMBOL_BODY_EXAMPLE}")
        return await relay(panel.supervisor.symbol_action(name, symbol, chosen))

    return router
