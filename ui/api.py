"""The panel's REST API under /api: JSON views of the snapshot, and bot control relayed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from appliance.ipc import IpcError
from appliance.store.database import StoreUnavailable
from ui.panel import Panel
from ui.supervisor import UNREACHABLE

ERROR_STATUS = {UNREACHABLE: 503, "unknown_bot": 404}
"""The HTTP status of a supervisor error code; any other refusal is a 409."""


def as_json(value: Any) -> Any:
    """Return a value as JSON data, with every Decimal as an exact string."""
    return jsonable_encoder(value, custom_encoder={Decimal: lambda d: format(d, "f")})


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """Return an error in the shape the supervisor uses."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def relay(call: Callable[[str], Awaitable[dict[str, Any]]], bot: str) -> JSONResponse:
    """Pass one bot command to the supervisor and its answer or refusal back."""
    try:
        return JSONResponse(as_json(await call(bot)))
    except IpcError as exc:
        return error_response(ERROR_STATUS.get(exc.code, 409), exc.code, exc.message)


def api_router(panel: Panel) -> APIRouter:
    """Return the /api routes of a panel."""
    router = APIRouter(prefix="/api")

    @router.get("/health")
    async def health() -> JSONResponse:
        """Report the asset and every bot's state; 503 if appliance.db cannot be read."""
        try:
            box = panel.reader.health()
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "asset": box.asset, "bots": box.states})

    @router.get("/bots")
    async def list_bots() -> JSONResponse:
        """Return every bot's state, pairs, positions, open orders and newest fills."""
        try:
            box = panel.reader.snapshot()
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse(as_json({"asset": box.asset, "bots": {b.name: b for b in box.bots}}))

    @router.post("/bots/{name}/start")
    async def start_bot(name: str) -> JSONResponse:
        """Ask the supervisor to start a bot."""
        return await relay(panel.supervisor.start_bot, name)

    @router.post("/bots/{name}/stop")
    async def stop_bot(name: str) -> JSONResponse:
        """Ask the supervisor to stop a bot."""
        return await relay(panel.supervisor.stop_bot, name)

    return router
