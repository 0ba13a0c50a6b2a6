"""Starting the signer with wrong PINs: each restart counts, and the waits grow."""

from __future__ import annotations

import io
import json

import pytest

from appliance.datadir import DataDir
from hsm.cli import EXIT_LOCKED_OUT, EXIT_WRONG_PIN, main
from hsm.token import Token


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def start(data: DataDir, pin: str, clock: Clock) -> int:
    """Run the signer's start-up in this process with `pin` on its standard input."""
    return main(["--data", str(data.root), "--allow", "0=device"],
                stdin=io.BytesIO(pin.encode() + b"\n"), clock=clock)


def test_restarts_with_wrong_pins_wait_longer_and_longer(
    token: Token, data: DataDir, user_pin: str, caplog: pytest.LogCaptureFixture
) -> None:
    token.close()
    clock = Clock()
    assert [start(data, "wrong-pin", clock) for _ in range(5)] == [EXIT_WRONG_PIN] * 5
    for wait in (2, 4, 8, 16):
        assert start(data, user_pin, clock) == EXIT_LOCKED_OUT
        assert f"(in {wait} s)" in caplog.text
        clock.now += wait - 0.5
        assert start(data, "wrong-pin", clock) == EXIT_LOCKED_OUT
        clock.now += 0.5
        assert start(data, "wrong-pin", clock) == EXIT_WRONG_PIN
    outcomes = [json.loads(line)["outcome"]
                for line in (data.hsm / "audit.log").read_bytes().splitlines()]
    assert outcomes == ["wrong_pin"] * 5 + ["locked_out", "locked_out", "wrong_pin"] * 4
    assert "wrong-pin" not in caplog.text
    assert b"wrong-pin" not in (data.hsm / "pin-guard.json").read_bytes()
