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
from appliance.datadir import DataDir


async def serve(alerter: Alerter) -> None:
    """Run the alerter until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await alerter.run(stop)


def main() -> int:
    """Parse the command line and watch the box until told to stop."""
    parser = argparse.ArgumentParser(prog="appliance.alerts", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--telegram-api", default=TELEGRAM_API,
                        help=f"the Telegram Bot API's base URL ({TELEGRAM_API})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(Alerter(DataDir(args.data.resolve()), telegram_api=args.telegram_api)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
