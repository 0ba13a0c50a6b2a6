"""End sessions whose key was pulled out, that expired, or whose user was revoked, on every tab.

Every PERIOD seconds the watch asks the signer whether each session's login is still open (the
signer ends it the moment its USB key is pulled) and ends the sessions that are not, or that
passed their expiry. Ending one sends each of its open pages to the login page and closes their
sockets, so a pulled key logs every tab out within a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from nicegui import Client, core

from appliance.ipc import IpcError
from ui.auth.sessions import Session, SessionBook
from ui.signer import Signer

log = logging.getLogger(__name__)

PERIOD = 0.25
"""Seconds between two looks at the open sessions."""

SEND_GRACE = 0.1
"""Seconds a page is given to receive its way to the login page before its socket closes."""


class SessionWatch:
    """The open sessions' pages, and the loop that ends sessions when they must end."""

    def __init__(
        self, sessions: SessionBook, signer: Signer, period: float = PERIOD,
        revoked: Callable[[], set[str]] | None = None,
    ) -> None:
        self.sessions = sessions
        self._signer = signer
        self._period = period
        self._revoked = revoked
        self._clients: dict[str, set[str]] = {}

    def attach(self, session: Session, client: Client) -> None:
        """Remember that `client` is a page of `session`, to close it when the session ends."""
        self._clients.setdefault(session.id, set()).add(client.id)

    async def run(self) -> None:
        """Look at the sessions every period until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("checking the open sessions failed; trying again")
            await asyncio.sleep(self._period)

    async def check(self) -> None:
        """End every session that expired, lost its key or its user."""
        for session in self.sessions.expired():
            await self._close(session, "expired")
        revoked = self._revoked() if self._revoked is not None else set()
        for session in self.sessions.all():
            if session.user.fingerprint in revoked:
                await self.end(session, "user revoked")
                continue
            try:
                still = await self._signer.is_open(session.signer_session)
            except IpcError as exc:
                log.warning("cannot ask the signer about a session of %s: %s",
                            session.user.name, exc.message)
                continue
            if not still:
                await self.end(session, "key pulled out or signer restarted")

    async def end(self, session: Session, reason: str) -> None:
        """End a session here and at the signer, and send its pages to the login page."""
        self.sessions.end(session.id)
        try:
            await self._signer.log_out(session.signer_session)
        except IpcError as exc:
            log.info("the signer did not take the logout of %s: %s", session.user.name,
                     exc.message)
        await self._close(session, reason)

    async def _close(self, session: Session, reason: str) -> None:
        """Send the session's pages to the login page, then close their sockets."""
        log.info("session of %s ended: %s", session.user.name, reason)
        clients = [Client.instances[i] for i in self._clients.pop(session.id, set())
                   if i in Client.instances]
        for client in clients:
            client.run_javascript("window.location.replace('/login')")
        if not clients:
            return
        await asyncio.sleep(SEND_GRACE)
        for client in clients:
            for sid in _sockets_of(client):
                await core.sio.disconnect(sid)


def _sockets_of(client: Client) -> list[str]:
    """Return the socket ids of a page: the handshake put each in a room named after it."""
    participants: Any = core.sio.manager.get_participants("/", client.id)
    return [sid for sid, _ in participants]
