"""Turn every refusal and every surprise into Binance's error shape, never a 500 or a hang."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from appliance.exchanges.simulator import errors
from appliance.exchanges.simulator.api.request import refuse
from appliance.exchanges.simulator.const import MAX_BODY_BYTES

log = logging.getLogger(__name__)


@web.middleware
async def binance_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a refused or failed request with `{"code", "msg"}` and a 4xx status."""
    try:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise errors.body_too_large(MAX_BODY_BYTES)
        return await handler(request)
    except errors.BinanceError as exc:
        log.debug("%s %s refused: %s %s", request.method, request.path, exc.code, exc.msg)
        return refuse(exc)
    except web.HTTPRequestEntityTooLarge:
        return refuse(errors.body_too_large(MAX_BODY_BYTES))
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        return refuse(errors.unsupported(exc.status))
    except web.HTTPClientError as exc:
        return refuse(errors.BinanceError(-1000, exc.reason, exc.status))
    except Exception:
        log.exception("%s %s failed inside the simulator", request.method, request.path)
        return refuse(errors.unknown_error())
