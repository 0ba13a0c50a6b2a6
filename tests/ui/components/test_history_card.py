"""A history as the settings page shows it: newest first, each version with what it changed."""

from __future__ import annotations

from appliance.config.history import BEFORE_HISTORY, Change, Version
from ui.components.history_card import ConfigChange, change_line, version_views

TARGET = "pair bot-1 sim MTS/USDT"
FIRST = {"strategy": {"kind": "spread", "params": {"half_spread_bps": 10}}, "shadow": False}
SECOND = {"strategy": {"kind": "spread", "params": {"half_spread_bps": 25}}, "shadow": False}


def version(id_: int, ts: float, actor: str, settings: dict[str, object]) -> Version:
    """Return a stored version of the test pair's settings."""
    return Version(id_, ts, actor, "", TARGET, settings)


def test_versions_are_shown_newest_first_each_with_what_it_changed() -> None:
    views = version_views([version(1, 1_700_000_000, BEFORE_HISTORY, FIRST),
                           version(2, 1_700_000_061.5, "carol", SECOND),
                           version(3, 1_700_000_122, "", FIRST)])
    assert [(v.id, v.actor, v.current) for v in views] == [
        (3, "—", True), (2, "carol", False), (1, BEFORE_HISTORY, False)]
    assert views[1].when == "2023-11-14 22:14:21"
    assert views[1].changes == ("strategy.params.half_spread_bps: 10 → 25",)
    assert views[0].changes == ("strategy.params.half_spread_bps: 25 → 10",)
    assert views[2].changes == (
        "shadow: — → false",
        'strategy: — → {"kind": "spread", "params": {"half_spread_bps": 10}}')


def test_a_change_is_written_path_before_and_after_with_a_dash_for_none() -> None:
    assert change_line(Change("strategy.params.order_size", "20", "25.5")) == (
        "strategy.params.order_size: 20 → 25.5")
    assert change_line(Change("strategy.params.step_bps", None, "10")) == (
        "strategy.params.step_bps: — → 10")


def test_the_supervisors_answer_says_the_version_made_and_what_changed() -> None:
    change = ConfigChange.of({"version": 7, "applied": False, "changes": [
        {"path": "max_position", "before": "1000", "after": "800"}]})
    assert change == ConfigChange(7, False, (Change("max_position", "1000", "800"),))
    assert change.summary() == ("Saved as version 7 (the bot takes it when it next starts): "
                                "max_position: 1000 → 800")
    unchanged = ConfigChange.of({"version": None, "applied": False, "changes": []})
    assert unchanged.summary() == "Nothing changed: these are already the settings in force."
