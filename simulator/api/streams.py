"""Binance's websocket stream server: raw streams at `/ws/...`, combined at `/stream?streams=`.

A connection names streams in its path or subscribes with control messages; a listen key
named the same way opens that account's user data stream. Junk frames get Binance's stream
error shape and never end the server.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from simulator import errors
from simulator.api.keys import HUB
from simulator.streams.connection import StreamConnection
from simulator.streams.hub import (
    StreamHub,
    StreamRequestError,
    UserSink,
    compact,
)

routes = web.RouteTableDef()

MAX_FRAME_BYTES = 64 * 1024
"""The largest frame a client may send; a larger one closes the connection (1009)."""
STREAM_PING_S = 180.0
"""Binance's stream server pings every three minutes."""
CONTROL_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
REQUEST_FIELDS = frozenset({"method", "params", "id"})
MAX_REQUEST_ID = 2**63 - 1
MAX_REQUEST_ID_TEXT = 36


@routes.get("/ws")
async def raw_streams_bare(request: web.Request) -> web.StreamResponse:
    """Serve a raw stream connection that subscribes later."""
    return await serve_websocket(request, [], combined=False)


@routes.get("/ws/{names:.+}")
async def raw_streams(request: web.Request) -> web.StreamResponse:
    """Serve a raw stream connection to the streams or listen keys of its path."""
    return await serve_websocket(request, request.match_info["names"].split("/"), combined=False)


@routes.get("/stream")
async def combined_streams(request: web.Request) -> web.StreamResponse:
    """Serve a combined stream connection to the streams of `?streams=a/b/c`."""
    names = [name for name in request.query.get("streams", "").split("/") if name]
    return await serve_websocket(request, names, combined=True)


async def open_websocket(request: web.Request, ping_s: float) -> web.WebSocketResponse:
    """Accept a websocket upgrade, or refuse a plain HTTP request."""
    ws = web.WebSocketResponse(heartbeat=ping_s, max_msg_size=MAX_FRAME_BYTES)
    if not ws.can_prepare(request).ok:
        raise errors.BinanceError(
            -1020, "This endpoint speaks websocket only; connect with a websocket client.", 400
        )
    await ws.prepare(request)
    return ws


async def serve_websocket(
    request: web.Request, names: list[str], combined: bool
) -> web.StreamResponse:
    """Run one stream connection until it closes."""
    hub = request.app[HUB]
    ws = await open_websocket(request, STREAM_PING_S)
    connection = hub.connect(ws, request, combined)
    try:
        try:
            _attach(hub, connection, names, ignore_unknown=True)
        except StreamRequestError as exc:
            connection.send(compact(_error(exc.code, exc.msg, None)), data=False)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                reply = answer_control(hub, connection, message.data)
            else:
                reply = _error(2, "Invalid request: send JSON requests in text frames", None)
            connection.send(compact(reply), data=False)
    finally:
        hub.disconnect(connection)
        await connection.close()
    return ws


def answer_control(hub: StreamHub, connection: StreamConnection, text: str) -> dict[str, Any]:
    """Return the answer to one control message."""
    try:
        request = json.loads(text)
    except ValueError as exc:
        return _error(3, f"Invalid JSON: {exc}", None)
    if not isinstance(request, dict):
        return _error(2, "Invalid request: send a JSON object", None)
    request_id = request.get("id")
    if not _valid_id(request_id):
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    if request.keys() - REQUEST_FIELDS:
        return _error(2, "Invalid request: too many parameters", request_id)
    method, params = request.get("method"), request.get("params", [])
    if method is None:
        return _error(2, "Invalid request: missing field `method`", request_id)
    if method not in CONTROL_METHODS:
        expected = ", ".join(f"`{name}`" for name in CONTROL_METHODS)
        return _error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of {expected}",
            request_id,
        )
    if not isinstance(params, list):
        return _error(2, "Invalid request: params must be a list", request_id)
    try:
        result = _control(hub, connection, method, params)
    except StreamRequestError as exc:
        return _error(exc.code, exc.msg, request_id)
    return {"result": result, "id": request_id}


def _control(hub: StreamHub, connection: StreamConnection, method: str, params: list[Any]) -> Any:
    """Carry out a control method; return its result."""
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not all(isinstance(name, str) for name in params):
            raise StreamRequestError(2, "Invalid request: stream names must be strings")
        if method == "SUBSCRIBE":
            _attach(hub, connection, params, ignore_unknown=False)
        else:
            hub.unsubscribe(connection, params)
            hub.remove_sinks(
                lambda sink: sink.connection is connection and sink.listen_key in params
            )
        return None
    if method == "LIST_SUBSCRIPTIONS":
        keys = [sink.listen_key for sink in hub.sinks_of(connection) if sink.listen_key]
        return sorted(connection.streams) + keys
    if not params or params[0] != "combined":
        raise StreamRequestError(0, "Unknown property")
    if method == "GET_PROPERTY":
        return connection.combined
    if len(params) != 2 or not isinstance(params[1], bool):
        raise StreamRequestError(1, "Invalid value type: expected Boolean")
    connection.combined = params[1]
    return None


def _attach(
    hub: StreamHub, connection: StreamConnection, names: list[str], ignore_unknown: bool
) -> None:
    """Subscribe a connection to streams, and to the user data of any listen key named.

    A name in a connection's path that is neither is ignored, as Binance ignores it.
    """
    streams = []
    for name in names:
        account = hub.listen_keys.account_of(name)
        if account is not None:
            frame = partial(connection.frame, name)
            hub.add_sink(UserSink(connection, account, frame, listen_key=name))
        elif hub.valid_stream(name) or not ignore_unknown:
            streams.append(name)
    hub.subscribe(connection, streams)


def _valid_id(request_id: object) -> bool:
    """Return whether a request id has a form Binance accepts: integer, short text, or null."""
    if request_id is None:
        return True
    if isinstance(request_id, bool):
        return False
    if isinstance(request_id, int):
        return 0 <= request_id <= MAX_REQUEST_ID
    return isinstance(request_id, str) and 0 < len(request_id) <= MAX_REQUEST_ID_TEXT


def _error(code: int, msg: str, request_id: object) -> dict[str, Any]:
    """Return a stream server error answer."""
    return {"error": {"code": code, "msg": msg}, "id": request_id}
