"""Run the alerts: `python -m appliance.alerts --data DIR [--telegram-api URL]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from appliance.alerts.const import TELEGRAM_API
from appliance.alerts.manager import Alerter
from appliance.alerts.validate import load_settings
from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from


async def serve(alerter: Alerter) -> None:
    """Run the alerter until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await alerter.run(stop)


def chosen_api(data: DataDir) -> str:
    """Return the Bot API server the owner chose, or Telegram's own."""
    try:
        stored = read_from(data.appliance_db, appliance_db.settings)
    except StoreUnavailable:
        return TELEGRAM_API  # the watch says what it cannot read
    chosen = load_settings(stored)[0].telegram_api
    return TELEGRAM_API if chosen is None else str(chosen).rstrip("/") + "/bot"


def main() -> int:
    """Parse the command line and watch the box until told to stop."""
    parser = argparse.ArgumentParser(prog="appliance.alerts", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--telegram-api", default=None,
                        help="the Telegram Bot API's base URL (the owner's setting, or "
                             f"{TELEGRAM_API})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data = DataDir(args.data.resolve())
    api = args.telegram_api or chosen_api(data)
    asyncio.run(serve(Alerter(data, telegram_api=api)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
