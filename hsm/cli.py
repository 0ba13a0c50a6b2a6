"""Start the signer agent: log in to the token with the PIN on stdin and serve signer.sock.

With `--locked` (a production box, which keeps no PIN on disk) the signer reads no PIN: it
serves at once with the token closed, and opens it when an owner unlocks the box from the
panel (op `unlock`). Until then every token op is refused as `locked`.

Exit status: 0 after SIGTERM, 1 when it cannot start, 2 for a wrong PIN, 3 while wrong PINs
lock logins out (no login is tried; the log says until when), 64 for a bad command line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import uvloop

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from appliance.pacing.token_bucket import RateSpecError
from hsm.access import AccessPolicy, AccessSpecError
from hsm.agent import SignerAgent
from hsm.audit import AuditLog
from hsm.const import (
    AUDIT_FILE,
    DEFAULT_TOKEN_LABEL,
    OPERATOR_PIN_GUARD_FILE,
    PIN_FAILURES_ALLOWED,
    PIN_GUARD_FILE,
    RATE_BURST,
    RATE_PER_SECOND,
)
from hsm.keyops import TokenOps
from hsm.login_ops import LoginOp, LoginOps
from hsm.ops import Access, Audit, Call, Op
from hsm.pinguard import LockedOut, PinGuard
from hsm.ratelimit import CallerRateLimit
from hsm.server import serve_signer
from hsm.softhsm import SOFTHSM_MODULE, is_softhsm, use_config
from hsm.softkeys import SoftKeyError, SoftKeyWatch, dev_key_op
from hsm.token import Token, TokenError, WrongPin
from hsm.usb import YUBIKEY_5, KeyWatch, UsbId, UsbIdError

EXIT_START_FAILED = 1
EXIT_WRONG_PIN = 2
EXIT_LOCKED_OUT = 3
EXIT_USAGE = 64
MAX_PIN_LINE = 1024

log = logging.getLogger("hsm")

QUIET_LOGIN_OPS = ("usb_keys", "login_session")
"""Login ops the panel polls: audited as counts, not a line per call."""


class _Parser(argparse.ArgumentParser):
    """Exit with EXIT_USAGE on a bad command line, keeping status 2 for a wrong PIN."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _uid(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a uid (a number, e.g. 0)")
    return int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the signer's command line."""
    parser = _Parser(
        prog="python -m hsm",
        description="Serve signatures from a PKCS#11 token. The user PIN is read from the "
        "first line of standard input, unless the signer starts --locked.",
    )
    parser.add_argument("--data", required=True, type=Path, help="the box's data directory")
    parser.add_argument("--module", default=SOFTHSM_MODULE, help="PKCS#11 module path")
    parser.add_argument("--token", default=DEFAULT_TOKEN_LABEL, help="token label")
    parser.add_argument("--allow", action="append", default=[], metavar="UID=LABEL[,LABEL...]",
                        help="let a caller uid use these key labels (repeatable)")
    parser.add_argument("--admin", action="append", type=_uid, metavar="UID",
                        help="a uid that may manage keys (repeatable; default: 0 and the "
                        "signer's own uid)")
    parser.add_argument("--rate", type=float, default=RATE_PER_SECOND,
                        help="requests per second each caller uid may make, sustained")
    parser.add_argument("--burst", type=int, default=RATE_BURST,
                        help="requests each caller uid may make at once")
    parser.add_argument("--usb-id", action="append", default=None, metavar="VENDOR:PRODUCT",
                        help=f"USB ids of operator keys to watch (default {YUBIKEY_5})")
    parser.add_argument("--operator-module", default=SOFTHSM_MODULE,
                        help="PKCS#11 module that opens the operators' keys")
    parser.add_argument("--panel", action="append", type=_uid, default=[], metavar="UID",
                        help="uid of the panel, the only caller of the login ops")
    parser.add_argument("--pin-failures", type=int, default=PIN_FAILURES_ALLOWED,
                        help="wrong PINs in a row before logins are delayed")
    parser.add_argument("--locked", action="store_true",
                        help="read no PIN: keep the token closed until the panel unlocks it")
    parser.add_argument("--dev-keys", action="store_true",
                        help="present the operator module's dev-key-* tokens as operator keys "
                        "instead of watching USB, and serve the op dev_key (development box)")
    args = parser.parse_args(argv)
    try:
        args.policy = AccessPolicy.parse(args.allow, args.admin)
        args.rate_limit = CallerRateLimit(args.rate, args.burst)
    except (AccessSpecError, RateSpecError) as exc:
        parser.error(str(exc))
    if args.pin_failures < 1:
        parser.error("--pin-failures must be at least 1")
    try:
        args.usb_ids = [UsbId.parse(usb_id) for usb_id in args.usb_id or [str(YUBIKEY_5)]]
    except UsbIdError as exc:
        parser.error(str(exc))
    return args


