"""Names and defaults of the alerts process."""

from __future__ import annotations

from dataclasses import dataclass

TELEGRAM_TOKEN_LABEL = "alerts.telegram.token"
"""The token credential holding the Telegram bot token."""
WEBHOOK_SECRET_LABEL = "alerts.webhook.secret"
"""The token credential holding the webhook's HMAC key."""

TELEGRAM_API = "https://api.telegram.org/bot"
"""Where the Telegram Bot API lives; the bot token follows it in each request's path."""

SIGNATURE_HEADER = "X-MMBox-Signature"
"""The webhook header carrying `sha256=<hex HMAC-SHA256 of the body>`."""

STATE_FOLDER = "alerts"
"""The alerts process's own folder in the data directory: where each source stopped reading."""

QUEUE_LIMIT = 1000
"""Messages a channel keeps while it is down; past this the oldest are dropped (and logged)."""

TELEGRAM_TEXT_MAX = 4000
"""The longest message sent to Telegram (its limit is 4096 characters)."""

ACTIVITY_PAGE = 500
"""Activity records read per query."""


@dataclass(frozen=True)
class Timing:
    """How often the process looks, how long it waits, and when a condition alerts."""

    poll_s: float = 0.5
    """Between two looks at the stores (and the alert settings): a trip reaches the channels
    within about this."""
    bookmark_every_s: float = 5.0
    """Between two saves of where each source stopped reading (saved on exit too)."""
    retry_first_s: float = 1.0
    retry_cap_s: float = 60.0
    """A failed delivery is retried after 1, 2, 4... seconds, at most the cap."""
    credential_retry_s: float = 15.0
    """Between two tries to read a missing bot token or webhook key from the token."""
    telegram_burst: int = 20
    telegram_per_s: float = 1.0
    """Telegram takes about one message a second to a chat; a burst goes out at once."""
    webhook_burst: int = 20
    webhook_per_s: float = 5.0
    long_poll_s: float = 25.0
    """How long one getUpdates waits for a command."""
    command_max_age_s: float = 120.0
    """A command older than this (sent while the box could not read it) is not carried out."""
    supervisor_timeout_s: float = 15.0
    """How long a command waits for the supervisor (a pause cancels the pair's orders first)."""
    stale_quotes_s: float = 300.0
    """A running bot that chose no quotes for a pair this long has stale market data."""
    failed_logins: int = 5
    failed_logins_window_s: float = 300.0
    """This many failed logins or unlocks within the window alert once, until a quiet window."""
    restarts: int = 3
    restarts_window_s: float = 600.0
    """A process restarted this many times within the window is crash looping."""


SETTING_CHATS = "alerts_telegram_chats"
SETTING_WEBHOOK_URL = "alerts_webhook_url"
SETTING_ACTIVATE = "alerts_telegram_activate"
SETTING_TELEGRAM_API = "alerts_telegram_api"
"""The keys of the alert settings in appliance.db's `settings`."""
