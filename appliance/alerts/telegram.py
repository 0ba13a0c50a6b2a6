"""Telegram through python-telegram-bot: alerts to the enrolled chats, and their commands.

The bot token is a secret: the Bot API takes it in every request's path, so the HTTP
libraries' request logs are kept quiet, and every error text is redacted before it is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from appliance.alerts.const import TELEGRAM_TEXT_MAX, TELEGRAM_TOKEN_LABEL, Timing
from appliance.alerts.credentials import Credentials
from appliance.alerts.delivery import ChannelDown, Outbox, Undeliverable, redact
from appliance.pacing.backoff import Backoff
from appliance.pacing.token_bucket import TokenBucket

log = logging.getLogger(__name__)

URL_LOGGERS = ("httpx", "httpcore", "telegram")
"""Libraries that log request URLs, which hold the bot token, below WARNING."""

Result = TypeVar("Result")

OnMessage = Callable[[int, str, float], Awaitable[None]]
"""Take one incoming text: (chat id, text, seconds since the epoch it was sent)."""


@dataclass(frozen=True)
class Outgoing:
    """One message to one chat."""

    chat_id: int
    text: str


class TelegramChannel:
    """One Telegram bot: a queue of messages to chats, and a long poll for their commands."""

    def __init__(self, credentials: Credentials, api: str, timing: Timing) -> None:
        for name in URL_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._credentials = credentials
        self._api = api
        self._timing = timing
        self._bot: Bot | None = None
        self._starting = asyncio.Lock()
        self.outbox: Outbox[Outgoing] = Outbox(
            "telegram", self._deliver, Backoff(timing.retry_first_s, timing.retry_cap_s),
            TokenBucket(timing.telegram_burst, timing.telegram_per_s, time.monotonic()))

    @property
    def username(self) -> str:
        """Return the bot's username once it is known, else ''."""
        return (self._bot.username or "") if self._bot is not None else ""

    def send(self, chat_id: int, text: str) -> None:
        """Queue one message to one chat."""
        self.outbox.put(Outgoing(chat_id, text[:TELEGRAM_TEXT_MAX]))

    async def listen(self, on_message: OnMessage, enrolled: Callable[[], bool]) -> None:
        """Long-poll Telegram for messages to the bot and hand each text to `on_message`.

        Only while some chat is `enrolled`: with none, nobody could be answered.
        """
        backoff = Backoff(self._timing.retry_first_s, self._timing.retry_cap_s)
        offset: int | None = None
        reason = ""
        while True:
            if not enrolled():
                await asyncio.sleep(self._timing.poll_s)
                continue
            try:
                bot = await self._ready()
                updates = await self._call(bot.get_updates(
                    offset=offset, timeout=int(self._timing.long_poll_s),
                    allowed_updates=["message"]))
            except (ChannelDown, Undeliverable) as exc:
                delay = max(backoff.next_delay(),
                            exc.retry_after if isinstance(exc, ChannelDown) else 0.0)
                if str(exc) != reason:
                    reason = str(exc)
                    log.warning("telegram: cannot read commands (%s); retrying", reason)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            reason = ""
            for update in updates:
                offset = update.update_id + 1
                message = update.message
                if message is None or not message.text:
                    continue
                try:
                    await on_message(message.chat.id, message.text, message.date.timestamp())
                except Exception:  # one message that cannot be answered must not stop the rest
                    log.exception("telegram: a message from chat %d was not answered",
                                  message.chat.id)

    async def _deliver(self, message: Outgoing) -> None:
        bot = await self._ready()
        await self._call(bot.send_message(chat_id=message.chat_id, text=message.text))

    async def _ready(self) -> Bot:
        """Return the bot, introduced to Telegram (getMe) once its token can be read."""
        token = self._credentials.get(TELEGRAM_TOKEN_LABEL)
        if token is None:
            raise ChannelDown(f"waiting for the bot token {TELEGRAM_TOKEN_LABEL} in the token")
        async with self._starting:
            if self._bot is None:
                bot = Bot(token, base_url=self._api)
                try:
                    await self._call(bot.initialize())
                except BaseException:
                    await bot.shutdown()
                    raise
                self._bot = bot
                log.info("telegram: serving as @%s", bot.username)
        return self._bot

    async def _call(self, request: Awaitable[Result]) -> Result:
        """Await one Bot API request; turn its failure into ChannelDown or Undeliverable."""
        try:
            return await request
        except TelegramError as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: TelegramError) -> ChannelDown | Undeliverable:
        """Return what a Bot API error means for delivery, its text free of the token."""
        text = redact(exc.message, self._credentials.get(TELEGRAM_TOKEN_LABEL))
        if isinstance(exc, RetryAfter):
            return ChannelDown("Telegram asks to slow down", _seconds(exc))
        if isinstance(exc, BadRequest | Forbidden | ChatMigrated):
            return Undeliverable(f"Telegram refused it: {text}; check the enrolled chat ids")
        if isinstance(exc, InvalidToken):
            return ChannelDown(f"Telegram refused the bot token ({text}); import the token "
                               "BotFather gave, then restart the alerts")
        return ChannelDown(f"Telegram cannot be reached ({text})")

    async def close(self) -> None:
        """Close the bot's HTTP connections."""
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None


def _seconds(exc: RetryAfter) -> float:
    """Return how long Telegram asks to wait, whichever type this release gives it in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
