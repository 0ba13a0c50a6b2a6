"""The supervisor's view of its children (appliance.db `processes`): a crash loop, or HALTED."""

from __future__ import annotations

from collections import deque
from typing import Any

from appliance.alerts.alert import Alert, AlertKind, Severity
from appliance.alerts.const import Timing
from appliance.store.appliance_db import ProcessStatus
from appliance.supervisor.child import ChildState

Seen = tuple[str, float, int]
"""A child's state, since when, and its restarts, as last read."""


class ProcessWatch:
    """Alert when a child goes HALTED, and when it keeps restarting without going HALTED.

    The supervisor marks a child HALTED after deaths close together; one that dies a little
    less often restarts for ever, which `restarts` within `restarts_window_s` catches.
    """

    def __init__(self, timing: Timing, saved: Any) -> None:
        self._timing = timing
        self._seen: dict[str, Seen] = {}
        if isinstance(saved, dict):
            self._seen = {str(name): (str(s[0]), float(s[1]), int(s[2]))
                          for name, s in saved.items()}
        self._restarts: dict[str, deque[float]] = {}
        self._looping: set[str] = set()

    def bookmark(self) -> dict[str, list[Any]]:
        """Return each child's state as last read."""
        return {name: list(seen) for name, seen in self._seen.items()}

    def poll(self, processes: dict[str, ProcessStatus], now: float) -> list[Alert]:
        """Return the alerts of the children's rows, compared with the last read."""
        alerts: list[Alert] = []
        for name, status in sorted(processes.items()):
            before = self._seen.get(name)
            self._seen[name] = (status.state, status.since, status.restarts)
            if before is None:
                continue  # first sight: what it did before is not news
            if status.state == ChildState.HALTED and before[:2] != (status.state, status.since):
                alerts.append(self._halted(status))
            elif self._loops(name, status.restarts - before[2], now):
                alerts.append(self._crash_loop(status))
        return alerts

    def _loops(self, name: str, new_restarts: int, now: float) -> bool:
        """Count new restarts; return whether the child just began to crash loop."""
        times = self._restarts.setdefault(name, deque())
        times.extend([now] * max(0, new_restarts))
        while times and times[0] <= now - self._timing.restarts_window_s:
            times.popleft()
        if not times:
            self._looping.discard(name)
        if len(times) < self._timing.restarts or name in self._looping:
            return False
        self._looping.add(name)
        return True

    def _halted(self, status: ProcessStatus) -> Alert:
        return Alert(f"process:{status.name}:{status.since}", AlertKind.PROCESS_HALTED,
                     Severity.CRITICAL, status.since,
                     f"{status.name} HALTED after a crash loop: {status.detail}",
                     details={"process": status.name, "state": status.state,
                              "restarts": status.restarts, "detail": status.detail})

    def _crash_loop(self, status: ProcessStatus) -> Alert:
        minutes = self._timing.restarts_window_s / 60
        return Alert(f"process:{status.name}:{status.since}", AlertKind.CRASH_LOOP,
                     Severity.WARNING, status.since,
                     f"{status.name} restarted {self._timing.restarts} times in {minutes:g} min "
                     f"({status.detail}); see its log",
                     details={"process": status.name, "state": status.state,
                              "restarts": status.restarts, "detail": status.detail})
