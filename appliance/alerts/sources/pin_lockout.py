"""The signer's PIN lockout: its PIN guards (`hsm.pinguard`).

The signer counts wrong PINs in a small file per token (the box token, and the operators'
USB keys apart) holding the count and the time before which no login is tried. The alerts
process runs under its own uid and may not read the signer's folder, so it asks the signer's
`status` op, which anyone may call, for the counts; where the signer does not answer and the
files can be read (a development box, where every process shares one uid), it reads them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.alerts.alert import Alert, AlertKind, Severity
from hsm.client import SignerError
from hsm.const import OPERATOR_PIN_GUARD_FILE, PIN_GUARD_FILE
from hsm.pinguard import PinGuard, PinState

log = logging.getLogger(__name__)

GUARDS = {"the box token": PIN_GUARD_FILE, "operators' USB keys": OPERATOR_PIN_GUARD_FILE}
"""Each PIN guard file, by what its PINs open."""


class PinLockoutWatch:
    """Alert when logins lock out, and again each time the wrong PINs since have doubled."""

    def __init__(self, hsm_dir: Path, saved: Any,
                 ask: Callable[[], Any] | None = None) -> None:
        self._dir = hsm_dir
        self._ask = ask
        """Ask the signer's status; None: read the files only."""
        self._alerted: dict[str, int] = {}
        """The count of wrong PINs last alerted, per guard file; 0 after a right PIN."""
        if isinstance(saved, dict):
            self._alerted = {str(name): int(count) for name, count in saved.items()}
        self._unreadable: set[str] = set()

    def bookmark(self) -> dict[str, int]:
        """Return the counts already alerted."""
        return dict(self._alerted)

    def poll(self, now: float) -> list[Alert]:
        """Return an alert for each guard that locked out, or locked out further."""
        alerts: list[Alert] = []
        told = self._told()
        for what, name in GUARDS.items():
            state = told.get(name) or self._state(name)
            if state is None:
                continue
            alerted = self._alerted.get(name, 0)
            if state.failures == 0:
                self._alerted.pop(name, None)
            elif state.locked_until > now and state.failures >= max(1, 2 * alerted):
                self._alerted[name] = state.failures
                alerts.append(self._alert(what, name, state, now))
        return alerts

    def _told(self) -> dict[str, PinState]:
        """Return each guard's state as the signer's status tells it; empty if it does not."""
        if self._ask is None:
            return {}
        try:
            guards = self._ask().get("pin_guards") or {}
            return {str(name): PinState(int(state["failures"]), float(state["locked_until"]))
                    for name, state in guards.items()}
        except (OSError, SignerError, AttributeError, KeyError, TypeError, ValueError):
            return {}

    def _state(self, name: str) -> PinState | None:
        """Return a guard's state, or None (said once in the log) when it cannot be read."""
        path = self._dir / name
        try:
            path.stat()
            readable = os.access(path, os.R_OK)
        except FileNotFoundError:
            return PinState()  # no wrong PIN yet
        except OSError:
            readable = False
        if not readable:
            if name not in self._unreadable:
                self._unreadable.add(name)
                log.warning("cannot read %s; PIN lockouts are not watched until the alerts "
                            "process may read it", path)
            return None
        self._unreadable.discard(name)
        return PinGuard(path).state()

    @staticmethod
    def _alert(what: str, name: str, state: PinState, now: float) -> Alert:
        until = datetime.fromtimestamp(state.locked_until, UTC).strftime("%H:%M:%S UTC")
        return Alert(f"pin:{name}:{state.failures}", AlertKind.PIN_LOCKOUT, Severity.CRITICAL,
                     now, f"PIN lockout: {state.failures} wrong PINs in a row for {what}; no "
                     f"login is tried before {until}. If they were not yours, someone near the "
                     "box is guessing", details={"token": what, "failures": state.failures,
                                                 "locked_until": state.locked_until})
