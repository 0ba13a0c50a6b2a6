"""The trade tape: bounded, latest price, volume over a trailing window."""

from __future__ import annotations

import pytest

from appliance.market.tape import TradeTape
from appliance.vocabulary import Side


def test_the_tape_keeps_only_the_latest_trades() -> None:
    tape = TradeTape(capacity=3)
    assert tape.last is None and tape.last_price is None
    for i in range(5):
        tape.record(float(i), 100 + i, 1, Side.BUY)
    assert len(tape) == 3
    assert tape.last_price == 104
    assert tape.volume(10.0, 100.0) == 3


def test_volume_counts_the_window_up_to_now_without_its_start() -> None:
    tape = TradeTape()
    tape.record(1.0, 100, 2, Side.BUY)
    tape.record(2.0, 101, 3, Side.SELL)
    tape.record(3.0, 99, 5, Side.SELL)
    assert tape.volume(3.0, 1.0) == 5
    assert tape.volume(3.0, 1.5) == 8
    assert tape.volume(3.0, 2.0) == 8
    assert tape.volume(3.0, 2.5) == 10
    assert tape.volume(10.0, 5.0) == 0
    assert tape.last is not None and tape.last.taker_side is Side.SELL


def test_a_tape_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one trade"):
        TradeTape(capacity=0)
