"""What an enrolled Telegram chat may ask: /status, /pause (a pair, a bot's or all), /activate.

Reading a command is a pure function; carrying one out asks the supervisor over its control
socket, as the panel does, and records it in the user-activity log as `telegram:<chat id>`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from appliance.alerts.watch import BoxView
from appliance.ipc import IpcError, call_once

log = logging.getLogger(__name__)

HELP = ("/status: the bots, their pairs and states\n"
        "/pause: pause every pair\n"
        "/pause bot-1: pause bot-1's pairs\n"
        "/pause bot-1 MTS/USDT: pause one pair\n"
        "/activate bot-1 MTS/USDT: resume one pair (if the owner allows it)")

ACTIVATE_OFF = ("/activate is switched off on this box; an owner can allow it in the panel, "
                "or resume the pair there")

_OUTCOME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""What the activity log takes as an outcome."""


class CommandError(Exception):
    """A message that is not a command this bot knows; the text says how to ask."""


@dataclass(frozen=True)
class Command:
    """One command: its name and, for /pause and /activate, which pairs."""

    name: str
    bot: str | None = None
    symbol: str | None = None


def parse_command(text: str, username: str) -> Command | None:
    """Return the command a message asks for; None when it is no command, or for another bot.

    Raise CommandError for a command this bot does not know or with the wrong arguments.
    """
    words = text.split()
    if not words or not words[0].startswith("/"):
        return None
    name, _, addressee = words[0][1:].partition("@")
    if addressee and addressee.lower() != username.lower():
        return None
    name, args = name.lower(), words[1:]
    if name in ("help", "start") or (name == "status" and not args):
        return Command("help" if name != "status" else "status")
    if name == "pause" and len(args) <= 2:
        if args in (["all"], []):
            return Command("pause")
        return Command("pause", *args)
    if name == "activate" and len(args) == 2:
        return Command("activate", *args)
    raise CommandError(f"I do not know {words[0]} with {len(args)} word(s) after it.\n{HELP}")


def status_text(view: BoxView) -> str:
    """Return the bots, their pairs and states, as /status answers."""
    lines: list[str] = []
    for bot in view.bots:
        process = view.processes.get(bot)
        state = process.state if process else "UNKNOWN"
        detail = f" ({process.detail})" if process and process.detail else ""
        lines.append(f"{bot}: {state}{detail}")
        for pair in (pair for pair in view.pairs if pair.bot == bot):
            status = view.state(bot, pair.symbol)
            why = f": {status.reason}" if status.reason else ""
            shadow = " shadow" if pair.shadow else ""
            lines.append(f"  {pair.symbol} on {pair.exchange}{shadow}: {status.state.name}{why}")
    return "\n".join(lines) or "no bot is set up on this box yet"


class ChatCommands:
    """Carry out a command for one enrolled chat and return the answer to send back."""

    def __init__(self, control_sock: Path, timeout: float) -> None:
        self._sock = control_sock
        self._timeout = timeout

    async def answer(self, chat_id: int, command: Command, view: BoxView) -> str:
        """Return the answer to a command, after asking the supervisor when it changes a pair."""
        if command.name == "status":
            return status_text(view)
        if command.name == "help":
            return HELP
        if command.name == "activate" and not view.settings.telegram_activate:
            return ACTIVATE_OFF
        pairs = _pairs(view, command)
        if isinstance(pairs, str):
            return pairs
        lines = await asyncio.gather(*(self._act(chat_id, command.name, bot, symbol)
                                       for bot, symbol in pairs))
        return "\n".join(lines)

    async def _act(self, chat_id: int, action: str, bot: str, symbol: str) -> str:
        """Ask the supervisor for one pair's action; log it; return the answer's line."""
        actor = f"telegram:{chat_id}"
        try:
            result = await call_once(self._sock, "symbol_action", self._timeout, bot=bot,
                                     symbol=symbol, action=action, actor=actor)
        except IpcError as exc:
            await self._record(actor, action, bot, symbol, exc.code)
            return f"{bot} {symbol}: not done: {exc.message}"
        await self._record(actor, action, bot, symbol, "ok")
        state = result.get("state", "?") if isinstance(result, dict) else "?"
        return f"{bot} {symbol}: {state}"

    async def _record(self, actor: str, action: str, bot: str, symbol: str,
                      outcome: str) -> None:
        """Write the command to the user-activity log; a failure to do so is only logged."""
        try:
            await call_once(self._sock, "record_activity", self._timeout, actor=actor,
                            fingerprint="", address="", action=f"telegram /{action} {bot} {symbol}",
                            outcome=outcome if _OUTCOME.fullmatch(outcome) else "failed",
                            detail={"bot": bot, "symbol": symbol})
        except IpcError as exc:
            log.warning("could not record %s's /%s of %s %s in the activity log: %s", actor,
                        action, bot, symbol, exc.message)


def _pairs(view: BoxView, command: Command) -> list[tuple[str, str]] | str:
    """Return the (bot, symbol) pairs a command names, or why it names none."""
    known = list(dict.fromkeys((pair.bot, pair.symbol) for pair in view.pairs))
    if command.bot is None:
        return known or "no pair is set up on this box yet"
    if command.bot not in view.bots:
        return f"there is no bot {command.bot}; the bots are {', '.join(view.bots) or 'none'}"
    wanted = command.symbol.upper() if command.symbol else None
    chosen = [(bot, symbol) for bot, symbol in known
              if bot == command.bot and wanted in (None, symbol.upper())]
    if not chosen:
        what = f"pair {command.symbol}" if command.symbol else "pair"
        return f"{command.bot} has no {what}; /status lists the pairs"
    return chosen
