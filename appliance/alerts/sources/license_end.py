"""The license nearing its end, and past it.

The supervisor refuses to start on a license past its end, and checks only at start: a box that
runs through the end keeps trading until it restarts, and then does not. The owner is told 30,
7 and 1 days before, and when it has ended, once each. The license file is the factory's and
readable by every process; the supervisor verified its signature at start.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.alerts.alert import Alert, AlertKind, Severity
from appliance.license import license_time

WARN_DAYS = (30, 7, 1)
"""How many days before its end the license's end is told, and then once more at its end."""
DAY_S = 86_400.0


class LicenseEndWatch:
    """Alert once at each of WARN_DAYS before the license ends, and once when it has."""

    def __init__(self, path: Path, saved: Any) -> None:
        self._path = path
        self._told: set[str] = set(saved) if isinstance(saved, list) else set()
        """The steps told already, for this end ("30", "7", "1", "ended"), each with the end."""

    def bookmark(self) -> list[str]:
        """Return the steps told already."""
        return sorted(self._told)

    def poll(self, now: float) -> list[Alert]:
        """Return an alert for the step the license's end has reached, if not told yet."""
        ends = self._ends()
        if ends is None:
            return []
        text, at = ends
        left = at - now
        if left <= 0:
            step, severity = "ended", Severity.CRITICAL
            message = (f"The license ended on {text}. The box trades on until it restarts, "
                       "then refuses to start: ask the vendor to renew it and install the new "
                       "license.json.")
        else:
            due = [days for days in WARN_DAYS if left <= days * DAY_S]
            if not due:
                return []
            step, severity = str(min(due)), Severity.WARNING
            when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            message = (f"The license ends in {left / DAY_S:.0f} day(s), on {when}; ask the "
                       "vendor to renew it before then.")
        key = f"{step}@{text}"
        if key in self._told:
            return []
        self._told.add(key)
        return [Alert(f"license:{key}", AlertKind.LICENSE_END, severity, now, message,
                      details={"valid_until": text})]

    def _ends(self) -> tuple[str, float] | None:
        """Return when the license ends, as written and as a Unix time; None when it names no
        end or cannot be read (the supervisor said why at start)."""
        try:
            manifest = json.loads(self._path.read_text(encoding="utf-8"))["manifest"]
            text = str(manifest["valid_until"])
            return text, license_time(text)
        except (OSError, ValueError, KeyError, TypeError):
            return None
