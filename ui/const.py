"""Names and defaults of the operator panel."""

from __future__ import annotations

from enum import StrEnum

from appliance.risk.const import SymbolState

DEFAULT_HOST = "127.0.0.1"
"""Where the panel listens unless appliance.db's `panel_host` or --host says otherwise."""

DEFAULT_PORT = 8080
"""The port the panel listens on unless appliance.db's `panel_port` or --port says otherwise."""

REFRESH_SECONDS = 1.0
"""How often an open dashboard folds in new events and asks after the supervisor."""

RECENT_FILLS = 20
"""How many of a bot's newest fills the panel shows."""

RECENT_REQUESTS = 20
"""How many of a bot's newest exchange requests its card shows."""

API_LOG_LIMIT = 50
"""How many exchange requests `/api/bots/{bot}/api-log` returns unless `?limit=` says otherwise."""

API_LOG_MAX_LIMIT = 500
"""The most exchange requests one answer carries, and the fewest the panel keeps per bot."""

API_LOG_WINDOW = 60.0
"""The span, in seconds, of a bot's request summary: the exchange's used weight is per minute."""

SUPERVISOR_TIMEOUT = 3.0
"""How long the panel waits for the supervisor to answer one control request."""

STATE_UNKNOWN = "UNKNOWN"
"""A bot's state while the supervisor has not recorded its process yet."""


class LogState(StrEnum):
    """How far the panel got with one of a bot's logs (events.db, api.log)."""

    READ = "read"
    MISSING = "missing"  # the bot has not written it yet
    UNREADABLE = "unreadable"


class SymbolAction(StrEnum):
    """What the operator may ask of one pair, as the supervisor's `symbol_action` names it."""

    ACTIVATE = "activate"
    PAUSE = "pause"
    CLEAR_HALT = "clear_halt"


ACTION_FROM = {
    SymbolAction.ACTIVATE: SymbolState.PAUSED,
    SymbolAction.PAUSE: SymbolState.ACTIVE,
    SymbolAction.CLEAR_HALT: SymbolState.HALTED,
}
"""The one state in which each action means something; the panel offers it only then."""
EXCHANGE_OPS_TIMEOUT = 60.0
"""How long the panel waits for a supervisor op that talks to an exchange (testing an account,
adding or removing one or a pair): longer than the supervisor's own wait for the bot."""
EXCHANGE_OPS = frozenset({"exchange_test", "exchange_add", "exchange_keygen", "exchange_remove",
                          "pair_add", "pair_remove", "account_view"})
