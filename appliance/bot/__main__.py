"""Run one bot: `python -m appliance.bot --data DIR --name bot-1 [--control-fd N]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from pathlib import Path

from appliance.bot.runtime import BotConfigError, BotRuntime
from appliance.datadir import DataDir


def main() -> int:
    """Parse the command line and run the bot until it is told to stop."""
    parser = argparse.ArgumentParser(prog="appliance.bot", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--name", required=True, help="the bot's name, e.g. bot-1")
    parser.add_argument("--control-fd", type=int, help="inherited socket to the supervisor")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    control = None
    if args.control_fd is not None:
        control = socket.socket(fileno=args.control_fd)
    try:
        asyncio.run(BotRuntime(DataDir(args.data), args.name).run(control))
    except BotConfigError as exc:
        print(f"{args.name}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
