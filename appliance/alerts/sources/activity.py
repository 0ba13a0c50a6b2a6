"""The user-activity log (appliance.db `activity`): a burst of failed logins, the box unlocked."""

from __future__ import annotations

from collections import deque
from typing import Any

import sqlite_utils

from appliance.alerts.alert import Alert, AlertKind, Severity
from appliance.alerts.const import ACTIVITY_PAGE, Timing
from appliance.store import access
from appliance.store.access import ActivityRecord

LOGIN_FAILED = "login_failed"
UNLOCK = "unlock"
"""The actions the panel records for a refused login and for an unlock."""


def failed(record: ActivityRecord) -> bool:
    """Return whether a record is a login or an unlock that was refused."""
    return record.action == LOGIN_FAILED or (record.action == UNLOCK and record.outcome != "ok")


class ActivityWatch:
    """Alert on each unlock, and once per burst of failed logins (until a quiet window)."""

    def __init__(self, timing: Timing, saved: Any) -> None:
        self._timing = timing
        self._seq: int | None = saved if isinstance(saved, int) else None
        self._failures: deque[ActivityRecord] = deque()
        self._burst = False

    def bookmark(self) -> int | None:
        """Return the last record read."""
        return self._seq

    def poll(self, db: sqlite_utils.Database, now: float) -> list[Alert]:
        """Read the records added since the last poll and return the alerts they raise."""
        if self._seq is None:
            self._seq = int(db.execute("SELECT coalesce(max(seq), 0) FROM activity")
                            .fetchone()[0])
            return []
        alerts: list[Alert] = []
        while records := access.activity(db, after_seq=self._seq, limit=ACTIVITY_PAGE):
            self._seq = records[-1].seq
            for record in records:
                if record.action == UNLOCK and record.outcome == "ok":
                    alerts.append(self._unlocked(record))
                elif failed(record):
                    self._failures.append(record)
                    alerts.extend(self._burst_begins(record, now))
        self._forget(now)
        return alerts

    def _burst_begins(self, record: ActivityRecord, now: float) -> list[Alert]:
        """Return the burst alert if this failure makes one begin."""
        self._forget(now)
        if self._burst or len(self._failures) < self._timing.failed_logins:
            return []
        self._burst = True
        addresses = sorted({failure.address or "unknown" for failure in self._failures})
        minutes = self._timing.failed_logins_window_s / 60
        return [Alert(f"activity:{record.seq}", AlertKind.FAILED_LOGINS, Severity.CRITICAL,
                      record.ts, f"{len(self._failures)} failed logins in {minutes:g} min, from "
                      f"{', '.join(addresses)}; if they are not yours, check the allowlist",
                      details={"count": len(self._failures), "addresses": addresses,
                               "seq": record.seq})]

    def _forget(self, now: float) -> None:
        """Drop failures older than the window; a window without any ends the burst."""
        while self._failures and self._failures[0].ts <= now - self._timing.failed_logins_window_s:
            self._failures.popleft()
        if not self._failures:
            self._burst = False

    def _unlocked(self, record: ActivityRecord) -> Alert:
        who = record.actor or "someone"
        return Alert(f"activity:{record.seq}", AlertKind.UNLOCKED, Severity.WARNING, record.ts,
                     f"the box was unlocked by {who} from {record.address or 'an unknown address'}"
                     "; the bots start now", details={"actor": record.actor,
                                                       "address": record.address,
                                                       "seq": record.seq})
