"""Fixtures of the alerts' tests: a box on disk, its signer, and a Telegram Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from appliance.datadir import DataDir
from hsm.client import SignerClient
from tests.alerts.telegram_server import TelegramServer
from tests.appliance.alerts.alert_box import BOT_TOKEN, signer, write_box


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    """Return a box with two running bots, each with an active pair; the owner's chat enrolled."""
    data = DataDir(tmp_path / "data")
    write_box(data)
    return data


@pytest.fixture
def box_signer(data: DataDir, tmp_path: Path) -> Iterator[SignerClient]:
    """Run the box's signer, holding the bot token and the webhook key for the alerts."""
    with signer(data, tmp_path / "signer.log") as client:
        yield client


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramServer]:
    """Serve the Telegram Bot API for the box's bot on loopback."""
    server = TelegramServer(BOT_TOKEN)
    await server.start()
    yield server
    await server.stop()
