"""One alert: what happened, how bad, where, and when; as a line for people and as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How urgently the owner should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


MARK = {Severity.INFO: "🔔", Severity.WARNING: "⚠️", Severity.CRITICAL: "🛑"}
"""The sign a Telegram message starts with, by severity."""


class AlertKind(StrEnum):
    """What an alert is about: the `kind` field of the webhook's JSON."""

    RISK_TRIP = "risk_trip"
    SYMBOL_HALTED = "symbol_halted"
    STALE_DATA = "stale_data"
    PROCESS_HALTED = "process_halted"
    CRASH_LOOP = "crash_loop"
    FAILED_LOGINS = "failed_logins"
    UNLOCKED = "unlocked"
    PIN_LOCKOUT = "pin_lockout"
    LICENSE_END = "license_end"


@dataclass(frozen=True)
class Alert:
    """One alert. `id` is the same for the same happening, so a receiver can drop repeats."""

    id: str
    kind: AlertKind
    severity: Severity
    ts: float
    text: str
    bot: str = ""
    symbol: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """Return the alert as one Telegram message."""
        where = " ".join(part for part in (self.bot, self.symbol) if part)
        stamp = datetime.fromtimestamp(self.ts, UTC).strftime("%H:%M:%S UTC")
        head = f"{MARK[self.severity]} {where}: " if where else f"{MARK[self.severity]} "
        return f"{head}{self.text} ({stamp})"

    def as_json(self) -> dict[str, Any]:
        """Return the alert as the webhook's JSON body."""
        return {"id": self.id, "kind": self.kind.value, "severity": self.severity.value,
                "ts": self.ts, "bot": self.bot or None, "symbol": self.symbol or None,
                "text": self.text, "details": self.details}
