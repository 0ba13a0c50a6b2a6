"""Start the signer agent: log in to the token with the PIN on stdin and serve signer.sock."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import BinaryIO, NoReturn

from appliance.datadir import DataDir
from hsm.access import AccessPolicy, AccessSpecError
from hsm.agent import SignerAgent, serve_signer
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, is_softhsm, use_config
from hsm.token import Token, TokenError, WrongPin

EXIT_START_FAILED = 1
EXIT_WRONG_PIN = 2
EXIT_USAGE = 64
MAX_PIN_LINE = 1024

log = logging.getLogger("hsm")


class _Parser(argparse.ArgumentParser):
    """Exit with EXIT_USAGE on a bad command line, keeping status 2 for a wrong PIN."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the signer's command line."""
    parser = _Parser(
        prog="python -m hsm",
        description="Serve signatures from a PKCS#11 token. The user PIN is read from the "
        "first line of standard input.",
    )
    parser.add_argument("--data", required=True, type=Path, help="the box's data directory")
    parser.add_argument("--module", default=SOFTHSM_MODULE, help="PKCS#11 module path")
    parser.add_argument("--token", default=DEFAULT_TOKEN_LABEL, help="token label")
    parser.add_argument("--allow", action="append", default=[], metavar="UID=LABEL[,LABEL...]",
                        help="let a caller uid use these key labels (repeatable)")
    args = parser.parse_args(argv)
    try:
        args.policy = AccessPolicy.parse(args.allow)
    except AccessSpecError as exc:
        parser.error(str(exc))
    return args


def read_pin(stream: BinaryIO) -> str:
    """Return the first line of stream without its line ending."""
    return stream.readline(MAX_PIN_LINE).decode(errors="replace").rstrip("\r\n")


def open_token(args: argparse.Namespace, pin: str) -> Token:
    """Point SoftHSM2 at the data dir when it is the module, and log in to the token."""
    data = DataDir(args.data)
    if is_softhsm(args.module):
        if not data.hsm.is_dir():
            raise TokenError(f"{data.hsm} does not exist; provision the box first")
        try:
            use_config(data)
        except OSError as exc:
            raise TokenError(f"cannot write {data.softhsm_conf} ({exc.strerror}); the signer's "
                             f"uid must own {data.hsm}") from None
    return Token.open(args.module, args.token, pin)


def main(argv: list[str] | None = None) -> int:
    """Run the signer until SIGTERM; return the process exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pin = read_pin(sys.stdin.buffer)
    if not pin:
        log.error("no user PIN on standard input; write it as the first line")
        return EXIT_START_FAILED
    try:
        token = open_token(args, pin)
    except WrongPin as exc:
        log.error("%s", exc)
        return EXIT_WRONG_PIN
    except TokenError as exc:
        log.error("%s", exc)
        return EXIT_START_FAILED
    del pin
    socket_path = DataDir(args.data).signer_sock
    with token:
        try:
            asyncio.run(serve_signer(SignerAgent(token, args.policy), socket_path))
        except OSError as exc:
            log.error("cannot serve %s (%s); the signer's uid must be able to write %s",
                      socket_path, exc.strerror, socket_path.parent)
            return EXIT_START_FAILED
    return 0
