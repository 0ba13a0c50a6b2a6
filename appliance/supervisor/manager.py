"""The supervisor: PID 1 of the box. Verifies the license, starts and watches every child."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from appliance.alerts.const import TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL
from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer, serve_unix
from appliance.license import (
    BoxKind,
    License,
    LicenseError,
    check_validity,
    load_vendor_public_key,
    verify_license,
)
from appliance.store import appliance_db
from appliance.store.appliance_db import ProcessStatus
from appliance.store.database import close_writer, open_writer
from appliance.supervisor import layout
from appliance.supervisor.access import AccessOp, AccessOps
from appliance.supervisor.alerts_ops import AlertsOps
from appliance.supervisor.child import Child, ChildSpec, ChildState
from appliance.supervisor.config_ops import ConfigOps
from appliance.supervisor.const import (
    HEARTBEAT_TIMEOUT,
    PAIR_CHANGE_TIMEOUT,
    READERS_GID,
    SIGNER_READY_TIMEOUT,
)
from appliance.supervisor.exchange_ops import ExchangeOps
from appliance.supervisor.pair_ops import PairOps
from appliance.supervisor.reaper import reap
from appliance.supervisor.sandbox import account_for
from hsm.client import SignerClient, SignerError

log = logging.getLogger(__name__)

ALERTS_MAY = frozenset({"status", "symbol_action", "record_activity"})
"""What the alerts process may ask: the box's state, a Telegram /pause or /activate, and the
user-activity line that records it."""
ALERT_SECRETS = frozenset({TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL})

UNLOCK_POLL = 0.5
"""Seconds between the supervisor's questions to a locked signer: unlocked yet?"""

LOCKED_DETAIL = "locked: waiting for an owner to unlock the box from the panel"
"""The signer's process detail while the box is locked, as the panel shows it."""


class SupervisorError(Exception):
    """The box cannot start; the message says what to do."""


