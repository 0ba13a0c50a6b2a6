"""The supervisor's control socket, as the panel calls it to change anything on the box."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from appliance.ipc import IpcClient, IpcError
from ui.const import SUPERVISOR_TIMEOUT, SymbolAction

UNREACHABLE = "unreachable"
"""The error code of a call the supervisor did not answer."""


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

    async def symbol_action(self, bot: str, symbol: str, action: SymbolAction) -> dict[str, Any]:
        """Ask the supervisor to change a pair's state; return {"bot", "symbol", "state"}."""
        result: dict[str, Any] = await self._call(
            "symbol_action", bot=bot, symbol=symbol, action=action.value
        )
        return result

    async def _call(self, op: str, **args: Any) -> Any:
        """Send one request on a fresh connection, within the timeout."""
        client = IpcClient(self.sock)
        try:
            return await asyncio.wait_for(client.call(op, **args), self._timeout)
        except TimeoutError:
            raise IpcError(
                UNREACHABLE,
                f"the supervisor did not answer '{op}' on {self.sock} within {self._timeout:g} s;"
                " check that it is running",
            ) from None
        finally:
            await client.close()
