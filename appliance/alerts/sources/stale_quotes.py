"""Stale market data: a running bot that has chosen no quotes for a pair for too long.

A bot records the quotes it wants whenever they change, and they follow the market, so a
pair whose quotes stay unchanged for `stale_quotes_s` while its bot runs gets no fresh market
data, or its cycle is stuck. A halted pair is left out: it is stopped on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from appliance.alerts.alert import Alert, AlertKind, Severity
from appliance.alerts.const import Timing
from appliance.alerts.sources.bot_events import BotEventsTail
from appliance.store.appliance_db import ProcessStatus
from appliance.supervisor.child import ChildState


class StaleQuotes:
    """Alert once when a pair's quotes go stale; again only after fresh quotes or a restart."""

    def __init__(self, timing: Timing, started: float, saved: Any) -> None:
        self._timing = timing
        self._started = started
        self._alerted: dict[str, float] = {}
        """The time the quotes were last fresh, per stale pair already alerted."""
        if isinstance(saved, dict):
            self._alerted = {str(key): float(ts) for key, ts in saved.items()}

    def bookmark(self) -> dict[str, float]:
        """Return the stale pairs already alerted."""
        return dict(self._alerted)

    def poll(self, pairs: Iterable[tuple[str, str]], processes: Mapping[str, ProcessStatus],
             tails: Mapping[str, BotEventsTail], now: float) -> list[Alert]:
        """Return an alert for each pair of a running bot whose quotes just went stale."""
        alerts: list[Alert] = []
        stale: dict[str, float] = {}
        for bot, symbol in pairs:
            process, tail = processes.get(bot), tails.get(bot)
            if (process is None or process.state != ChildState.RUNNING or tail is None
                    or symbol in tail.halted):
                continue
            fresh = max(tail.quoted.get(symbol, self._started), process.since)
            if now - fresh <= self._timing.stale_quotes_s:
                continue
            key = f"{bot} {symbol}"
            stale[key] = fresh
            if self._alerted.get(key) != fresh:
                alerts.append(self._alert(bot, symbol, fresh, now))
        self._alerted = stale
        return alerts

    def _alert(self, bot: str, symbol: str, fresh: float, now: float) -> Alert:
        quiet = now - fresh
        return Alert(f"stale:{bot}:{symbol}:{fresh}", AlertKind.STALE_DATA, Severity.WARNING,
                     now, f"stale market data: no new quotes for {quiet:.0f} s while "
                     "the bot runs; check the exchange's connection in the bot's log", bot,
                     symbol, {"seconds": round(quiet, 1), "last_quotes": fresh})
