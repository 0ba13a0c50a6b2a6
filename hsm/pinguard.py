"""Limit wrong user PINs, since a software token never locks: count them and delay logins.

After `allowed` wrong PINs in a row each further login waits 2, 4, 8... seconds (at most
PIN_LOCKOUT_MAX) after the last wrong one. The count survives restarts in a small JSON file in
the signer's folder, replaced atomically; it holds a count and a time, never a PIN.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance.store.atomic import write_atomic
from hsm.const import PIN_FAILURES_ALLOWED, PIN_LOCKOUT_MAX


class LockedOut(Exception):
    """Too many wrong PINs: no login is tried before `until` (seconds since the epoch)."""

    def __init__(self, failures: int, until: float, now: float) -> None:
        when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(f"{failures} wrong PINs in a row: no login is tried before {when} "
                         f"(in {max(1, round(until - now))} s); start again then with the "
                         "right PIN")
        self.failures = failures
        self.until = until


@dataclass(frozen=True)
class PinState:
    """Wrong PINs in a row, and the time before which no login is tried."""

    failures: int = 0
    locked_until: float = 0.0


def lockout_seconds(failures: int, allowed: int) -> float:
    """Return how long logins wait after the `failures`-th wrong PIN in a row."""
    if failures < allowed:
        return 0.0
    return min(2.0 ** min(failures - allowed + 1, 32), PIN_LOCKOUT_MAX)


class PinGuard:
    """Refuse logins while locked out; record each wrong and right PIN in `path`."""

    def __init__(self, path: Path, allowed: int = PIN_FAILURES_ALLOWED,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._allowed = allowed
        self._clock = clock

    def check(self) -> None:
        """Raise LockedOut if no login may be tried now."""
        state, now = self.state(), self._clock()
        if state.locked_until - now > PIN_LOCKOUT_MAX:
            # The clock went back: wait no longer than the longest delay from now.
            state = PinState(state.failures, now + PIN_LOCKOUT_MAX)
            self._save(state)
        if state.locked_until > now:
            raise LockedOut(state.failures, state.locked_until, now)

    def failed(self) -> PinState:
        """Count one more wrong PIN and return the new state."""
        failures = self.state().failures + 1
        now = self._clock()
        state = PinState(failures, now + lockout_seconds(failures, self._allowed))
        self._save(state)
        return state

    def succeeded(self) -> None:
        """Forget the wrong PINs after a right one."""
        if self.state() != PinState():
            self._save(PinState())

    def state(self) -> PinState:
        """Return the recorded state; an unreadable file counts as the allowed wrong PINs."""
        try:
            raw = json.loads(self.path.read_bytes())
            return PinState(int(raw["failures"]), float(raw["locked_until"]))
        except FileNotFoundError:
            return PinState()
        except (OSError, ValueError, TypeError, KeyError):
            return PinState(self._allowed)

    def _save(self, state: PinState) -> None:
        content = {"failures": state.failures, "locked_until": state.locked_until}
        write_atomic(self.path, json.dumps(content).encode(), 0o600)