def read_pin(stream: BinaryIO) -> str:
    """Return the first line of stream without its line ending."""
    return stream.readline(MAX_PIN_LINE).decode(errors="replace").rstrip("\r\n")


def signer_dir(args: argparse.Namespace) -> DataDir:
    """Make ready the signer's folder (its audit log and PIN guard live there) and the module."""
    data = DataDir(args.data)
    if not is_softhsm(args.module):
        data.hsm.mkdir(mode=0o700, parents=True, exist_ok=True)
        return data
    if not data.hsm.is_dir():
        raise TokenError(f"{data.hsm} does not exist; provision the box first")
    try:
        use_config(data)
    except OSError as exc:
        raise TokenError(f"cannot write {data.softhsm_conf} ({exc.strerror}); the signer's "
                         f"uid must own {data.hsm}") from None
    return data


def log_in(
    args: argparse.Namespace, pin: str, guard: PinGuard, audit: AuditLog,
    event: str = "login", caller: Peer | None = None,
) -> Token:
    """Log in to the token unless wrong PINs lock logins out; record the outcome as `event`.

    `caller` is who typed the PIN (the panel, for an unlock); by default the signer itself.
    """
    who = {"uid": os.getuid(), "pid": os.getpid(), "token": args.token}
    if caller is not None:
        who |= {"uid": caller.uid, "pid": caller.pid}
    try:
        guard.check()
        token = Token.open(args.module, args.token, pin)
    except LockedOut:
        audit.record(event, {**who, "outcome": "locked_out"}, sync=True)
        raise
    except WrongPin:
        state = guard.failed()
        audit.record(event, {**who, "outcome": "wrong_pin", "failures": state.failures},
                     sync=True)
        raise
    guard.succeeded()
    audit.record(event, {**who, "outcome": "ok"}, sync=True)
    return token


class BoxLock:
    """The box token: open from the start (PIN on stdin), or closed until the panel unlocks it.

    Its table holds the token's ops, each refused as `locked` until the token is open, and the
    ops `status` and `unlock`. The PIN of an unlock goes to the token and the PIN guard only.
    """

    def __init__(self, args: argparse.Namespace, guard: PinGuard, audit: AuditLog,
                 token: Token | None = None) -> None:
        self._args = args
        self._guard = guard
        self._audit = audit
        self._panel_uids = frozenset(args.panel)
        self._ops = TokenOps(token)

    @property
    def token(self) -> Token | None:
        """Return the box token once it is open, None while the box is locked."""
        return self._ops.token

    def table(self) -> dict[str, Op]:
        """Return the token's ops, `status` (anyone) and `unlock` (the panel only)."""
        return {
            **self._ops.table(),
            "status": Op(self.status, Access.ANYONE, Audit.COUNTED, audit_args=()),
            "unlock": Op(self.unlock, Access.ANYONE, Audit.EACH, audit_args=()),
        }

    def status(self, call: Call) -> dict[str, Any]:
        """Tell whether the box is still locked, and the wrong PINs each PIN guard counts (for
        the alerts process, which may not read the signer's folder)."""
        folder = self._guard.path.parent
        return {"locked": self.token is None, "pin_guards": {
            name: asdict(PinGuard(folder / name).state())
            for name in (PIN_GUARD_FILE, OPERATOR_PIN_GUARD_FILE)}}

    def unlock(self, call: Call) -> dict[str, bool]:
        """Open the token with the `pin` the panel passes, counting wrong PINs like at start."""
        uid = call.peer.uid
        if uid not in self._panel_uids:
            raise IpcError("forbidden", f"uid {uid} may not unlock the box; an owner unlocks "
                           "it from the panel")
        if self.token is not None:
            return {"locked": False}
        pin = call.args.get("pin")
        if not isinstance(pin, str) or not pin:
            raise IpcError("bad_args", "args need 'pin', the box token's user PIN")
        try:
            token = log_in(self._args, pin, self._guard, self._audit, "unlock", call.peer)
        except WrongPin as exc:
            raise IpcError("wrong_pin", str(exc)) from None
        except LockedOut as exc:
            raise IpcError("locked_out", str(exc)) from None
        self._ops.token = token
        log.info("box unlocked by uid %d (pid %d)", uid, call.peer.pid)
        return {"locked": False}

    def close(self) -> None:
        """Log out of the token, if it was opened."""
        if self.token is not None:
            self.token.close()


