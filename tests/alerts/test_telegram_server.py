"""The local Telegram Bot API server answers python-telegram-bot as Telegram does."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from tests.alerts.telegram_server import BOT_USERNAME, TelegramServer

TOKEN = "123456:" + "x" * 35


async def test_the_library_sends_and_reads_updates_through_it() -> None:
    server = TelegramServer(TOKEN)
    await server.start()
    try:
        async with Bot(TOKEN, base_url=server.api_url) as bot:
            assert bot.username == BOT_USERNAME
            await bot.send_message(chat_id=42, text="hello")
            first = await server.inject(42, "/status")
            second = await server.inject(-7, "/pause")
            updates = await bot.get_updates(timeout=1)
            assert [(u.update_id, u.message.chat.id, u.message.text) for u in updates
                    if u.message] == [(first, 42, "/status"), (second, -7, "/pause")]
            assert await bot.get_updates(offset=second + 1, timeout=0) == ()
        assert [(m.chat_id, m.text) for m in server.sent] == [(42, "hello")]
    finally:
        await server.stop()


async def test_a_long_poll_returns_as_soon_as_a_message_comes() -> None:
    server = TelegramServer(TOKEN)
    await server.start()
    try:
        async with Bot(TOKEN, base_url=server.api_url) as bot:
            waiting = asyncio.create_task(bot.get_updates(timeout=10))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            await server.inject(42, "hi")
            updates = await asyncio.wait_for(waiting, 2)
            assert [u.message.text for u in updates if u.message] == ["hi"]
    finally:
        await server.stop()


async def test_it_refuses_another_token_and_comes_back_on_the_same_port() -> None:
    server = TelegramServer(TOKEN)
    await server.start()
    port = server.port
    try:
        with pytest.raises(InvalidToken):
            async with Bot("999:" + "y" * 35, base_url=server.api_url):
                pass
        bot = Bot(TOKEN, base_url=server.api_url)
        await server.stop()
        with pytest.raises(NetworkError):
            await bot.send_message(chat_id=42, text="while down")
        await server.start()
        assert server.port == port
        await bot.send_message(chat_id=42, text="back")
        assert [m.text for m in server.sent] == ["back"]
        await bot.shutdown()
    finally:
        await server.stop()
