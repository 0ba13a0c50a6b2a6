"""Run the exchange simulator: `python -m simulator --state DIR`.

`--config FILE` (JSON with sections market, faults, limits) and `--set SECTION.NAME=VALUE`
shape the run, e.g. `--set faults.server_error_rate=0.1 --set market.volatility_bps=3`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from simulator.accounts import AccountFileError
from simulator.config import ConfigError, RunConfig, load_config
from simulator.const import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SEED
from simulator.listing import (
    DEFAULT_MARKETS,
    Listing,
    MarketSpecError,
    parse_market,
)
from simulator.server import NotLoopbackError, Simulator, check_loopback

log = logging.getLogger("simulator")


class ListenError(Exception):
    """The simulator cannot listen on the address asked for; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line, checked: loopback host and well-formed markets."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Binance-compatible spot exchange simulator with its own outside market.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one")
    parser.add_argument("--state", type=Path, required=True, help="directory of accounts.json")
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the outside market and of the faults",
    )
    parser.add_argument(
        "--market",
        action="append",
        metavar="SYMBOL=PRICE",
        help=f"list a market starting at PRICE (repeatable; default {' '.join(DEFAULT_MARKETS)})",
    )
    parser.add_argument(
        "--config", type=Path, help="JSON file of the run's market, faults and limits sections"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        help="override one setting of --config, e.g. faults.latency_ms=50 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        check_loopback(args.host)
        args.listings = [parse_market(spec) for spec in args.market or DEFAULT_MARKETS]
        args.run_config = load_config(args.config, args.set)
    except (NotLoopbackError, MarketSpecError, ConfigError) as exc:
        parser.error(str(exc))
    symbols = [listing.instrument.symbol for listing in args.listings]
    if len(set(symbols)) != len(symbols):
        parser.error("each --market symbol may be listed once")
    return args


async def serve(
    host: str, port: int, state: Path, listings: list[Listing], seed: int, config: RunConfig
) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly."""
    simulator = Simulator(state, listings, seed, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        bound = await simulator.start(host, port)
    except OSError as exc:
        raise ListenError(
            f"cannot listen on {host}:{port} ({exc}); choose another --port"
        ) from None
    address = check_loopback(host)
    shown = f"[{address}]" if ":" in address else address
    print(f"simulator listening on http://{shown}:{bound}", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await simulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator from the command line; return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        asyncio.run(
            serve(args.host, args.port, args.state, args.listings, args.seed, args.run_config)
        )
    except (AccountFileError, ListenError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
