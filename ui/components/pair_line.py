"""One pair on a bot's card: its market, its trading state and why, and the state buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui

from appliance.ipc import IpcError
from appliance.risk.const import SymbolState
from ui.components.formats import clock
from ui.const import ACTION_FROM, SymbolAction
from ui.snapshot import PairView
from ui.supervisor import Supervisor

STATE_COLORS = {
    SymbolState.ACTIVE: "positive", SymbolState.PAUSED: "orange-8", SymbolState.HALTED: "negative",
}
"""The badge colour of each of a pair's trading states."""


@dataclass(frozen=True)
class ActionButton:
    """How an action's button looks: its text, its icon, and its colour while offered."""

    text: str
    icon: str
    color: str


ACTION_BUTTONS = {
    SymbolAction.ACTIVATE: ActionButton("Activate", "play_arrow", "positive"),
    SymbolAction.PAUSE: ActionButton("Pause", "pause", "orange-8"),
    SymbolAction.CLEAR_HALT: ActionButton("Clear halt", "lock_open", "negative"),
}

NOT_OFFERED_COLOR = "grey-6"
"""The colour of a button whose action the pair's state or its bot does not allow now."""


def market_text(pair: PairView) -> str:
    """Return where and how the pair is quoted."""
    return f"on {pair.exchange} · {pair.strategy}{' (shadow)' if pair.shadow else ''}"


def state_text(pair: PairView) -> str:
    """Return why the pair is in its state, since when, and its latest risk trip."""
    parts = [pair.reason] if pair.reason else []
    if pair.since is not None:
        parts.append(f"since {clock(pair.since)} UTC")
    if pair.trip:
        parts.append(f"last trip: {pair.trip}")
    return " · ".join(parts)


class PairLine(ui.row):
    """A pair as the operator sees it; `show` updates it in place from a snapshot."""

    def __init__(self, bot: str, symbol: str, supervisor: Supervisor) -> None:
        super().__init__(align_items="center")
        self.bot = bot
        self.symbol = symbol
        self._supervisor = supervisor
        self.classes("w-full gap-2").mark(f"{bot}-{symbol}")
        with self:
            ui.label(symbol).classes("text-body2 text-weight-medium")
            self._market = ui.label().classes("text-caption text-grey-7 text-no-wrap")
            self._state = ui.badge()
            self._why = ui.label().classes("text-caption text-grey-8 ellipsis col min-w-48")
            with self._why:
                self._why_tooltip = ui.tooltip()
            with ui.row(wrap=False).classes("gap-1 ml-auto"):
                self._buttons = {
                    action: ui.button(look.text, icon=look.icon, on_click=self._sender(action))
                    .props("flat dense no-caps size=sm")
                    for action, look in ACTION_BUTTONS.items()
                }

    def _sender(self, action: SymbolAction) -> Callable[[], Awaitable[None]]:
        """Return a click handler that asks the supervisor for one action on this pair."""

        async def send() -> None:
            name = f"{self.bot} {self.symbol}"
            try:
                answer = await self._supervisor.symbol_action(self.bot, self.symbol, action)
            except IpcError as exc:
                ui.notify(f"{name}: {exc.message}", type="negative", multi_line=True)
                return
            ui.notify(f"{name} is now {answer['state']}", type="positive")

        return send

    def show(self, pair: PairView, running: bool) -> None:
        """Show a fresh snapshot of the pair; offer only the actions its state and bot allow."""
        self._market.set_text(market_text(pair))
        self._state.set_text(pair.state.name)
        self._state.set_background_color(STATE_COLORS[pair.state])
        why = state_text(pair)
        self._why.set_text(why)
        self._why_tooltip.set_text(why)
        for action, button in self._buttons.items():
            offered = running and pair.state == ACTION_FROM[action]
            button.set_enabled(offered)
            button.set_background_color(ACTION_BUTTONS[action].color if offered
                                        else NOT_OFFERED_COLOR)
