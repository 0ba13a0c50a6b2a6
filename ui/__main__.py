"""Run the operator panel over HTTPS: `python -m ui --data DIR [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from appliance.datadir import DataDir
from ui.listen import BadPanelSetting, listen_address, port_number

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--host", help="address to listen on (default: setting panel_host)")
    parser.add_argument(
        "--port", type=port_number, help="port to listen on (default: setting panel_port)"
    )
    parser.add_argument(
        "--development", action="store_true",
        help="a development box: offer the switch that plugs and pulls its software keys")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the panel of the data directory given on the command line."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    datadir = DataDir(args.data)
    try:
        host, port = listen_address(datadir.appliance_db, args.host, args.port)
    except BadPanelSetting as exc:
        sys.exit(str(exc))
    # NiceGUI fixes its storage folder when first imported; the root may be read-only.
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(datadir.run / "panel"))
    from ui.app import NoPanelCertificate, run_panel

    try:
        run_panel(datadir, host, port, development=args.development)
    except NoPanelCertificate as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
