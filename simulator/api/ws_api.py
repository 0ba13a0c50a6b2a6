"""Binance's WebSocket API at `/ws-api/v3`: the requests ccxt.pro makes for the user data stream.

Requests are `{"id", "method", "params"}`; answers `{"id", "status", "result"}` or
`{"id", "status", "error": {"code", "msg"}}`. Events of a user data subscription arrive as
`{"subscriptionId": n, "event": {...}}`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from simulator import errors
from simulator.api.keys import ACCOUNTS, EXCHANGE, HUB
from simulator.api.streams import open_websocket
from simulator.auth import authenticate_fields
from simulator.streams.connection import StreamConnection
from simulator.streams.hub import UserSink, compact

routes = web.RouteTableDef()

WS_API_PING_S = 20.0
"""Binance's WebSocket API pings every twenty seconds."""

Json = dict[str, Any]


class ApiSession:
    """One WebSocket API connection: its app, its connection, and its subscription ids."""

    def __init__(self, app: web.Application, connection: StreamConnection) -> None:
        self.app = app
        self.connection = connection
        self._ids = itertools.count()

    def next_subscription_id(self) -> int:
        """Return the id of the connection's next user data subscription."""
        return next(self._ids)


@routes.get("/ws-api/v3")
async def websocket_api(request: web.Request) -> web.StreamResponse:
    """Run one WebSocket API connection until it closes."""
    hub = request.app[HUB]
    ws = await open_websocket(request, WS_API_PING_S)
    connection = hub.connect(ws, request, combined=False)
    session = ApiSession(request.app, connection)
    try:
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                reply = answer_request(session, message.data)
            else:
                reply = _failure(None, errors.BinanceError(-1135, "Invalid JSON Request"))
            connection.send(compact(reply), data=False)
    finally:
        hub.disconnect(connection)
        await connection.close()
    return ws


def answer_request(session: ApiSession, text: str) -> Json:
    """Return the answer to one WebSocket API request."""
    try:
        request = json.loads(text)
    except ValueError:
        return _failure(None, errors.BinanceError(-1135, "Invalid JSON Request"))
    if not isinstance(request, dict):
        return _failure(None, errors.BinanceError(-1135, "Invalid JSON Request; send an object."))
    request_id = request.get("id")
    method, params = request.get("method"), request.get("params", {})
    if not isinstance(method, str) or not method:
        return _failure(request_id, errors.mandatory_missing("method"))
    if not isinstance(params, dict):
        return _failure(request_id, errors.invalid_value("params"))
    handler = METHODS.get(method)
    if handler is None:
        return _failure(request_id, errors.unsupported(400))
    try:
        result = handler(session, params)
    except errors.BinanceError as exc:
        return _failure(request_id, exc)
    return {"id": request_id, "status": 200, "result": result}


def _ping(session: ApiSession, params: Json) -> Json:
    """Answer a connectivity test."""
    _no_params(params)
    return {}


def _time(session: ApiSession, params: Json) -> Json:
    """Return the server clock."""
    _no_params(params)
    return {"serverTime": session.app[EXCHANGE].clock()}


def _subscribe_signature(session: ApiSession, params: Json) -> Json:
    """Start a user data subscription for the account whose key signed the params."""
    now = session.app[EXCHANGE].clock()
    account = authenticate_fields(session.app[ACCOUNTS], params, now)
    subscription_id = session.next_subscription_id()
    session.app[HUB].add_sink(
        UserSink(
            session.connection,
            account.name,
            partial(_event_frame, subscription_id),
            subscription_id=subscription_id,
        )
    )
    return {"subscriptionId": subscription_id}


def _unsubscribe(session: ApiSession, params: Json) -> Json:
    """End one user data subscription of the connection, or all of them."""
    chosen = params.get("subscriptionId")
    if set(params) - {"subscriptionId"} or (chosen is not None and not isinstance(chosen, int)):
        raise errors.invalid_value("subscriptionId")
    removed = session.app[HUB].remove_sinks(
        lambda sink: (
            sink.connection is session.connection
            and (chosen is None or sink.subscription_id == chosen)
        )
    )
    if chosen is not None and not removed:
        raise errors.BinanceError(-2036, "User Data Stream subscription not active.")
    return {}


def _subscriptions(session: ApiSession, params: Json) -> list[Json]:
    """Return the user data subscriptions of the connection."""
    _no_params(params)
    return [
        {"subscriptionId": sink.subscription_id}
        for sink in session.app[HUB].sinks_of(session.connection)
    ]


def _no_params(params: Json) -> None:
    """Refuse params on a method that takes none."""
    if params:
        raise errors.unread_parameters(0, len(params))


def _event_frame(subscription_id: int, event: str) -> str:
    """Return a user data event as a WebSocket API subscription receives it."""
    return f'{{"subscriptionId":{subscription_id},"event":{event}}}'


def _failure(request_id: object, error: errors.BinanceError) -> Json:
    """Return a WebSocket API error answer."""
    return {"id": request_id, "status": error.status, "error": error.body()}


METHODS: dict[str, Callable[[ApiSession, Json], Any]] = {
    "ping": _ping,
    "time": _time,
    "userDataStream.subscribe.signature": _subscribe_signature,
    "userDataStream.unsubscribe": _unsubscribe,
    "session.subscriptions": _subscriptions,
}