def build_agent(
    args: argparse.Namespace, lock: BoxLock, audit: AuditLog,
    login: Mapping[str, LoginOp] | None = None, soft_keys: SoftKeyWatch | None = None,
) -> SignerAgent:
    """Return the agent with the lock's and the token's ops and, when keys are watched, the
    login ops (and `dev_key` when they are software keys)."""
    extra = {name: login_op(name, run) for name, run in (login or {}).items()}
    if soft_keys is not None:
        extra["dev_key"] = dev_key_op(soft_keys, args.panel, args.policy.is_admin)
    return SignerAgent(lock.table(), args.policy, audit, args.rate_limit, extra_ops=extra)


def login_op(name: str, run: LoginOp) -> Op:
    """Return a login op as the agent's table holds it; its PIN argument is never recorded."""
    audit = Audit.COUNTED if name in QUIET_LOGIN_OPS else Audit.EACH
    return Op(lambda call: run(call.args, call.peer), Access.ANYONE, audit,
              audit_args=("token_label", "key_label"))


async def serve_with_login(
    args: argparse.Namespace, lock: BoxLock, audit: AuditLog, data: DataDir
) -> None:
    """Serve the token's ops, and the login ops while operator keys can be watched.

    The keys are USB devices, or with --dev-keys the development box's software keys.
    """
    soft_keys = SoftKeyWatch(args.operator_module) if args.dev_keys else None
    watch = soft_keys or KeyWatch(args.usb_ids)
    try:
        watch.start()
    except (OSError, SoftKeyError) as exc:
        log.warning("cannot watch operator keys (%s); serving without operator login", exc)
        await serve_signer(build_agent(args, lock, audit), data.signer_sock)
        return
    login = LoginOps(watch, args.operator_module, args.panel,
                     PinGuard(data.hsm / OPERATOR_PIN_GUARD_FILE), [args.token])
    try:
        agent = build_agent(args, lock, audit, login.table(), soft_keys)
        await serve_signer(agent, data.signer_sock)
    finally:
        login.close()
        watch.stop()


def main(
    argv: list[str] | None = None, *, stdin: BinaryIO | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Run the signer until SIGTERM; return the process exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pin = None if args.locked else read_pin(stdin or sys.stdin.buffer)
    if pin == "":
        log.error("no user PIN on standard input; write it as the first line, or start the "
                  "signer --locked and unlock the box from the panel")
        return EXIT_START_FAILED
    try:
        data = signer_dir(args)
        audit = AuditLog(data.hsm / AUDIT_FILE, clock)
    except TokenError as exc:
        log.error("%s", exc)
        return EXIT_START_FAILED
    except OSError as exc:
        log.error("cannot open the audit log in %s (%s); the signer's uid must own it",
                  args.data, exc.strerror)
        return EXIT_START_FAILED
    with closing(audit):
        guard = PinGuard(data.hsm / PIN_GUARD_FILE, args.pin_failures, clock)
        try:
            token = None if pin is None else log_in(args, pin, guard, audit)
        except TokenError as exc:
            log.error("%s", exc)
            return EXIT_WRONG_PIN if isinstance(exc, WrongPin) else EXIT_START_FAILED
        except LockedOut as exc:
            log.error("%s", exc)
            return EXIT_LOCKED_OUT
        finally:
            del pin
        if token is None:
            log.info("the box is locked: waiting for an owner to unlock it from the panel")
        return _serve(args, BoxLock(args, guard, audit, token), audit, data)


def _serve(args: argparse.Namespace, lock: BoxLock, audit: AuditLog, data: DataDir) -> int:
    """Serve until SIGTERM, then log out of the token."""
    with closing(lock):
        try:
            uvloop.run(serve_with_login(args, lock, audit, data))
        except OSError as exc:
            socket_path = data.signer_sock
            log.error("cannot serve %s (%s); the signer's uid must be able to write %s",
                      socket_path, exc.strerror, socket_path.parent)
            return EXIT_START_FAILED
    return 0