class Supervisor:
    """Own the box's processes: start them in order, restart them, stop them in order."""

    def __init__(self, data: DataDir, vendor_key: Path) -> None:
        self.data = data
        self.vendor_key = vendor_key
        self.children: dict[str, Child] = {}
        self._resting: dict[str, dict[str, list[Any]]] = {}
        self._stop = asyncio.Event()
        self._development = False
        self._access_ops: dict[str, AccessOp] = {}
        self._db = open_writer(data.appliance_db)
        appliance_db.create_schema(self._db)
        self._settings = appliance_db.settings(self._db)
        self._bots = appliance_db.bots(self._db)
        try:
            self._signer_uid = int(self._settings["signer_uid"])
            self._panel_uid = int(self._settings["panel_uid"])
            self._token = self._settings["token_label"]
            self._device_key = self._settings["device_key_label"]
        except (KeyError, ValueError) as exc:
            raise SupervisorError(
                f"{data.appliance_db} lacks a valid setting {exc}; provision the box again"
            ) from None
        alerts_uid = self._settings.get("alerts_uid", "")
        self._alerts_uid = int(alerts_uid) if alerts_uid.isdecimal() else None
        """The alerts process's account; None on a box provisioned before it had one."""

    async def run(self) -> None:
        """Run the box until SIGTERM or SIGINT, then stop it in order."""
        license = self._verify_license()
        if self._settings.get("asset") != license.asset:
            raise SupervisorError(
                f"appliance.db trades {self._settings.get('asset')!r} but the license locks this "
                f"box to {license.asset!r}; provision the box again")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGCHLD, reap, self.children.values())
        layout.prepare(self.data, self._signer_uid, self._panel_uid,
                       {bot.name: bot.uid for bot in self._bots}, self._alerts_uid)
        self._development = license.kind is BoxKind.DEVELOPMENT
        access = AccessOps(self._db, license.limits.users)
        setup = asyncio.Lock()  # one account or pair change at a time
        accounts = ExchangeOps(self._db, SignerClient(self.data.signer_sock), license.limits,
                               license.asset, self._bot_uid, os.getuid(), setup)
        pairs = PairOps(self._db, self._ask_bot, license.asset, setup)
        alerts = AlertsOps(self._db, SignerClient(self.data.signer_sock),
                           lambda: None if self._alerts_uid is None else _uid(self._alerts_uid),
                           self._restart_alerts)
        self._access_ops = {**access.table(), **ConfigOps(self._db, self._ask_bot).table(),
                            **accounts.table(), **pairs.table(), **alerts.table()}
        access.start()
        control = await serve_unix(self.data.control_sock, self._answer, mode=0o666)
        try:
            if await self._start_signer(license):
                # A box that keeps no PIN waits for an owner to unlock it from the panel.
                self._start_watchers()
                await self._until_unlocked()
            if not self._stop.is_set():
                await self._check_device_key(license)
                for bot in self._bots:
                    child = self._add(self._bot_spec(bot.name, bot.uid))
                    self._share_resting_orders(child)
                    if bot.enabled:
                        child.start()
                if "panel" not in self.children:
                    self._start_watchers()
                log.info("box running: %s", ", ".join(self.children))
                await self._stop.wait()
        finally:
            control.close()
            access.close()
            await self._shutdown()

    def _verify_license(self) -> License:
        try:
            license = verify_license(self.data.license, load_vendor_public_key(self.vendor_key))
            check_validity(license, time.time())
        except LicenseError as exc:
            raise SupervisorError(f"license refused: {exc}") from None
        return license

    async def _start_signer(self, license: License) -> bool:
        """Start the signer and wait until it serves; return whether it started locked.

        Only a development box keeps the token's PIN on disk; without it the signer starts
        locked and an owner unlocks it from the panel.
        """
        pin_file = self.data.pin_file
        pin = pin_file.read_bytes().strip() if pin_file.exists() else None
        signer = self._add(self._signer_spec(pin, license.kind is BoxKind.DEVELOPMENT))
        client = SignerClient(self.data.signer_sock)
        signer.probe = lambda: asyncio.to_thread(client.ping)
        signer.start()
        deadline = asyncio.get_running_loop().time() + SIGNER_READY_TIMEOUT
        while signer.state is not ChildState.RUNNING:
            late = asyncio.get_running_loop().time() > deadline
            if signer.state is not ChildState.STARTING or late:
                raise SupervisorError(
                    f"the signer did not start ({signer.detail or signer.state}); "
                    f"see {self.data.log('signer')}")
            await asyncio.sleep(0.1)
        return pin is None

    async def _until_unlocked(self) -> None:
        """Wait until an owner has unlocked the box from the panel, or the box is stopped."""
        signer = self.children["signer"]
        client = SignerClient(self.data.signer_sock)
        try:
            while not self._stop.is_set():
                if await self._signer_unlocked(client):
                    log.info("the box was unlocked from the panel")
                    self._describe(signer, "")
                    return
                if signer.state is ChildState.RUNNING:
                    self._describe(signer, LOCKED_DETAIL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), UNLOCK_POLL)
        finally:
            client.close()

    @staticmethod
    async def _signer_unlocked(client: SignerClient) -> bool:
        """Ask the signer whether its token is open; a signer that does not answer is not."""
        try:
            status = await asyncio.to_thread(client.call, "status")
        except SignerError:
            return False
        return isinstance(status, dict) and status.get("locked") is False

    def _describe(self, child: Child, detail: str) -> None:
        """Show `detail` on a child's process row, if it is not shown already."""
        if child.detail != detail:
            child.detail = detail
            self._record(child)

    async def _check_device_key(self, license: License) -> None:
        client = SignerClient(self.data.signer_sock)
        try:
            public = await asyncio.to_thread(client.public_key, self._device_key)
        finally:
            client.close()
        if public != license.device_public_key:
            raise SupervisorError(
                "the token does not hold this license's device key: the license belongs to "
                "another box; install the license issued for this one")

    def _add(self, spec: ChildSpec) -> Child:
        child = Child(spec, self.data.log(spec.name), self._record)
        self.children[spec.name] = child
        return child

    def _record(self, child: Child) -> None:
        log.info("%s: %s %s", child.name, child.state, child.detail)
        appliance_db.put_process(self._db, ProcessStatus(
            child.name, child.state.value, child.pid, child.restarts,
            time.time(), child.detail))

    async def _answer(self, op: str, args: dict[str, Any], peer: Peer) -> Any:
        """Answer the panel on the control socket, and the alerts process's few ops."""
        if self._alerts_uid is not None and peer.uid == _uid(self._alerts_uid) \
                and peer.uid not in (0, os.getuid()):
            if op not in ALERTS_MAY:
                raise IpcError("forbidden", f"the alerts process may ask only "
                               f"{', '.join(sorted(ALERTS_MAY))}")
        elif peer.uid not in (0, os.getuid(), self._panel_uid):
            raise IpcError("forbidden", "only the panel may control the box")
        access_op = self._access_ops.get(op)
        if access_op is not None:
            return await access_op(args)
        if op == "status":
            return {"processes": {
                name: {"state": c.state.value, "pid": c.pid, "restarts": c.restarts,
                       "detail": c.detail} for name, c in self.children.items()}}
        if op in ("start_bot", "stop_bot"):
            return await self._switch_bot(str(args.get("bot", "")), op == "start_bot")
        if op == "symbol_action":
            bot = self._bot_child(str(args.get("bot", "")))
            result = await bot.ask("symbol_action", symbol=args.get("symbol"),
                                   action=args.get("action"), actor=args.get("actor") or "",
                                   fingerprint=args.get("fingerprint") or "")
            return {"bot": bot.name, **result}
        if op == "account_view":
            return await self._bot_child(str(args.get("bot", ""))).ask(
                "account", PAIR_CHANGE_TIMEOUT)
        known = ", ".join(["status", "start_bot", "stop_bot", "symbol_action", "account_view",
                           *self._access_ops])
        raise IpcError("unknown_op", f"the supervisor answers {known}, not '{op}'")

    def _share_resting_orders(self, bot: Child) -> None:
        """Tell each bot, with every heartbeat, where the other bots' orders rest.

        Two bots quoting the same market must never trade with each other: each reports its
        resting orders in its heartbeat answer and checks new orders against the others'.
        """
        def others() -> dict[str, Any]:
            markets: dict[str, list[Any]] = {}
            for name, resting in self._resting.items():
                if name != bot.name:
                    for market, orders in resting.items():
                        markets.setdefault(market, []).extend(orders)
            return {"others": markets}

        def remember(answer: Any) -> None:
            if isinstance(answer, dict) and isinstance(answer.get("resting"), dict):
                self._resting[bot.name] = answer["resting"]

        bot.heartbeat_args, bot.on_heartbeat = others, remember

    async def _ask_bot(self, name: str, op: str, args: dict[str, Any]) -> Any:
        """Ask a running bot one op over its control channel.

        Starting a pair loads the exchange's markets and settles the pair's orders, and removing
        one cancels them: those may take longer than a heartbeat.
        """
        timeout = PAIR_CHANGE_TIMEOUT if op in ("add_pair", "remove_pair") else HEARTBEAT_TIMEOUT
        return await self._bot_child(name).ask(op, timeout, **args)

    def _bot_child(self, name: str) -> Child:
        child = self.children.get(name)
        if child is None or not child.spec.control:
            raise IpcError("unknown_bot", f"there is no bot named '{name}'")
        return child

    async def _switch_bot(self, name: str, enabled: bool) -> dict[str, Any]:
        child = self._bot_child(name)
        appliance_db.set_bot_enabled(self._db, name, enabled)
        if enabled:
            child.restarts = 0
            child.start()
        else:
            await child.stop()
        return {"bot": name, "enabled": enabled}

    async def _shutdown(self) -> None:
        """Stop the bots first (they cancel their orders through the signer), the signer last."""
        bots = [c for c in self.children.values() if c.spec.control]
        await asyncio.gather(*(bot.stop() for bot in bots))
        for name in ("panel", "alerts", "signer"):
            if name in self.children:
                await self.children[name].stop()
        self.data.control_sock.unlink(missing_ok=True)
        close_writer(self._db)

    def _env(self, **extra: str) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "PYTHONUNBUFFERED": "1", "HOME": str(self.data.run)}
        return env | extra

    def _python(self, module: str, *args: str) -> list[str]:
        return [sys.executable, "-m", module, "--data", str(self.data.root), *args]

    def _signer_spec(self, pin: bytes | None, dev_keys: bool) -> ChildSpec:
        """Return how to run the signer: with the PIN on stdin, or locked without one.

        A development box's signer presents software operator keys instead of USB ones.
        """
        allowed: dict[int, set[str]] = {_uid(0): {self._device_key}}
        for key in appliance_db.exchange_keys(self._db):
            allowed.setdefault(self._bot_uid(key.bot), set()).update(
                label for label in (key.label, key.passphrase) if label)
        if self._alerts_uid is not None:
            allowed.setdefault(_uid(self._alerts_uid), set()).update(ALERT_SECRETS)
        allow = [f"{uid}={','.join(sorted(labels))}" for uid, labels in allowed.items()]
        modes = ["--locked"] if pin is None else []
        modes += ["--dev-keys"] if dev_keys else []
        return ChildSpec(
            "signer", self._python("hsm", "--token", self._token,
                                   "--panel", str(_uid(self._panel_uid)), *modes,
                                   *(a for entry in allow for a in ("--allow", entry))),
            account_for(self._signer_uid), self._env(SOFTHSM2_CONF=str(self.data.softhsm_conf)),
            stdin=pin)

    def _bot_uid(self, name: str) -> int:
        """Return the uid bot `name` runs under."""
        return _uid(next(bot.uid for bot in self._bots if bot.name == name))

    def _bot_spec(self, name: str, uid: int) -> ChildSpec:
        return ChildSpec(name, self._python("appliance.bot", "--name", name),
                         account_for(uid, (READERS_GID,)), self._env(), control=True)

    def _start_watchers(self) -> None:
        """Start the panel and the alerts process: both run while the box is locked too."""
        self._add(self._panel_spec()).start()
        if self._alerts_uid is not None:
            self._add(self._alerts_spec()).start()
        else:
            log.warning("appliance.db has no alerts_uid: this box was provisioned before it had "
                        "an alerts process, so it sends no alerts; provision it again to have "
                        "them")

    async def _restart_alerts(self) -> None:
        """Restart the alerts process, which reads its secrets once, at start."""
        child = self.children.get("alerts")
        if child is not None:
            await child.stop()
            child.start()

    def _alerts_spec(self) -> ChildSpec:
        assert self._alerts_uid is not None
        groups = (READERS_GID, *(bot.uid for bot in self._bots))
        return ChildSpec("alerts", self._python("appliance.alerts"),
                         account_for(self._alerts_uid, groups), self._env())

    def _panel_spec(self) -> ChildSpec:
        groups = (READERS_GID, *(bot.uid for bot in self._bots))
        development = ["--development"] if self._development else []
        return ChildSpec("panel", self._python("ui", *development),
                         account_for(self._panel_uid, groups),
                         self._env(NICEGUI_STORAGE_PATH=str(self.data.panel_storage)))


def _uid(account: int) -> int:
    """Return the uid a child of `account` runs under: without root every child shares ours."""
    return account if os.geteuid() == 0 else os.getuid()
