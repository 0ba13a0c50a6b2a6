"""The supervisor's control socket, as the panel calls it to change anything on the box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.ipc import call_once
from ui.auth.guard import ActivityEntry
from ui.const import EXCHANGE_OPS, EXCHANGE_OPS_TIMEOUT, SUPERVISOR_TIMEOUT, SymbolAction


class Supervisor:
    """Ask the supervisor, one short connection per call, so a restarted one is found again."""

    def __init__(self, sock: Path, timeout: float = SUPERVISOR_TIMEOUT) -> None:
        self.sock = sock
        self._timeout = timeout

    async def status(self) -> dict[str, Any]:
        """Return the supervisor's view of its children, or raise IpcError."""
        result: dict[str, Any] = await self._call("status")
        return result

    async def start_bot(self, bot: str) -> dict[str, Any]:
        """Ask the supervisor to enable and start a bot; return its {"bot", "enabled"} answer."""
        result: dict[str, Any] = await self._call("start_bot", bot=bot)
        return result

    async def stop_bot(self, bot: str) -> dict[str, Any]:
        """Ask the supervisor to stop and disable a bot; return its {"bot", "enabled"} answer."""
        result: dict[str, Any] = await self._call("stop_bot", bot=bot)
        return result

    async def symbol_action(self, bot: str, symbol: str, action: SymbolAction, *,
                            actor: str = "", fingerprint: str = "") -> dict[str, Any]:
        """Ask the supervisor to change a pair's state; return {"bot", "symbol", "state"}.

        `actor` and `fingerprint` name the user asking, as the user-activity log does; the bot
        logs the state change with them ('' when the panel does not know the user).
        """
        result: dict[str, Any] = await self._call(
            "symbol_action", bot=bot, symbol=symbol, action=action.value, actor=actor,
            fingerprint=fingerprint,
        )
        return result

    async def ask(self, op: str, **args: Any) -> dict[str, Any]:
        """Ask one of the supervisor's ops (users, tokens, allowlist, settings, exchange accounts
        and pairs); return its answer."""
        if op in EXCHANGE_OPS:
            result = await call_once(self.sock, op, max(self._timeout, EXCHANGE_OPS_TIMEOUT),
                                     **args)
        else:
            result = await self._call(op, **args)
        return result if isinstance(result, dict) else {"result": result}

    async def record_activity(self, entry: ActivityEntry) -> None:
        """Append one line to the user-activity log the supervisor keeps in appliance.db."""
        await self._call("record_activity", actor=entry.actor, fingerprint=entry.fingerprint,
                         address=entry.address, action=entry.action, outcome=entry.outcome,
                         detail=entry.detail)

    async def _call(self, op: str, **args: Any) -> Any:
        """Send one request on a fresh connection, within the timeout."""
        return await call_once(self.sock, op, self._timeout, **args)
