"""Inventory and PnL rebuilt from fill events agree with the cash the fills moved."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from appliance.ledger import Position, open_orders_from_events, positions_from_events
from appliance.store.events import (
    Event,
    EventBody,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSent,
)
from appliance.vocabulary import Side

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


def ev(seq: int, body: EventBody) -> Event:
    return Event(seq, 0.0, "MTS/USDT", body)


def fill(seq: int, side: Side, price: str, amount: str, fee: str = "0", fee_asset: str = "USDT",
         client_id: str = "c1") -> Event:
    return ev(seq, OrderFilled(client_id, "1", str(seq), side, D(price), D(amount), D(fee),
                               fee_asset, "MTS", "USDT"))


def test_round_trip_realizes_the_difference() -> None:
    position = positions_from_events([fill(1, BUY, "1.00", "10"), fill(2, SELL, "1.10", "4")])[
        "MTS/USDT"]
    assert position.base == D("6")
    assert position.average_cost == D("1.00")
    assert position.realized == D("0.40")
    assert position.unrealized(D("1.20")) == D("1.20")


def test_flip_from_long_to_short_restarts_cost_at_fill_price() -> None:
    position = positions_from_events([fill(1, BUY, "2", "5"), fill(2, SELL, "3", "8")])[
        "MTS/USDT"]
    assert position.base == D("-3")
    assert position.realized == D("5")
    assert position.average_cost == D("3")


def test_fee_in_base_leaves_inventory_and_counts_as_fee() -> None:
    position = positions_from_events([fill(1, BUY, "1", "10", fee="0.01", fee_asset="MTS")])[
        "MTS/USDT"]
    assert position.base == D("9.99")
    assert position.pnl(D("1")) == D("-0.01")


trades = st.lists(st.tuples(
    st.sampled_from(Side),
    st.decimals(min_value=D("0.5"), max_value=D("2"), places=4),
    st.decimals(min_value=D("0.1"), max_value=D("100"), places=1),
    st.decimals(min_value=D("0"), max_value=D("0.05"), places=4),
    st.booleans(),
), max_size=40)


@given(trades, st.decimals(min_value=D("0.5"), max_value=D("2"), places=4))
def test_pnl_equals_cash_plus_marked_inventory(
    fills: list[tuple[Side, Decimal, Decimal, Decimal, bool]], mark: Decimal
) -> None:
    """Average-cost accounting must agree with plain cash-flow accounting at any mark."""
    position, cash, base = Position("MTS/USDT"), D(0), D(0)
    for side, price, amount, fee, fee_in_base in fills:
        position.apply_fill(side, price, amount, fee, fee_in_base)
        signed = amount if side is Side.BUY else -amount
        cash -= signed * price
        base += signed - (fee if fee_in_base else 0)
        cash -= 0 if fee_in_base else fee
    assert position.base == base
    # The average cost is a quotient: allow for Decimal's 28-digit rounding, nothing more.
    assert abs(position.pnl(mark) - (cash + base * mark)) < D("1e-20")


def test_open_orders_follow_acks_partial_fills_and_cancels() -> None:
    events = [
        ev(1, OrderSent("a", BUY, D("1"), D("10"))),
        ev(2, OrderAcked("a", "11")),
        ev(3, OrderSent("b", SELL, D("2"), D("5"))),
        ev(4, OrderSent("c", SELL, D("3"), D("5"))),
        ev(5, OrderRejected("c", "other", "x")),
        fill(6, BUY, "1", "4", client_id="a"),
        fill(7, SELL, "2", "5", client_id="b"),
    ]
    (order,) = open_orders_from_events(events)
    assert (order.client_id, order.order_id, order.remaining) == ("a", "11", D("6"))
    assert open_orders_from_events([*events, ev(8, OrderCancelled("a", "11", "cancelled"))]) == []
