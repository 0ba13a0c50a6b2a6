"""A Telegram Bot API server on loopback, for the tests, as the simulator is for Binance.

It speaks the part of the Bot API python-telegram-bot calls for the box's alerts: getMe,
sendMessage and getUpdates (offsets and long polls), at `/bot<token>/<method>`, with the
parameters as a form (as the library sends them), as JSON or in the query. A test injects a
message from a chat and reads what the bot sent. It can stop and start again on the same port,
keeping what it holds, to stand for Telegram going away and coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"
BOT_ID = 7000001
BOT_USERNAME = "mmbox_test_bot"
LONG_POLL_MAX = 50.0


@dataclass(frozen=True)
class Sent:
    """A message the bot sent to a chat."""

    chat_id: int
    text: str


@dataclass
class BotApiState:
    """What the server holds: the updates not yet confirmed, and the messages sent."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """Every method asked, in order."""
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class TelegramServer:
    """The Bot API of one bot (`token`) on 127.0.0.1, at `api_url` (the library's base_url)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.state = BotApiState()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        """Return the base URL the bot token is appended to."""
        return f"http://{HOST}:{self.port}/bot"

    @property
    def sent(self) -> list[Sent]:
        """Return the messages the bot sent, oldest first."""
        return list(self.state.sent)

    async def start(self) -> None:
        """Serve on the port of the last start, or on a free one the first time."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving: connections are refused until the next start."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def inject(self, chat_id: int, text: str, sent_at: float | None = None) -> int:
        """Queue a text message from a chat to the bot; return its update id."""
        update_id = next(self.state.update_ids)
        chat_type = "private" if chat_id > 0 else "group"
        self.state.updates.append({"update_id": update_id, "message": {
            "message_id": next(self.state.message_ids),
            "date": int(time.time() if sent_at is None else sent_at),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": abs(chat_id), "is_bot": False, "first_name": "Owner"},
            "text": text}})
        await self._changed()
        return update_id

    async def wait_sent(self, match: Callable[[Sent], bool], timeout: float) -> Sent:
        """Return the first message sent that matches, waiting up to `timeout` seconds."""
        async def found() -> Sent:
            async with self.state.changed:
                while True:
                    for message in self.state.sent:
                        if match(message):
                            return message
                    await self.state.changed.wait()
        return await asyncio.wait_for(found(), timeout)

    async def wait_confirmed(self, update_id: int, timeout: float) -> None:
        """Wait until the bot confirmed an update (asked for updates after it)."""
        async def confirmed() -> None:
            async with self.state.changed:
                while any(u["update_id"] <= update_id for u in self.state.updates):
                    await self.state.changed.wait()
        await asyncio.wait_for(confirmed(), timeout)

    async def _changed(self) -> None:
        async with self.state.changed:
            self.state.changed.notify_all()

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        self.state.calls.append(method)
        params = await _params(request)
        if method == "getMe":
            return _ok({"id": BOT_ID, "is_bot": True, "first_name": "MMBox",
                        "username": BOT_USERNAME})
        if method == "sendMessage":
            return await self._send_message(params)
        if method == "getUpdates":
            return await self._get_updates(params)
        return _error(404, "Not Found: method not found")

    async def _send_message(self, params: dict[str, Any]) -> web.Response:
        try:
            chat_id, text = int(params["chat_id"]), str(params["text"])
        except (KeyError, ValueError):
            return _error(400, "Bad Request: chat_id and text are required")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        self.state.sent.append(Sent(chat_id, text))
        await self._changed()
        return _ok({"message_id": next(self.state.message_ids), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "MMBox"},
                    "text": text})

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), LONG_POLL_MAX)
        state = self.state
        if offset:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
            await self._changed()
        async with state.changed:
            if not state.updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.changed.wait_for(lambda: bool(state.updates)),
                                           timeout)
            return _ok(list(state.updates))


async def _params(request: web.Request) -> dict[str, Any]:
    """Return a request's parameters from its query, its form or its JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        params.update({key: value for key, value in (await request.post()).items()
                       if isinstance(value, str)})
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps({"ok": False, "error_code": status,
                                         "description": description}))
