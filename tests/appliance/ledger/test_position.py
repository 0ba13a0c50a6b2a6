"""Inventory and PnL rebuilt from fill events agree with the cash the fills moved."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from appliance.ledger import Position, open_orders_from_events, positions_from_events
from appliance.store.events import Event, EventKind

D = Decimal


def fill(seq: int, side: str, price: str, amount: str, fee: str = "0", fee_asset: str = "USDT",
         client_id: str = "c1") -> Event:
    return Event(seq, 0.0, EventKind.FILL, "MTS/USDT", {
        "client_id": client_id, "order_id": "1", "trade_id": seq, "side": side, "price": price,
        "amount": amount, "fee": fee, "fee_asset": fee_asset, "base": "MTS", "quote": "USDT"})


def test_round_trip_realizes_the_difference() -> None:
    position = positions_from_events([fill(1, "buy", "1.00", "10"), fill(2, "sell", "1.10", "4")])[
        "MTS/USDT"]
    assert position.base == D("6")
    assert position.average_cost == D("1.00")
    assert position.realized == D("0.40")
    assert position.unrealized(D("1.20")) == D("1.20")


def test_flip_from_long_to_short_restarts_cost_at_fill_price() -> None:
    position = positions_from_events([fill(1, "buy", "2", "5"), fill(2, "sell", "3", "8")])[
        "MTS/USDT"]
    assert position.base == D("-3")
    assert position.realized == D("5")
    assert position.average_cost == D("3")


def test_fee_in_base_leaves_inventory_and_counts_as_fee() -> None:
    position = positions_from_events([fill(1, "buy", "1", "10", fee="0.01", fee_asset="MTS")])[
        "MTS/USDT"]
    assert position.base == D("9.99")
    assert position.pnl(D("1")) == D("-0.01")


trades = st.lists(st.tuples(
    st.sampled_from(["buy", "sell"]),
    st.decimals(min_value=D("0.5"), max_value=D("2"), places=4),
    st.decimals(min_value=D("0.1"), max_value=D("100"), places=1),
    st.decimals(min_value=D("0"), max_value=D("0.05"), places=4),
    st.booleans(),
), max_size=40)


@given(trades, st.decimals(min_value=D("0.5"), max_value=D("2"), places=4))
def test_pnl_equals_cash_plus_marked_inventory(
    fills: list[tuple[str, Decimal, Decimal, Decimal, bool]], mark: Decimal
) -> None:
    """Average-cost accounting must agree with plain cash-flow accounting at any mark."""
    position, cash, base = Position("MTS/USDT"), D(0), D(0)
    for side, price, amount, fee, fee_in_base in fills:
        position.apply_fill(side, price, amount, fee, fee_in_base)
        signed = amount if side == "buy" else -amount
        cash -= signed * price
        base += signed - (fee if fee_in_base else 0)
        cash -= 0 if fee_in_base else fee
    assert position.base == base
    # The average cost is a quotient: allow for Decimal's 28-digit rounding, nothing more.
    assert abs(position.pnl(mark) - (cash + base * mark)) < D("1e-20")


def test_open_orders_follow_acks_partial_fills_and_cancels() -> None:
    def ev(seq: int, kind: EventKind, **data: str) -> Event:
        return Event(seq, 0.0, kind, "MTS/USDT", data)

    events = [
        ev(1, EventKind.ORDER, client_id="a", side="buy", price="1", amount="10"),
        ev(2, EventKind.ACK, client_id="a", order_id="11"),
        ev(3, EventKind.ORDER, client_id="b", side="sell", price="2", amount="5"),
        ev(4, EventKind.ORDER, client_id="c", side="sell", price="3", amount="5"),
        ev(5, EventKind.REJECT, client_id="c", error="x"),
        fill(6, "buy", "1", "4", client_id="a"),
        fill(7, "sell", "2", "5", client_id="b"),
    ]
    (order,) = open_orders_from_events(events)
    assert (order.client_id, order.order_id, order.remaining) == ("a", "11", D("6"))
    assert open_orders_from_events([*events, ev(8, EventKind.CANCEL, client_id="a")]) == []
