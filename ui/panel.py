"""What every page and route of the panel reads from and talks to."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appliance.datadir import DataDir
from ui.auth.accounts import Accounts
from ui.auth.sessions import IDLE_S, MAX_S, SessionBook
from ui.auth.throttle import LoginThrottle
from ui.auth.watch import SessionWatch
from ui.listen import panel_settings
from ui.signer import Signer
from ui.snapshot import BoxReader
from ui.supervisor import Supervisor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Panel:
    """The one reader of the box's stores, the client of its supervisor and signer, and the
    keeper of its login sessions."""

    reader: BoxReader
    supervisor: Supervisor
    signer: Signer
    accounts: Accounts
    sessions: SessionBook
    throttle: LoginThrottle
    watch: SessionWatch
    development: bool = False
    """A development box: its software operator keys may be plugged in and pulled out here."""

    @classmethod
    def of(cls, datadir: DataDir, *, development: bool = False,
           sessions: SessionBook | None = None) -> Panel:
        """Return the panel of a data directory."""
        book = sessions or session_book(panel_settings(datadir.appliance_db))
        signer = Signer(datadir.signer_sock)
        return cls(BoxReader(datadir), Supervisor(datadir.control_sock), signer,
                   Accounts(datadir.appliance_db), book, LoginThrottle(),
                   SessionWatch(book, signer), development)


def session_book(settings: dict[str, str]) -> SessionBook:
    """Return a session book with the expiries appliance.db's settings give, else the defaults.

    `session_idle_s` and `session_max_s` are seconds; a setting that is not a positive number,
    or an idle expiry beyond the absolute one, falls back to the defaults with a warning.
    """
    try:
        idle = float(settings.get("session_idle_s", IDLE_S))
        most = float(settings.get("session_max_s", MAX_S))
        return SessionBook(idle, most)
    except ValueError as exc:
        log.warning("session expiry settings ignored (%s); using %g s idle, %g s at most",
                    exc, IDLE_S, MAX_S)
        return SessionBook()
