"""The order plan sends only what is needed and keeps what is still good."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.orders.live import LiveOrder
from appliance.orders.plan import Tolerance, plan_orders
from appliance.orders.refusals import Refusal, RefusalMemory, is_held
from appliance.vocabulary import Quote, Side

EXACT = Tolerance(price_ticks=0, min_size_ratio=1)

quotes = st.lists(st.builds(Quote, st.sampled_from(Side), st.integers(90, 110),
                            st.integers(1, 20)), max_size=8)
lives = st.lists(st.builds(
    LiveOrder, st.uuids().map(str), st.sampled_from(Side), st.integers(90, 110),
    st.integers(1, 20), st.just("oid"), st.integers(0, 5)).filter(
        lambda o: o.remaining_lots > 0), max_size=8)
tolerances = st.builds(Tolerance, price_ticks=st.integers(0, 3),
                       min_size_ratio=st.sampled_from([0.25, 0.5, 1.0]))


@given(quotes, lives, tolerances)
def test_plan_partitions_the_live_orders_and_covers_every_quote(
    desired: list[Quote], live: list[LiveOrder], tolerance: Tolerance
) -> None:
    plan = plan_orders(desired, live, tolerance)
    assert sorted(o.client_id for o in plan.kept + plan.cancels) == sorted(
        o.client_id for o in live)
    assert len(plan.kept) + len(plan.creates) == len(desired)
    for order in plan.kept:
        assert any(q.side is order.side
                   and abs(q.price_ticks - order.price_ticks) <= tolerance.price_ticks
                   for q in desired)


@given(quotes)
def test_an_unchanged_market_costs_no_message(desired: list[Quote]) -> None:
    live = [LiveOrder(f"c{i}", q.side, q.price_ticks, q.size_lots, f"o{i}")
            for i, q in enumerate(desired)]
    plan = plan_orders(desired, live, EXACT)
    assert plan.messages == 0


def test_a_one_tick_move_is_tolerated_and_a_bigger_one_replaced() -> None:
    live = [LiveOrder("a", Side.BUY, 100, 10, "1"), LiveOrder("b", Side.SELL, 110, 10, "2")]
    calm = plan_orders([Quote(Side.BUY, 101, 10), Quote(Side.SELL, 111, 10)], live, Tolerance())
    assert calm.messages == 0
    moved = plan_orders([Quote(Side.BUY, 103, 10), Quote(Side.SELL, 110, 10)], live, Tolerance())
    assert [o.client_id for o in moved.cancels] == ["a"]
    assert moved.creates == [Quote(Side.BUY, 103, 10)]


def test_a_mostly_filled_order_is_topped_up_by_replacing_it() -> None:
    live = [LiveOrder("a", Side.BUY, 100, 10, "1", filled_lots=8)]
    plan = plan_orders([Quote(Side.BUY, 100, 10)], live, Tolerance(min_size_ratio=0.5))
    assert [o.client_id for o in plan.cancels] == ["a"]
    assert plan.creates == [Quote(Side.BUY, 100, 10)]


def test_an_order_in_doubt_is_neither_kept_nor_cancelled() -> None:
    doubtful = LiveOrder("a", Side.BUY, 100, 10, None)
    plan = plan_orders([], [doubtful], Tolerance())
    assert plan.cancels == [] and plan.kept == []


def test_refused_orders_are_held_back_for_the_cooldown() -> None:
    memory = RefusalMemory(cooldown_s=5)
    bid = Quote(Side.BUY, 100, 10)
    memory.refused(0.0, bid, Refusal.POST_ONLY)
    assert is_held(memory.holds(1.0), bid)
    assert not is_held(memory.holds(1.0), Quote(Side.BUY, 99, 10))
    assert not is_held(memory.holds(5.0), bid)
    memory.refused(10.0, bid, Refusal.INSUFFICIENT_BALANCE)
    assert is_held(memory.holds(11.0), Quote(Side.BUY, 50, 1))
    assert not is_held(memory.holds(11.0), Quote(Side.SELL, 120, 10))
