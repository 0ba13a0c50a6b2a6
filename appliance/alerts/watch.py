"""Read every source once per poll: the alerts found, and the box as `/status` shows it."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from appliance.alerts.alert import Alert
from appliance.alerts.bookmarks import Bookmarks
from appliance.alerts.const import STATE_FOLDER, Timing
from appliance.alerts.sources.activity import ActivityWatch
from appliance.alerts.sources.bot_events import BotEventsTail
from appliance.alerts.sources.license_end import LicenseEndWatch
from appliance.alerts.sources.pin_lockout import PinLockoutWatch
from appliance.alerts.sources.processes import ProcessWatch
from appliance.alerts.sources.stale_quotes import StaleQuotes
from appliance.alerts.validate import AlertSettings, load_settings
from appliance.datadir import DataDir
from appliance.store import appliance_db
from appliance.store.appliance_db import Pair, ProcessStatus
from appliance.store.database import StoreUnavailable, open_reader
from hsm.client import SignerClient
from ui.ledger_tail import SymbolStatus

log = logging.getLogger(__name__)

SIGNER_TIMEOUT_S = 2.0
"""How long a poll waits for the signer's status (its PIN guards) before it reads the files."""


@dataclass(frozen=True)
class BoxView:
    """The box as the last poll read it: settings, processes, pairs and each pair's state."""

    settings: AlertSettings = field(default_factory=AlertSettings)
    processes: dict[str, ProcessStatus] = field(default_factory=dict)
    bots: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()
    states: dict[tuple[str, str], SymbolStatus] = field(default_factory=dict)

    def state(self, bot: str, symbol: str) -> SymbolStatus:
        """Return a pair's state; a pair its bot never logged is paused."""
        return self.states.get((bot, symbol), SymbolStatus())


class Watch:
    """Every source, read in one pass; run from a worker thread, one pass at a time."""

    def __init__(self, data: DataDir, timing: Timing, started: float) -> None:
        self._data = data
        self.bookmarks = Bookmarks(data.root / STATE_FOLDER)
        saved = self.bookmarks.saved
        self._processes = ProcessWatch(timing, saved.get("processes"))
        self._activity = ActivityWatch(timing, saved.get("activity"))
        signer = SignerClient(data.signer_sock, SIGNER_TIMEOUT_S)
        self._pins = PinLockoutWatch(data.hsm, saved.get("pins"),
                                     lambda: signer.call("status"))
        self._stale = StaleQuotes(timing, started, saved.get("stale"))
        self._license = LicenseEndWatch(data.license, saved.get("license"))
        self._saved_tails: dict[str, Any] = dict(saved.get("events") or {})
        self._tails: dict[str, BotEventsTail] = {}
        self._db: sqlite_utils.Database | None = None
        self._trouble = ""
        self._problems: list[str] = []
        self.view = BoxView()
        """The box as the last poll read it; replaced whole, so another thread may read it."""

    def poll(self, now: float) -> list[Alert]:
        """Read every source and return the alerts found, oldest source first."""
        try:
            if self._db is None:
                self._db = open_reader(self._data.appliance_db)
            view, alerts = self._read_box(self._db, now)
        except (sqlite3.Error, StoreUnavailable) as exc:
            self._close_db()
            if str(exc) != self._trouble:
                self._trouble = str(exc)
                log.warning("cannot read %s (%s); trying again", self._data.appliance_db, exc)
            return self._pins.poll(now)
        self._trouble = ""
        for tail in self._tails_of(view.bots):
            alerts += tail.poll()
        pairs = [(pair.bot, pair.symbol) for pair in view.pairs]
        alerts += self._stale.poll(pairs, view.processes, self._tails, now)
        alerts += self._pins.poll(now) + self._license.poll(now)
        alerts.sort(key=lambda alert: alert.ts)
        self.view = BoxView(view.settings, view.processes, view.bots, view.pairs, {
            (bot, symbol): status for bot, tail in self._tails.items()
            for symbol, status in tail.statuses.items()})
        return alerts

    def _read_box(self, db: sqlite_utils.Database, now: float) -> tuple[BoxView, list[Alert]]:
        """Read appliance.db's small tables and the activity log's new records."""
        settings, problems = load_settings(appliance_db.settings(db))
        if problems != self._problems:
            self._problems = problems
            for problem in problems:
                log.warning("%s", problem)
        processes = appliance_db.processes(db)
        view = BoxView(settings, processes, tuple(bot.name for bot in appliance_db.bots(db)),
                       tuple(appliance_db.pairs(db)))
        alerts = self._processes.poll(processes, now) + self._activity.poll(db, now)
        return view, alerts

    def _tails_of(self, bots: tuple[str, ...]) -> list[BotEventsTail]:
        """Return a tail per bot, opening the new ones and closing those of removed bots."""
        for gone in set(self._tails) - set(bots):
            self._tails.pop(gone).close()
        for bot in bots:
            if bot not in self._tails:
                self._tails[bot] = BotEventsTail(bot, self._data.events_db(bot),
                                                 self._saved_tails.get(bot))
        return [self._tails[bot] for bot in bots]

    def positions(self) -> dict[str, Any]:
        """Return where every source stopped reading."""
        return {"processes": self._processes.bookmark(), "activity": self._activity.bookmark(),
                "pins": self._pins.bookmark(), "stale": self._stale.bookmark(),
                "license": self._license.bookmark(),
                "events": {bot: mark for bot, tail in self._tails.items()
                           if (mark := tail.bookmark()) is not None}}

    def save(self) -> None:
        """Save where every source stopped reading."""
        self.bookmarks.save(self.positions())

    def close(self) -> None:
        """Close every store."""
        for tail in self._tails.values():
            tail.close()
        self._close_db()

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
