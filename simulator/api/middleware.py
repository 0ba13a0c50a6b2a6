"""What every REST request goes through: rate limits, injected faults, and Binance's error shape.

Only Binance's paths (`/api/...`, `/sapi/...`) count weight and meet faults; the simulator's
own admin endpoints (`/sim/...`) are never limited nor faulty. As on Binance, `/api/` weight
is counted per IP across its endpoints, `/sapi/` weight per IP and endpoint, apart.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler

from simulator import errors
from simulator.api.keys import FAULTS, SAPI_WEIGHTS, WEIGHTS
from simulator.api.request import refuse
from simulator.const import MAX_BODY_BYTES
from simulator.weights import request_weight

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
SAPI_PREFIX = "/sapi/"
BINANCE_PREFIXES = (API_PREFIX, SAPI_PREFIX)
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-{interval}"
"""The used-weight header, named after the window it counts: `X-MBX-USED-WEIGHT-1M`."""
SAPI_USED_WEIGHT_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
"""The used-weight header of a `/sapi/` endpoint limited by IP."""
FORM = "application/x-www-form-urlencoded"


@web.middleware
async def rate_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count a request's weight against its IP; past the limit answer 429, or 418 when banned."""
    if request.path.startswith(API_PREFIX):
        limiter = request.app[WEIGHTS]
        counter = request.remote or ""
        header = USED_WEIGHT_HEADER.format(interval=limiter.limits.request_weight_interval)
    elif request.path.startswith(SAPI_PREFIX):
        limiter = request.app[SAPI_WEIGHTS]
        counter = _sapi_counter(request)
        header = SAPI_USED_WEIGHT_HEADER
    else:
        return await handler(request)
    weight = request_weight(request.method, request.path, await _weighed_params(request))
    admission = limiter.admit(counter, weight)
    headers = {header: str(admission.used_weight)}
    if admission.refusal is not None:
        if admission.retry_after_s is not None:
            headers["Retry-After"] = str(admission.retry_after_s)
        log.info(
            "%s %s from %s refused with %d: %s",
            request.method,
            request.path,
            request.remote,
            admission.refusal.status,
            admission.refusal.msg,
        )
        return refuse(admission.refusal, headers)
    response = await handler(request)
    response.headers.update(headers)
    return response


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delay a request, and fail or hang it before or after it takes effect, as planned."""
    if not request.path.startswith(BINANCE_PREFIXES):
        return await handler(request)
    faults = request.app[FAULTS]
    delay = faults.latency_s()
    if delay:
        await asyncio.sleep(delay)
    fault = faults.rest_fault()
    if fault is None:
        return await handler(request)
    if fault.after:
        await handler(request)
    log.info(
        "%s %s meets a %s fault (after: %s)", request.method, request.path, fault.kind, fault.after
    )
    return refuse(await faults.fail(fault))


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


def _sapi_counter(request: web.Request) -> str:
    """Return what a `/sapi/` request counts against: its IP and the endpoint it reaches."""
    resource = request.match_info.route.resource
    endpoint = "" if resource is None else resource.canonical
    return f"{request.remote or ''} {endpoint}"


async def _weighed_params(request: web.Request) -> dict[str, str]:
    """Return the parameters a request's weight depends on: its query and form body."""
    params = dict(request.query)
    if request.content_type != FORM or not 0 < (request.content_length or 0) <= MAX_BODY_BYTES:
        return params
    try:
        body = (await request.read()).decode("utf-8")
    except (web.HTTPException, UnicodeDecodeError):
        return params
    params.update(parse_qsl(body, keep_blank_values=True))
    return params
