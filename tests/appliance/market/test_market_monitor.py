"""The market monitor: health of the data, and the others' market once own orders are out."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.market.book import BookGap
from appliance.market.monitor import MarketHealth, MarketMonitor
from appliance.market.view import others_best
from appliance.vocabulary import Level, Side

BIDS = [(100, 4), (99, 3), (98, 7)]
ASKS = [(102, 2), (103, 5), (104, 1)]


def monitor_at(now: float) -> MarketMonitor:
    monitor = MarketMonitor("MTS/USDT", volatility_window_s=10.0, volatility_halflife_s=5.0)
    monitor.on_snapshot(now, 10, BIDS, ASKS)
    return monitor


def test_health_turns_stale_exactly_at_the_threshold() -> None:
    monitor = monitor_at(100.0)
    assert monitor.health(102.25, stale_after_s=2.5) is MarketHealth.OK
    assert monitor.health(102.5, stale_after_s=2.5) is MarketHealth.STALE
    monitor.on_delta(102.5, 11, 11, [(100, 5)], [])
    assert monitor.health(102.5, stale_after_s=2.5) is MarketHealth.OK


def test_a_delta_older_than_the_book_does_not_refresh_it() -> None:
    monitor = monitor_at(100.0)
    assert not monitor.on_delta(105.0, 8, 10, [(101, 1)], [])
    assert monitor.health(105.0, stale_after_s=5.0) is MarketHealth.STALE
    assert monitor.age(105.0) == 5.0


def test_health_before_any_data_is_stale() -> None:
    monitor = MarketMonitor("MTS/USDT")
    assert monitor.age(0.0) == math.inf
    assert monitor.health(0.0, stale_after_s=5.0) is MarketHealth.STALE
    assert monitor.view(0.0) is None


def test_health_reports_a_missing_side_and_a_crossed_book() -> None:
    monitor = monitor_at(100.0)
    monitor.on_delta(100.5, 11, 11, [], [(102, 0), (103, 0), (104, 0)])
    assert monitor.health(100.5, stale_after_s=5.0) is MarketHealth.EMPTY
    monitor.on_delta(101.0, 12, 12, [], [(100, 1)])
    assert monitor.health(101.0, stale_after_s=5.0) is MarketHealth.CROSSED


def test_a_gap_empties_the_book_until_a_snapshot_arrives() -> None:
    monitor = monitor_at(100.0)
    with pytest.raises(BookGap):
        monitor.on_delta(100.5, 13, 14, [], [])
    assert monitor.health(100.5, stale_after_s=5.0) is MarketHealth.EMPTY
    assert monitor.view(100.5) is None
    monitor.on_snapshot(101.0, 14, BIDS, ASKS)
    assert monitor.health(101.0, stale_after_s=5.0) is MarketHealth.OK


def test_the_view_carries_sizes_age_and_volatility() -> None:
    monitor = monitor_at(100.0)
    for i in range(1, 6):
        monitor.on_delta(100.0 + i, 10 + i, 10 + i, [(101, 1)] if i % 2 else [(101, 0)], [])
    view = monitor.view(107.5)
    assert view is not None
    assert (view.best_bid, view.best_ask, view.bid_lots, view.ask_lots) == (101, 102, 1, 2)
    assert view.age == 2.5
    assert view.volatility_bps == monitor.rolling.bps > 0.0
    assert monitor.ewma.bps > 0.0
    assert view.microprice == Fraction(101 * 2 + 102 * 1, 3)


def test_own_orders_are_taken_out_before_the_best_prices() -> None:
    monitor = monitor_at(100.0)
    view = monitor.view(100.0, own_bids=[(100, 4), (99, 1)], own_asks=[(102, 1), (110, 9)])
    assert view is not None
    assert (view.best_bid, view.bid_lots, view.best_ask, view.ask_lots) == (99, 2, 102, 1)
    assert monitor.view(100.0, own_asks=ASKS) is None


@given(st.lists(st.tuples(st.integers(98, 100), st.integers(1, 8)), max_size=4))
def test_own_bids_out_agree_with_the_whole_book(own: list[Level]) -> None:
    monitor = monitor_at(100.0)
    view = monitor.view(100.0, own_bids=own)
    expected = others_best(monitor.book.levels(Side.BUY, 100), own)
    assert (view.best_bid if view else None) == expected


def test_trades_go_on_the_tape() -> None:
    monitor = monitor_at(100.0)
    monitor.on_trade(100.2, 102, 3, Side.BUY)
    monitor.on_trade(100.4, 100, 1, Side.SELL)
    assert monitor.tape.last_price == 100
    assert monitor.tape.volume(100.4, 1.0) == 4
