"""Plug the development box's software operator keys in and out, through the running signer.

`python -m hsm.devkey --data DIR {plug,pull,list} [--device soft:dev-key-1]`

Pulling a key ends the panel sessions it opened, as pulling a USB key does on a production
box. Exit status: 0 done, 1 refused (the message says why), 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from appliance.datadir import DataDir
from appliance.ipc import UNREACHABLE
from hsm.client import SignerClient, SignerError
from hsm.softkeys import DEV_KEY_PREFIX, soft_device

EXIT_REFUSED = 1
DEFAULT_DEVICE = soft_device(DEV_KEY_PREFIX + "1")


class DevKeyError(Exception):
    """The software keys cannot be switched; the message says what to do."""


def switch(data: DataDir, action: str, device: str) -> list[dict[str, Any]]:
    """Plug in, pull out or list the software keys; return each key's device and state."""
    if not data.signer_sock.exists():
        raise DevKeyError(f"the signer is not running (no {data.signer_sock}); start the box "
                          "first")
    args: dict[str, Any] = {} if action == "list" else {"device": device,
                                                          "plugged": action == "plug"}
    client = SignerClient(data.signer_sock)
    try:
        result = client.call("dev_key", **args)
    except SignerError as exc:
        raise _explained(exc, data) from None
    finally:
        client.close()
    keys: list[dict[str, Any]] = result["keys"] if action == "list" else [result]
    return keys


def _explained(exc: SignerError, data: DataDir) -> DevKeyError:
    """Return what a refusal of the signer means to the developer."""
    if exc.code == "unknown_op":
        return DevKeyError(f"{data.root} is not a development box: its signer has no software "
                           "keys (its license is for production, which uses USB keys)")
    if exc.code == UNREACHABLE:
        return DevKeyError(f"the signer is not running ({exc.message}); start the box first")
    return DevKeyError(exc.message)


def main(argv: list[str] | None = None) -> int:
    """Run one action; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m hsm.devkey", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("action", choices=("plug", "pull", "list"))
    parser.add_argument("--device", default=DEFAULT_DEVICE,
                        help=f"the software key, as list shows it (default {DEFAULT_DEVICE})")
    args = parser.parse_args(argv)
    try:
        keys = switch(DataDir(args.data), args.action, args.device)
    except DevKeyError as exc:
        print(f"devkey: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for key in keys:
        print(f"{key['device']} {'plugged in' if key['plugged'] else 'pulled out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
