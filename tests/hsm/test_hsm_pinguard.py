"""Wrong PINs are limited by the signer: growing delays, remembered across restarts."""

from __future__ import annotations

import itertools
import json
import stat
from pathlib import Path

import pytest

from hsm.const import PIN_LOCKOUT_MAX
from hsm.pinguard import LockedOut, PinGuard, PinState, lockout_seconds

PIN = "the-user-pin-1234"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def restarted(path: Path, clock: Clock) -> PinGuard:
    """Return the guard a freshly started signer would have."""
    return PinGuard(path, allowed=5, clock=clock)


def test_the_first_wrong_pins_cost_no_delay(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "pin-guard.json"
    for _ in range(4):
        restarted(path, clock).failed()
        restarted(path, clock).check()


def test_after_the_allowed_wrong_pins_delays_double_up_to_an_hour(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "pin-guard.json"
    delays = []
    for _ in range(20):
        state = restarted(path, clock).failed()
        delays.append(state.locked_until - clock.now)
        clock.now = state.locked_until
    assert delays[:4] == [0.0] * 4
    assert delays[4:9] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert delays[-1] == PIN_LOCKOUT_MAX
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_a_lockout_survives_a_restart_and_says_until_when(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "pin-guard.json"
    for _ in range(7):
        restarted(path, clock).failed()
    with pytest.raises(LockedOut, match=r"7 wrong PINs in a row: no login is tried before "
                       r"2027-01-15 08:00:08 UTC \(in 8 s\)") as locked:
        restarted(path, clock).check()
    assert locked.value.until == clock.now + 8
    clock.now += 7.9
    with pytest.raises(LockedOut):
        restarted(path, clock).check()
    clock.now += 0.2
    restarted(path, clock).check()


def test_the_right_pin_forgets_the_wrong_ones(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "pin-guard.json"
    for _ in range(6):
        restarted(path, clock).failed()
    clock.now += 3600
    restarted(path, clock).succeeded()
    assert restarted(path, clock).state() == PinState()
    assert restarted(path, clock).failed().locked_until == clock.now


def test_a_clock_set_back_waits_at_most_the_longest_delay(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "pin-guard.json"
    for _ in range(30):
        restarted(path, clock).failed()
    clock.now -= 86400
    with pytest.raises(LockedOut) as locked:
        restarted(path, clock).check()
    assert locked.value.until == clock.now + PIN_LOCKOUT_MAX


def test_the_state_file_holds_a_count_and_a_time_only(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "pin-guard.json"
    restarted(path, clock).failed()
    assert json.loads(path.read_text()) == {"failures": 1, "locked_until": clock.now}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PIN not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["pin-guard.json"]


def test_an_unreadable_state_file_counts_as_the_allowed_wrong_pins(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "pin-guard.json"
    path.write_text("{not json")
    restarted(path, clock).check()
    assert restarted(path, clock).failed().locked_until == clock.now + 4


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0), (4, 0), (5, 2), (6, 4), (16, 3600),
                                                   (10_000, 3600)])
def test_lockout_seconds(failures: int, seconds: float) -> None:
    assert lockout_seconds(failures, allowed=5) == seconds
