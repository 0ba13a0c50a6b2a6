"""Run the box: `python -m appliance.supervisor --data DIR [--vendor-key PATH]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from appliance.datadir import DataDir
from appliance.supervisor.const import VENDOR_KEY
from appliance.supervisor.manager import Supervisor, SupervisorError


def main() -> int:
    """Parse the command line and supervise the box until SIGTERM."""
    parser = argparse.ArgumentParser(prog="appliance.supervisor", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--vendor-key", type=Path, default=VENDOR_KEY,
                        help=f"the vendor's public key licenses must verify against ({VENDOR_KEY})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s supervisor %(levelname)s %(message)s")
    try:
        asyncio.run(Supervisor(DataDir(args.data.resolve()), args.vendor_key).run())
    except SupervisorError as exc:
        print(f"mmbox: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
