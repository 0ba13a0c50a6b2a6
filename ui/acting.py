"""The supervisor and the owner's access work as one logged-in user's page calls them: each
command is theirs, and recorded.

A page's buttons act over its socket, not through a REST route, so the auth guard never sees
them: these wrappers check the user may do what they ask and write each command, with its
outcome, to the user-activity log, as the guard does for REST requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from appliance.ipc import IpcError
from ui.access_admin import (
    AccessAction,
    AccessAdmin,
    AccessChange,
    AccessRefused,
    AllowlistRequest,
    EnrolRequest,
    TokenRequest,
)
from ui.auth.guard import ActivityEntry, Identity
from ui.const import SymbolAction
from ui.panel import Panel
from ui.supervisor import Supervisor

log = logging.getLogger(__name__)


async def record(supervisor: Supervisor, identity: Identity, address: str, action: str,
                 outcome: str, detail: dict[str, Any]) -> None:
    """Write a command asked on a page by `identity` from `address` to the activity log.

    The command is done or refused already, so a log that cannot take it is only warned of.
    """
    entry = ActivityEntry(identity.name, identity.fingerprint, address, action, outcome,
                          {"via": "panel", **detail})
    try:
        await supervisor.record_activity(entry)
    except IpcError as exc:
        log.warning("could not record %s by %r in the activity log: %s", action,
                    entry.actor, exc.message)


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

    async def symbol_action(self, bot: str, symbol: str, action: SymbolAction, *,
                            actor: str = "", fingerprint: str = "") -> dict[str, Any]:
        """Change a pair's state, as this user: the bot logs the change with their name and key.

        `actor` and `fingerprint` are ignored: the user is this supervisor's `identity`.
        """
        return await self._as_user(f"{action} {bot} {symbol}", lambda: super(
            ActingSupervisor, self).symbol_action(bot, symbol, action, actor=self.identity.name,
                                                  fingerprint=self.identity.fingerprint))

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
        await record(self, self.identity, self.address, action, outcome, {})


class ActingAdmin(AccessAdmin):
    """The owner's access changes asked from the page by `identity` connected from `address`."""

    def __init__(self, panel: Panel, identity: Identity, address: str) -> None:
        super().__init__(panel)
        self.identity = identity
        self.address = address

    async def enrol(self, form: EnrolRequest) -> AccessChange:
        """Enrol a key, as this user."""
        return await self._as_owner(AccessAction.USER_ENROL, lambda: super(
            ActingAdmin, self).enrol(form))

    async def revoke_user(self, fingerprint: str) -> AccessChange:
        """Revoke a user, as this user."""
        return await self._as_owner(AccessAction.USER_REVOKE, lambda: super(
            ActingAdmin, self).revoke_user(fingerprint))

    async def create_token(self, form: TokenRequest, creator: str) -> AccessChange:
        """Create an API token, as this user."""
        return await self._as_owner(AccessAction.TOKEN_CREATE, lambda: super(
            ActingAdmin, self).create_token(form, creator))

    async def revoke_token(self, token_id: str) -> AccessChange:
        """Revoke an API token, as this user."""
        return await self._as_owner(AccessAction.TOKEN_REVOKE, lambda: super(
            ActingAdmin, self).revoke_token(token_id))

    async def propose_allowlist(
        self, form: AllowlistRequest, address: str, author: str
    ) -> AccessChange:
        """Replace the allowlist, as this user."""
        return await self._as_owner(AccessAction.ALLOWLIST_PROPOSE, lambda: super(
            ActingAdmin, self).propose_allowlist(form, address, author))

    async def confirm_allowlist(self, address: str) -> AccessChange:
        """Keep the allowlist change, as this user."""
        return await self._as_owner(AccessAction.ALLOWLIST_CONFIRM, lambda: super(
            ActingAdmin, self).confirm_allowlist(address))

    async def _as_owner(
        self, action: AccessAction, command: Callable[[], Awaitable[AccessChange]]
    ) -> AccessChange:
        if not self.identity.is_owner:
            await self._note(action, "refused", {})
            raise AccessRefused(403, "forbidden", "only an owner may do this; log in with an "
                                "owner's key")
        try:
            change = await command()
        except AccessRefused as exc:
            await self._note(action, exc.code, {})
            raise
        await self._note(action, "ok", change.detail)
        return change

    async def _note(self, action: AccessAction, outcome: str, detail: dict[str, Any]) -> None:
        await record(self.panel.supervisor, self.identity, self.address, str(action), outcome,
                     detail)
