"""Login sessions of the panel, kept in its memory only: a restart logs everyone out.

A session is opened after the signer verified a USB-key login, and names the signer's own
session for that key, so pulling the key out ends both. It ends after `idle_s` seconds without
a request from its owner, after `max_s` seconds whatever happens, at logout, or when its user is
revoked. Its id is the cookie's value: it never reaches a log, a page or a file.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.store.access import Role, User

IDLE_S = 15 * 60.0
"""Seconds a session lives without a request from its owner, unless settings say otherwise."""

MAX_S = 12 * 3600.0
"""Seconds a session lives at most, whatever its owner does."""


@dataclass
class Session:
    """One logged-in browser: its user, the signer's session behind it, and when it was used."""

    id: str = field(repr=False)
    signer_session: str = field(repr=False)
    user: User
    device: str
    address: str
    started: float
    seen: float

    @property
    def role(self) -> Role:
        """Return what the session's user may do."""
        return self.user.role


class SessionBook:
    """The open sessions, by the id their cookie carries."""

    def __init__(
        self, idle_s: float = IDLE_S, max_s: float = MAX_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < idle_s <= max_s:
            raise ValueError(f"a session's idle expiry ({idle_s:g} s) must be positive and "
                             f"no longer than its absolute expiry ({max_s:g} s)")
        self.idle_s = idle_s
        self.max_s = max_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def open(self, signer_session: str, user: User, device: str, address: str) -> Session:
        """Open a session for `user`, logged in with the key at `device` from `address`."""
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), signer_session, user, device, address,
                          now, now)
        self._sessions[session.id] = session
        return session

    def find(self, session_id: str, *, touch: bool = True) -> Session | None:
        """Return the open session `session_id`; with `touch`, count this as its owner's request.

        A session past its expiry is not returned: `expired` hands it over to be ended.
        """
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if self._is_over(session, now):
            return None
        if touch:
            session.seen = now
        return session

    def end(self, session_id: str) -> Session | None:
        """End one session; return it, or None if it was not open."""
        return self._sessions.pop(session_id, None)

    def expired(self) -> list[Session]:
        """Take out and return every session past its idle or absolute expiry."""
        now = self._clock()
        over = [s for s in self._sessions.values() if self._is_over(s, now)]
        for session in over:
            del self._sessions[session.id]
        return over

    def of_user(self, fingerprint: str) -> list[Session]:
        """Return the open sessions of one user."""
        return [s for s in self._sessions.values() if s.user.fingerprint == fingerprint]

    def all(self) -> list[Session]:
        """Return every session held, expired or not."""
        return list(self._sessions.values())

    def _is_over(self, session: Session, now: float) -> bool:
        return now - session.seen >= self.idle_s or now - session.started >= self.max_s
