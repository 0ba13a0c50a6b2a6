"""The supervisor as one logged-in user's page calls it: each command is theirs, and recorded.

A page's buttons act over its socket, not through a REST route, so the auth guard never sees
them: this wrapper checks the user may control the box and writes each command, with its
outcome, to the user-activity log, as the guard does for REST requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from appliance.ipc import IpcError
from ui.auth.guard import ActivityEntry, Identity
from ui.const import SymbolAction
from ui.supervisor import Supervisor

log = logging.getLogger(__name__)


class ActingSupervisor(Supervisor):
    """The supervisor, asked on behalf of `identity` connected from `address`."""

    def __init__(self, supervisor: Supervisor, identity: Identity, address: str) -> None:
        super().__init__(supervisor.sock)
        self.identity = identity
        self.address = address

    async def start_bot(self, bot: str) -> dict[str, Any]:
        """Start a bot, as this user."""
        return await self._as_user(f"start_bot {bot}", lambda: super(
            ActingSupervisor, self).start_bot(bot))

    async def stop_bot(self, bot: str) -> dict[str, Any]:
        """Stop a bot, as this user."""
        return await self._as_user(f"stop_bot {bot}", lambda: super(
            ActingSupervisor, self).stop_bot(bot))

    async def symbol_action(self, bot: str, symbol: str, action: SymbolAction) -> dict[str, Any]:
        """Change a pair's state, as this user."""
        return await self._as_user(f"{action} {bot} {symbol}", lambda: super(
            ActingSupervisor, self).symbol_action(bot, symbol, action))

    async def _as_user(
        self, action: str, command: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        if not self.identity.may_control:
            await self._note(action, "refused")
            raise IpcError("forbidden", "this needs an operator's or owner's session")
        try:
            answer = await command()
        except IpcError as exc:
            await self._note(action, exc.code)
            raise
        await self._note(action, "ok")
        return answer

    async def _note(self, action: str, outcome: str) -> None:
        entry = ActivityEntry(self.identity.name, self.identity.fingerprint, self.address,
                              action, outcome, {"via": "panel"})
        try:
            await self.record_activity(entry)
        except IpcError as exc:
            log.warning("could not record %s by %r in the activity log: %s", action,
                        entry.actor, exc.message)
