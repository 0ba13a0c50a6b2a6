"""The order book matches by price, then by time, in whole ticks and lots."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.matching import (
    STP_EXPIRE_BOTH,
    STP_EXPIRE_MAKER,
    STP_EXPIRE_TAKER,
    STP_NONE,
    UNBOUNDED,
    OrderBook,
    RestingOrder,
)


def book_with(*orders: tuple[int, str, bool, int, int]) -> OrderBook:
    """Return a book holding (id, owner, is_buy, price, lots) orders, rested in that order."""
    book = OrderBook()
    for order_id, owner, is_buy, price, lots in orders:
        book.rest(RestingOrder(order_id, owner, is_buy, price, lots))
    return book


def test_better_price_fills_first() -> None:
    book = book_with((1, "a", False, 102, 5), (2, "b", False, 100, 5), (3, "c", False, 101, 5))
    match = book.take(True, UNBOUNDED, 12, UNBOUNDED)
    assert [(f.maker_order_id, f.price, f.lots) for f in match.fills] == [
        (2, 100, 5),
        (3, 101, 5),
        (1, 102, 2),
    ]
    assert book.depth(False, 5) == [(102, 3)]


def test_earlier_order_at_same_price_fills_first() -> None:
    book = book_with((1, "a", True, 100, 4), (2, "b", True, 100, 4), (3, "c", True, 100, 4))
    match = book.take(False, 0, 6, UNBOUNDED)
    assert [(f.maker_order_id, f.lots, f.maker_remaining) for f in match.fills] == [
        (1, 4, 0),
        (2, 2, 2),
    ]
    assert book.depth(True, 5) == [(100, 6)]
    assert book.cancel(1) is None


def test_partly_filled_order_keeps_its_place_in_the_queue() -> None:
    book = book_with((1, "a", False, 100, 10), (2, "b", False, 100, 10))
    book.take(True, 100, 3, UNBOUNDED)
    match = book.take(True, 100, 8, UNBOUNDED)
    assert [(f.maker_order_id, f.lots) for f in match.fills] == [(1, 7), (2, 1)]


def test_limit_price_stops_the_match() -> None:
    book = book_with((1, "a", False, 100, 5), (2, "b", False, 105, 5))
    match = book.take(True, 104, 10, UNBOUNDED)
    assert match.lots == 5 and match.cost == 500
    assert book.best_ask() == 105


def test_sell_limit_takes_only_bids_at_or_above_it() -> None:
    book = book_with((1, "a", True, 99, 5), (2, "b", True, 101, 5))
    match = book.take(False, 100, 10, UNBOUNDED)
    assert [(f.maker_order_id, f.price) for f in match.fills] == [(2, 101)]
    assert book.best_bid() == 99


def test_cost_bound_buys_whole_lots_it_can_pay_for() -> None:
    book = book_with((1, "a", False, 100, 3), (2, "b", False, 110, 10))
    match = book.take(True, UNBOUNDED, UNBOUNDED, 550)
    assert [(f.price, f.lots) for f in match.fills] == [(100, 3), (110, 2)]
    assert match.cost == 520


def test_preview_tells_what_take_does_without_touching_the_book() -> None:
    book = book_with((1, "a", False, 100, 3), (2, "b", False, 101, 3))
    preview = book.preview(True, 101, 4, UNBOUNDED)
    assert (preview.lots, preview.cost, preview.fills) == (4, 401, [])
    assert book.depth(False, 5) == [(100, 3), (101, 3)]
    taken = book.take(True, 101, 4, UNBOUNDED)
    assert (taken.lots, taken.cost) == (preview.lots, preview.cost)


def test_cancel_removes_the_order_and_its_empty_level() -> None:
    book = book_with((1, "a", True, 100, 5), (2, "b", True, 99, 5))
    cancelled = book.cancel(1)
    assert cancelled is not None and cancelled.remaining == 5
    assert book.best_bid() == 99
    assert book.cancel(1) is None


def test_would_take_only_when_the_price_crosses() -> None:
    book = book_with((1, "a", True, 100, 5), (2, "b", False, 102, 5))
    assert book.would_take(True, 102) and not book.would_take(True, 101)
    assert book.would_take(False, 100) and not book.would_take(False, 101)


def test_depth_sums_each_level_best_first() -> None:
    book = book_with((1, "a", True, 100, 5), (2, "b", True, 100, 2), (3, "c", True, 98, 1))
    assert book.depth(True, 5) == [(100, 7), (98, 1)]
    assert book.depth(True, 1) == [(100, 7)]


@given(
    st.lists(st.tuples(st.integers(90, 110), st.integers(1, 20)), min_size=1, max_size=30),
    st.integers(90, 110),
    st.integers(1, 200),
)
def test_take_moves_exactly_the_lots_it_reports(
    asks: list[tuple[int, int]], limit: int, lots: int
) -> None:
    book = book_with(*((i, "m", False, price, size) for i, (price, size) in enumerate(asks)))
    before = sum(size for _, size in book.depth(False, 100))
    match = book.take(True, limit, lots, UNBOUNDED)
    after = sum(size for _, size in book.depth(False, 100))
    assert before - after == match.lots == sum(fill.lots for fill in match.fills)
    assert match.lots <= lots
    assert all(fill.price <= limit for fill in match.fills)
    assert [fill.price for fill in match.fills] == sorted(fill.price for fill in match.fills)
    best = book.best_ask()
    assert match.lots == lots or best is None or best > limit


def test_drain_changes_tells_each_changed_level_with_its_lots_now() -> None:
    book = book_with((1, "a", True, 100, 5), (2, "b", False, 102, 5), (3, "c", False, 103, 4))
    book.drain_changes()
    book.take(True, 102, 5, UNBOUNDED)
    book.rest(RestingOrder(4, "d", True, 99, 2))
    book.cancel(1)
    assert book.drain_changes() == ([(99, 2), (100, 0)], [(102, 0)])
    assert book.drain_changes() == ([], [])


def test_expire_maker_skips_own_orders_and_takes_the_others() -> None:
    book = book_with((1, "me", False, 100, 5), (2, "you", False, 100, 5), (3, "me", False, 101, 5))
    preview = book.preview(True, 101, 8, UNBOUNDED, "me", STP_EXPIRE_MAKER)
    match = book.take(True, 101, 8, UNBOUNDED, "me", STP_EXPIRE_MAKER)
    assert (match.lots, match.cost) == (preview.lots, preview.cost) == (5, 500)
    assert [(p.maker_order_id, p.maker_remaining, p.maker_expired) for p in match.preventions] == [
        (1, 5, True),
        (3, 5, True),
    ]
    assert not match.taker_expired and book.best_ask() is None


def test_expire_taker_stops_at_the_first_own_order() -> None:
    book = book_with((1, "you", False, 100, 2), (2, "me", False, 100, 5), (3, "you", False, 100, 5))
    match = book.take(True, 100, 10, UNBOUNDED, "me", STP_EXPIRE_TAKER)
    assert match.lots == 2 and match.taker_expired
    assert [(p.maker_order_id, p.maker_expired) for p in match.preventions] == [(2, False)]
    assert book.depth(False, 5) == [(100, 10)]


def test_expire_both_takes_out_the_own_order_and_stops() -> None:
    book = book_with((1, "me", True, 100, 5), (2, "you", True, 100, 5))
    match = book.take(False, 100, 10, UNBOUNDED, "me", STP_EXPIRE_BOTH)
    assert (match.lots, match.taker_expired) == (0, True)
    assert book.depth(True, 5) == [(100, 5)]


def test_a_filled_order_leaves_own_orders_beyond_it_alone() -> None:
    book = book_with((1, "you", False, 100, 5), (2, "me", False, 100, 5))
    match = book.take(True, 100, 5, UNBOUNDED, "me", STP_EXPIRE_MAKER)
    assert (match.lots, match.preventions) == (5, [])
    assert book.depth(False, 5) == [(100, 5)]


@given(
    st.lists(
        st.tuples(st.sampled_from(["me", "you"]), st.integers(95, 105), st.integers(1, 9)),
        min_size=1,
        max_size=25,
    ),
    st.integers(95, 105),
    st.integers(1, 60),
    st.sampled_from([STP_NONE, STP_EXPIRE_TAKER, STP_EXPIRE_MAKER, STP_EXPIRE_BOTH]),
)
def test_preview_foretells_take_and_no_order_trades_with_its_own_account(
    asks: list[tuple[str, int, int]], limit: int, lots: int, stp: int
) -> None:
    book = book_with(
        *((i, owner, False, price, size) for i, (owner, price, size) in enumerate(asks))
    )
    preview = book.preview(True, limit, lots, UNBOUNDED, "me", stp)
    taken = book.take(True, limit, lots, UNBOUNDED, "me", stp)
    assert (preview.lots, preview.cost, preview.taker_expired) == (
        taken.lots,
        taken.cost,
        taken.taker_expired,
    )
    assert [p.maker_order_id for p in preview.preventions] == [
        p.maker_order_id for p in taken.preventions
    ]
    if stp != STP_NONE:
        assert all(fill.maker_owner != "me" for fill in taken.fills)
    expired = {p.maker_order_id for p in taken.preventions if p.maker_expired}
    left = sum(size for _, size in book.depth(False, 100))
    assert left == sum(size for _, _, size in asks) - taken.lots - sum(
        asks[order_id][2] for order_id in expired
    )
