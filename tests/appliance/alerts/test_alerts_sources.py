"""The sources: each condition alerts once when it begins, not at every poll, and never twice
across a restart of the alerts process."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from appliance.alerts.alert import Alert, AlertKind
from appliance.alerts.const import Timing
from appliance.alerts.sources.pin_lockout import PinLockoutWatch
from appliance.alerts.watch import Watch
from appliance.datadir import DataDir
from appliance.risk.const import SymbolState, TripKind
from appliance.store.appliance_db import ProcessStatus
from appliance.store.events import BotStateChanged, BotStatus, QuotesChosen, SymbolStateChanged
from hsm.client import SignerClient
from hsm.const import OPERATOR_PIN_GUARD_FILE, PIN_GUARD_FILE
from hsm.pinguard import PinGuard
from tests.appliance.alerts.alert_box import append, put, record_activity, set_process, trip

TIMING = Timing(stale_quotes_s=1e9)
"""Default timings, but quotes never stale: the tests that look ahead in time see no more."""
STALE = Timing(stale_quotes_s=60.0)


def watching(data: DataDir, timing: Timing = TIMING) -> Watch:
    """Return a watch that has read the box once (its starting point)."""
    watch = Watch(data, timing, time.time())
    assert watch.poll(time.time()) == []
    return watch


def kinds(alerts: list[Alert]) -> list[AlertKind]:
    """Return the kinds of some alerts, in order."""
    return [alert.kind for alert in alerts]


def polls(watch: Watch, times: int = 3, now: float | None = None) -> list[Alert]:
    """Poll several times; return every alert found."""
    found: list[Alert] = []
    for _ in range(times):
        found += watch.poll(time.time() if now is None else now)
    return found


def test_what_happened_before_the_first_start_does_not_alert(data: DataDir) -> None:
    trip(data, "bot-1", TripKind.DRAWDOWN, "equity 12% below its peak", SymbolState.HALTED)
    for _ in range(5):
        record_activity(data, "login_failed", "wrong_pin")
    watch = watching(data)
    assert polls(watch) == []
    assert watch.view.state("bot-1", "MTS/USDT").state is SymbolState.HALTED


def test_a_risk_trip_alerts_once(data: DataDir) -> None:
    watch = watching(data)
    seq = trip(data, "bot-2", TripKind.INSUFFICIENT_BALANCE, "BTC 0.001 short")
    (alert,) = polls(watch)
    assert (alert.id, alert.kind, alert.bot, alert.symbol) == (
        f"bot-2:event:{seq}", AlertKind.RISK_TRIP, "bot-2", "MTS/BTC")
    assert "insufficient_balance: BTC 0.001 short; PAUSED" in alert.text


def test_a_halt_alerts_once_and_a_restart_that_keeps_it_does_not_alert_again(
        data: DataDir) -> None:
    watch = watching(data)
    append(data, "bot-1", "MTS/USDT", SymbolStateChanged(SymbolState.HALTED, "asset not MTS"))
    assert kinds(polls(watch)) == [AlertKind.SYMBOL_HALTED]
    append(data, "bot-1", "", BotStateChanged(BotStatus.STOPPED))
    append(data, "bot-1", "", BotStateChanged(BotStatus.RUNNING))
    append(data, "bot-1", "MTS/USDT", SymbolStateChanged(
        SymbolState.HALTED, "halted before the restart; clear the halt"))
    assert polls(watch) == []
    append(data, "bot-1", "MTS/USDT", SymbolStateChanged(SymbolState.PAUSED, "operator: clear"))
    append(data, "bot-1", "MTS/USDT", SymbolStateChanged(SymbolState.HALTED, "asset not MTS"))
    assert kinds(polls(watch)) == [AlertKind.SYMBOL_HALTED]


def test_a_burst_of_failed_logins_alerts_once_until_a_quiet_window(data: DataDir) -> None:
    watch = watching(data)
    for _ in range(TIMING.failed_logins - 1):
        record_activity(data, "login_failed", "wrong_pin", "10.0.0.66")
    assert polls(watch) == []
    record_activity(data, "unlock", "wrong_pin", "10.0.0.67")
    (alert,) = polls(watch)
    assert alert.kind is AlertKind.FAILED_LOGINS
    assert "5 failed logins in 5 min, from 10.0.0.66, 10.0.0.67" in alert.text
    for _ in range(10):
        record_activity(data, "login_failed", "not_enrolled", "10.0.0.66")
        assert watch.poll(time.time()) == []
    quiet = time.time() + TIMING.failed_logins_window_s + 1
    assert watch.poll(quiet) == []
    for _ in range(TIMING.failed_logins):
        record_activity(data, "login_failed", "wrong_pin", ts=quiet)
    assert kinds(polls(watch, now=quiet)) == [AlertKind.FAILED_LOGINS]


def test_failures_spread_wider_than_the_window_do_not_alert(data: DataDir) -> None:
    watch = watching(data)
    later = time.time()
    for _ in range(2 * TIMING.failed_logins):
        later += TIMING.failed_logins_window_s / 2
        record_activity(data, "login_failed", "wrong_pin", ts=later)
        assert watch.poll(later) == []


def test_each_unlock_alerts(data: DataDir) -> None:
    watch = watching(data)
    record_activity(data, "login", "ok", actor="alice")
    record_activity(data, "unlock", "ok", actor="alice", address="192.168.1.20")
    (alert,) = polls(watch)
    assert alert.kind is AlertKind.UNLOCKED
    assert "unlocked by alice from 192.168.1.20" in alert.text


def test_a_crash_loop_alerts_once_and_halted_once(data: DataDir) -> None:
    watch = watching(data)
    now = time.time()
    for restarts in range(1, TIMING.restarts + 3):
        set_process(data, ProcessStatus("bot-2", "BACKOFF", None, restarts, now + restarts,
                                        f"exited with 1; restarting in {restarts} s"))
        found = polls(watch)
        set_process(data, ProcessStatus("bot-2", "RUNNING", 77, restarts, now + restarts + 0.5))
        found += polls(watch)
        assert kinds(found) == ([AlertKind.CRASH_LOOP] if restarts == TIMING.restarts else [])
    set_process(data, ProcessStatus("bot-2", "HALTED", None, 9, now + 20,
                                    "exited with 1; 5 deaths in a row"))
    (alert,) = polls(watch, times=5)
    assert alert.kind is AlertKind.PROCESS_HALTED
    assert alert.text == "bot-2 HALTED after a crash loop: exited with 1; 5 deaths in a row"


def test_restarts_spread_wider_than_the_window_are_no_crash_loop(data: DataDir) -> None:
    watch = watching(data)
    now = time.time()
    for restarts in range(1, 2 * TIMING.restarts):
        set_process(data, ProcessStatus("signer", "RUNNING", 5, restarts, now + restarts))
        later = now + restarts * TIMING.restarts_window_s / 2
        assert watch.poll(later) == []


def test_a_pin_lockout_alerts_once_and_again_when_the_wrong_pins_double(
        data: DataDir) -> None:
    data.hsm.mkdir(parents=True, exist_ok=True)
    watch = watching(data)
    guard = PinGuard(data.hsm / PIN_GUARD_FILE, allowed=2)
    guard.failed()
    assert polls(watch) == []
    guard.failed()
    (alert,) = polls(watch)
    assert alert.kind is AlertKind.PIN_LOCKOUT
    assert "2 wrong PINs in a row for the box token" in alert.text
    guard.failed()
    assert polls(watch, now=time.time() + 10) == [], "3 wrong PINs, not yet twice 2"
    guard.failed()
    assert kinds(polls(watch)) == [AlertKind.PIN_LOCKOUT]
    guard.succeeded()
    assert polls(watch) == []
    operators = PinGuard(data.hsm / OPERATOR_PIN_GUARD_FILE, allowed=1)
    operators.failed()
    (alert,) = polls(watch)
    assert "for operators' USB keys" in alert.text


def test_quotes_that_stop_while_the_bot_runs_alert_once(data: DataDir) -> None:
    quotes = QuotesChosen(Decimal("1.00"), (), ())
    append(data, "bot-1", "MTS/USDT", quotes)
    watch = watching(data, STALE)
    append(data, "bot-1", "MTS/USDT", quotes)
    assert watch.poll(time.time()) == []
    late = time.time() + STALE.stale_quotes_s + 1
    stale = polls(watch, now=late)
    assert [(a.kind, a.bot, a.symbol) for a in stale] == [
        (AlertKind.STALE_DATA, "bot-1", "MTS/USDT"), (AlertKind.STALE_DATA, "bot-2", "MTS/BTC")]
    assert "no new quotes for 61 s while the bot runs" in stale[0].text
    assert watch.poll(late + 100) == []
    append(data, "bot-1", "MTS/USDT", quotes)
    fresh_again = polls(watch, now=late + 200)
    assert [(a.kind, a.bot) for a in fresh_again] == [(AlertKind.STALE_DATA, "bot-1")]


def test_a_stopped_bot_or_a_halted_pair_is_not_stale(data: DataDir) -> None:
    set_process(data, ProcessStatus("bot-2", "STOPPED", None, 0, time.time()))
    trip(data, "bot-1", TripKind.REJECT_STORM, "12 rejects", SymbolState.HALTED)
    watch = watching(data, STALE)
    assert polls(watch, now=time.time() + STALE.stale_quotes_s * 10) == []


def test_after_a_restart_nothing_alerts_twice_and_nothing_is_missed(data: DataDir) -> None:
    watch = watching(data)
    trip(data, "bot-1", TripKind.POSITION, "position 1200 above 1000")
    assert len(polls(watch)) == 1
    watch.save()
    watch.close()
    missed = trip(data, "bot-2", TripKind.CROSSED_BOOK, "bid above ask")
    record_activity(data, "unlock", "ok")
    again = Watch(data, TIMING, time.time())
    found = polls(again)
    assert [(a.kind, a.id) for a in found] == [
        (AlertKind.RISK_TRIP, f"bot-2:event:{missed}"), (AlertKind.UNLOCKED, found[1].id)]
    saved = json.loads((data.root / "alerts" / "bookmarks.json").read_text())
    assert set(saved) == {"activity", "events", "license", "pins", "processes", "stale"}


def test_a_bad_setting_is_reported_and_the_others_still_apply(
        data: DataDir, caplog: pytest.LogCaptureFixture) -> None:
    put(data, "alerts_telegram_chats", "[424242, -100777]")
    put(data, "alerts_webhook_url", "ftp://example.com/hook")
    watch = watching(data)
    assert watch.view.settings.telegram_chats == {424242, -100777}
    assert watch.view.settings.webhook_url is None
    assert "setting alerts_webhook_url is not valid" in caplog.text


def test_a_pin_lockout_is_read_from_the_signer_when_its_folder_is_not_readable(
        data: DataDir, box_signer: SignerClient, tmp_path: Path) -> None:
    """On a box the alerts process runs under its own uid; the signer's status tells it."""
    guard = PinGuard(data.hsm / PIN_GUARD_FILE, allowed=1)
    guard.failed()
    elsewhere = tmp_path / "not-the-signers-folder"
    blind = PinLockoutWatch(elsewhere, None)
    assert blind.poll(time.time()) == [], "without the signer nothing tells of the lockout"
    told = PinLockoutWatch(elsewhere, None, lambda: box_signer.call("status"))
    (alert,) = told.poll(time.time())
    assert alert.kind is AlertKind.PIN_LOCKOUT and "for the box token" in alert.text
