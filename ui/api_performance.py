"""The REST route of a bot's performance: the series the Performance page charts."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from appliance.datadir import DataDir
from appliance.store.database import StoreUnavailable
from ui.api import BOT_NAME, GUARDED, error_response, errors
from ui.performance import BotPerformance, Span, shared_reader
from ui.snapshot import UnknownBot

RANGE = {"name": "range", "in": "query", "required": False, "description": "how far back "
         "from now: an hour, a day, a week, or the whole log",
         "schema": {"type": "string", "enum": list(Span), "default": Span.DAY.value}}


def performance_router(datadir: DataDir) -> APIRouter:
    """Return the /api/bots/{name}/performance route of a data directory's bots."""
    router = APIRouter(prefix="/api")
    reader = shared_reader(datadir.root)

    @router.get("/bots/{name}/performance", response_model=BotPerformance,
                responses=errors(*GUARDED, 404, 422, 503),
                openapi_extra={"parameters": [BOT_NAME, RANGE]})
    async def performance(request: Request) -> JSONResponse:
        """Return a bot's series per pair over a range, downsampled, with its ledger's totals."""
        asked = request.query_params.get("range", Span.DAY.value)
        if asked not in set(Span):
            return error_response(422, "invalid_range", "range must be one of "
                                  f"{', '.join(Span)}, like ?range=24h")
        try:
            answer = await asyncio.to_thread(reader.performance, request.path_params["name"],
                                             Span(asked))
        except UnknownBot as exc:
            return error_response(404, "unknown_bot", str(exc))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse(answer.model_dump(mode="json"))

    return router
