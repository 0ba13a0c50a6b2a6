"""The alert settings: each checked on its own, a bad one named with what to set instead."""

from __future__ import annotations

import pytest

from appliance.alerts.validate import AlertSettings, load_settings


def test_the_stored_settings_are_read() -> None:
    settings, problems = load_settings({
        "alerts_telegram_chats": "[424242, -1001234567890]",
        "alerts_webhook_url": "https://hooks.example.com/mmbox",
        "alerts_telegram_activate": "1", "asset": "MTS"})
    assert problems == []
    assert settings.telegram_chats == {424242, -1001234567890}
    assert str(settings.webhook_url) == "https://hooks.example.com/mmbox"
    assert settings.telegram_activate is True


def test_nothing_stored_means_no_chat_no_webhook_and_no_activate() -> None:
    assert load_settings({}) == (AlertSettings(), [])
    assert load_settings({"alerts_webhook_url": "", "alerts_telegram_chats": " "}) == (
        AlertSettings(), [])


@pytest.mark.parametrize(("key", "value", "says"), [
    ("alerts_telegram_chats", "424242", "a JSON list of chat ids"),
    ("alerts_telegram_chats", '["424242"]', "a JSON list of chat ids"),
    ("alerts_telegram_chats", "[true]", "a JSON list of chat ids"),
    ("alerts_telegram_chats", "[1,", "a JSON list of chat ids"),
    ("alerts_webhook_url", "ftp://example.com/hook", "an http:// or https:// URL"),
    ("alerts_webhook_url", "hooks.example.com", "an http:// or https:// URL"),
    ("alerts_telegram_activate", "yes", "'1' to allow /activate"),
])
def test_a_bad_setting_is_named_and_only_it_falls_back(key: str, value: str, says: str) -> None:
    good = {"alerts_telegram_chats": "[7]", "alerts_webhook_url": "http://10.0.0.2/h",
            "alerts_telegram_activate": "1"}
    settings, (problem,) = load_settings(good | {key: value})
    assert problem.startswith(f"setting {key} is not valid (") and says in problem
    field = {"alerts_telegram_chats": "telegram_chats", "alerts_webhook_url": "webhook_url",
             "alerts_telegram_activate": "telegram_activate"}[key]
    assert getattr(settings, field) == AlertSettings.model_fields[field].default
    kept = {name for name in ("telegram_chats", "webhook_url", "telegram_activate")
            if getattr(settings, name) != AlertSettings.model_fields[name].default}
    assert kept == {"telegram_chats", "webhook_url", "telegram_activate"} - {field}
