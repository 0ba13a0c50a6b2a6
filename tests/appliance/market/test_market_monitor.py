"""The market monitor: health of the data, and the others' market once own orders are out."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

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
    monitor.on_snapshot(102.5, 11, [(100, 5), *BIDS[1:]], ASKS)
    assert monitor.health(102.5, stale_after_s=2.5) is MarketHealth.OK


def test_health_before_any_data_is_stale() -> None:
    monitor = MarketMonitor("MTS/USDT")
    assert monitor.age(0.0) == math.inf
    assert monitor.health(0.0, stale_after_s=5.0) is MarketHealth.STALE
    assert monitor.view(0.0) is None


def test_health_reports_a_missing_side_and_a_crossed_book() -> None:
    monitor = monitor_at(100.0)
    monitor.on_snapshot(100.5, 11, BIDS, [])
    assert monitor.health(100.5, stale_after_s=5.0) is MarketHealth.EMPTY
    assert monitor.view(100.5) is None
    monitor.on_snapshot(101.0, 12, BIDS, [(100, 1)])
    assert monitor.health(101.0, stale_after_s=5.0) is MarketHealth.CROSSED
    monitor.on_snapshot(101.5, 13, BIDS, ASKS)
    assert monitor.health(101.5, stale_after_s=5.0) is MarketHealth.OK


def test_the_view_carries_sizes_age_and_volatility() -> None:
    monitor = monitor_at(100.0)
    for i in range(1, 6):
        monitor.on_snapshot(100.0 + i, 10 + i, [(101, 1), *BIDS] if i % 2 else BIDS, ASKS)
    view = monitor.view(107.5)
    assert view is not None
    assert (view.best_bid, view.best_ask, view.bid_lots, view.ask_lots) == (101, 102, 1, 2)
    assert view.age == 2.5
    assert view.volatility_bps == monitor.rolling.bps > 0.0
    assert view.ewma_volatility_bps == monitor.ewma.bps > 0.0


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

