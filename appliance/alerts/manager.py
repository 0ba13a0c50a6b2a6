"""The alerts process's one object: watch the stores, send alerts, answer enrolled chats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from appliance.alerts.alert import Alert
from appliance.alerts.commands import ChatCommands, CommandError, parse_command
from appliance.alerts.const import (
    TELEGRAM_API,
    TELEGRAM_TOKEN_LABEL,
    WEBHOOK_SECRET_LABEL,
    Timing,
)
from appliance.alerts.credentials import Credentials
from appliance.alerts.telegram import TelegramChannel
from appliance.alerts.watch import BoxView, Watch
from appliance.alerts.webhook import WebhookChannel
from appliance.datadir import DataDir

log = logging.getLogger(__name__)

STRANGERS_LOGGED = 100
"""Chats not enrolled that the log names (once each); a flood of others goes unlogged."""


class Alerter:
    """Poll the sources, queue each alert on every channel set up, serve Telegram's commands."""

    def __init__(self, data: DataDir, timing: Timing | None = None,
                 telegram_api: str = TELEGRAM_API,
                 clock: Callable[[], float] = time.time) -> None:
        self.timing = timing or Timing()
        self._clock = clock
        self.watch = Watch(data, self.timing, clock())
        self.credentials = Credentials(data.signer_sock,
                                       (TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL),
                                       self.timing.credential_retry_s)
        self.telegram = TelegramChannel(self.credentials, telegram_api, self.timing)
        self.webhook = WebhookChannel(self.credentials, self.timing)
        self._commands = ChatCommands(data.control_sock, self.timing.supervisor_timeout_s)
        self._strangers: set[int] = set()
        self._polling = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then save where every source stopped.

        A job that fails ends the run with its error, so the supervisor restarts the process
        rather than leave it running without that job.
        """
        await self.credentials.read()
        jobs: list[Coroutine[Any, Any, None]] = [
            self._watch(), self.credentials.run(), self.telegram.outbox.run(),
            self.webhook.outbox.run(), self.telegram.listen(self._on_message, self._enrolled)]
        tasks = {asyncio.create_task(job) for job in jobs}
        stopping = asyncio.create_task(stop.wait())
        try:
            pending = {*tasks, stopping}
            while not stopping.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done - {stopping}:
                    if (error := task.exception()) is not None:
                        raise error
        finally:
            for task in (*tasks, stopping):
                task.cancel()
            await asyncio.gather(*tasks, stopping, return_exceptions=True)
            for outbox in (self.telegram.outbox, self.webhook.outbox):
                log.info("%s: %d messages delivered, %d dropped, %d left undelivered at the "
                         "stop", outbox.name, outbox.delivered, outbox.dropped, outbox.waiting)
            await self.telegram.close()
            await self.webhook.close()
            self.watch.save()
            self.watch.close()

    def _enrolled(self) -> bool:
        """Return whether any Telegram chat is enrolled."""
        return bool(self.watch.view.settings.telegram_chats)

    async def _watch(self) -> None:
        """Poll the sources, and save where they stopped now and then."""
        saved_at = time.monotonic()
        while True:
            await self._poll()
            if time.monotonic() - saved_at >= self.timing.bookmark_every_s:
                async with self._polling:
                    await asyncio.to_thread(self.watch.save)
                saved_at = time.monotonic()
            await asyncio.sleep(self.timing.poll_s)

    async def _poll(self) -> BoxView:
        """Read the sources (in a worker thread: SQLite blocks), queue what they find, and
        return the box as read; one poll at a time."""
        async with self._polling:
            for alert in await asyncio.to_thread(self.watch.poll, self._clock()):
                self._publish(alert)
        return self.watch.view

    def _publish(self, alert: Alert) -> None:
        """Queue one alert on Telegram, for each enrolled chat, and on the webhook if set."""
        settings = self.watch.view.settings
        log.info("alert %s %s: %s", alert.kind, alert.id, alert.line())
        for chat_id in sorted(settings.telegram_chats):
            self.telegram.send(chat_id, alert.line())
        if settings.webhook_url is not None:
            self.webhook.send(alert, str(settings.webhook_url))

    async def _on_message(self, chat_id: int, text: str, sent_at: float) -> None:
        """Answer a message from an enrolled chat; ignore, without a word, any other chat."""
        if chat_id not in self.watch.view.settings.telegram_chats:
            if chat_id not in self._strangers and len(self._strangers) < STRANGERS_LOGGED:
                self._strangers.add(chat_id)
                log.warning("telegram: ignoring messages from chat %d, which is not enrolled",
                            chat_id)
            return
        try:
            command = parse_command(text, self.telegram.username)
        except CommandError as exc:
            self.telegram.send(chat_id, str(exc))
            return
        if command is None:
            return
        age = self._clock() - sent_at
        if age > self.timing.command_max_age_s:
            self.telegram.send(chat_id, f"Not done: your {text.split()[0]} was sent {age:.0f} s "
                               "ago, while the box could not read it; send it again")
            return
        log.info("telegram: chat %d asks %s", chat_id, text[:80])
        view = await self._poll()  # the answer shows what the last change did
        self.telegram.send(chat_id, await self._commands.answer(chat_id, command, view))
