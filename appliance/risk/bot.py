"""The risk guards of one bot: one per symbol, all held to the bot's total exposure."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from appliance.risk.const import SymbolState
from appliance.risk.exposure import Exposure
from appliance.risk.guard import SymbolGuard
from appliance.risk.limits import RiskLimits
from appliance.risk.verdict import StateChange


class BotGuard:
    """Own the guards of a bot's symbols; each starts PAUSED and shares one exposure."""

    def __init__(self, limits: RiskLimits, symbols: Iterable[str]) -> None:
        self.limits = limits
        self.exposure = Exposure()
        self._guards = {symbol: SymbolGuard(symbol, limits, self.exposure) for symbol in symbols}

    def set_limits(self, limits: RiskLimits) -> None:
        """Hold every symbol to new limits from its next order on."""
        self.limits = limits
        for guard in self._guards.values():
            guard.set_limits(limits)

    def guard(self, symbol: str) -> SymbolGuard:
        """Return the guard of one symbol."""
        return self._guards[symbol]

    def states(self) -> dict[str, SymbolState]:
        """Return the state of every symbol."""
        return {symbol: guard.state for symbol, guard in self._guards.items()}

    def total_exposure(self) -> Decimal:
        """Return the quote value of every position together."""
        return self.exposure.total()

    def halt_all(self) -> dict[str, StateChange]:
        """Halt every symbol (the operator's kill switch); return the symbols it changed."""
        changes = {symbol: guard.halt() for symbol, guard in self._guards.items()}
        return {symbol: change for symbol, change in changes.items() if change is not None}
