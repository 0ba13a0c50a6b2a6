"""The alert settings the owner keeps in appliance.db, as one model, checked at every read.

A bad value is reported with the setting's key and what to do, and only that setting falls
back to its default: a broken webhook URL does not silence Telegram.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

from appliance.alerts.const import (
    SETTING_ACTIVATE,
    SETTING_CHATS,
    SETTING_TELEGRAM_API,
    SETTING_WEBHOOK_URL,
)

ChatId = Annotated[int, Field(gt=-(2**52), lt=2**52)]
"""A Telegram chat id: Telegram says at most 52 significant bits."""


class AlertSettings(BaseModel):
    """Where alerts go and what an enrolled Telegram chat may ask."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    telegram_chats: frozenset[ChatId] = Field(
        default=frozenset(),
        description="Telegram chat ids the owner enrolled: they get alerts and only they are "
                    "answered")
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="http(s) URL that receives each alert as a signed JSON POST")
    telegram_activate: bool = Field(
        default=False, description="whether an enrolled chat may /activate a pair")
    telegram_api: AnyHttpUrl | None = Field(
        default=None, description="the Telegram Bot API server to use, e.g. a self-hosted "
                                  "telegram-bot-api; empty for Telegram's own")


KEYS = {"telegram_chats": SETTING_CHATS, "webhook_url": SETTING_WEBHOOK_URL,
        "telegram_activate": SETTING_ACTIVATE, "telegram_api": SETTING_TELEGRAM_API}
"""The settings key of each field."""

HOW = {
    "telegram_chats": "a JSON list of chat ids, e.g. [123456789, -1001234567890]",
    "webhook_url": "an http:// or https:// URL, or empty for none",
    "telegram_activate": "'1' to allow /activate, '0' or empty to refuse it",
    "telegram_api": "an http:// or https:// URL of a Bot API server, or empty for Telegram's",
}


def load_settings(stored: Mapping[str, str]) -> tuple[AlertSettings, list[str]]:
    """Return the alert settings in `stored` and a line per setting that is not valid."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, key in KEYS.items():
        raw = stored.get(key, "").strip()
        if not raw:
            continue
        try:
            value = _decoded(name, raw)
            AlertSettings.model_validate({name: value})
        except (ValueError, ValidationError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            problems.append(f"setting {key} is not valid ({reason}); set it to {HOW[name]}")
            continue
        values[name] = value
    return AlertSettings.model_validate(values), problems


def _decoded(name: str, raw: str) -> Any:
    """Return a stored text as the field's value; raise ValueError when it cannot be one."""
    if name == "telegram_chats":
        chats = json.loads(raw)
        if not isinstance(chats, list) or not all(
                isinstance(chat, int) and not isinstance(chat, bool) for chat in chats):
            raise ValueError("it is not a list of whole numbers")
        return chats
    if name == "telegram_activate":
        if raw not in ("0", "1"):
            raise ValueError(f"{raw!r} is neither '0' nor '1'")
        return raw == "1"
    return raw
