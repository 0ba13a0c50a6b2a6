"""The exchange locks, moves and charges balances exactly; no asset appears or vanishes."""

from __future__ import annotations

import contextlib
import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import BinanceError
from simulator.exchange import SpotExchange
from simulator.listing import parse_market
from simulator.orders import (
    OrderRequest,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

UNIT = 10**8
MTS = parse_market("MTSUSDT=1.25").instrument
_ids = itertools.count(1)


def new_exchange(**accounts: dict[str, int]) -> SpotExchange:
    """Return an exchange listing MTSUSDT, with accounts holding whole units of assets."""
    exchange = SpotExchange([MTS], clock=lambda: 1_700_000_000_000)
    for name, balances in accounts.items():
        exchange.open_account(name, {asset: units * UNIT for asset, units in balances.items()})
    return exchange


def order(
    account: str,
    side: Side,
    price: str = "0",
    quantity: str = "0",
    order_type: OrderType = OrderType.LIMIT,
    time_in_force: TimeInForce = TimeInForce.GTC,
    quote: str = "0",
    client_id: str | None = None,
) -> OrderRequest:
    """Return an order on MTSUSDT with decimal price and quantity."""
    return OrderRequest(
        account,
        MTS.symbol,
        side,
        order_type,
        time_in_force,
        int(Decimal(price) / MTS.tick_size),
        int(Decimal(quantity) / MTS.step_size),
        int(Decimal(quote) / (MTS.tick_size * MTS.step_size)),
        client_id or f"c{next(_ids)}",
    )


def free_locked(exchange: SpotExchange, account: str, asset: str) -> tuple[Decimal, Decimal]:
    """Return an account's free and locked balance of an asset."""
    balance = exchange.wallets.balance(account, asset)
    return Decimal(balance.free) / UNIT, Decimal(balance.locked) / UNIT


def test_resting_buy_locks_its_cost_and_cancel_frees_it() -> None:
    exchange = new_exchange(bot={"USDT": 100})
    placed, trades = exchange.place(order("bot", Side.BUY, "1.2", "10"))
    assert trades == [] and placed.status is OrderStatus.NEW
    assert free_locked(exchange, "bot", "USDT") == (Decimal(88), Decimal(12))
    cancelled = exchange.cancel("bot", MTS.symbol, placed.order_id, None)
    assert free_locked(exchange, "bot", "USDT") == (Decimal(100), Decimal(0))
    assert cancelled is placed and cancelled.status is OrderStatus.CANCELED


def test_fill_moves_assets_at_the_maker_price_less_commission_in_asset_received() -> None:
    exchange = new_exchange(maker={"MTS": 100}, taker={"USDT": 100})
    exchange.place(order("maker", Side.SELL, "1.25", "40"))
    taken, trades = exchange.place(order("taker", Side.BUY, "1.30", "40"))
    assert taken.status is OrderStatus.FILLED
    assert [(t.commission, t.commission_asset, t.is_maker) for t in trades] == [
        (4 * UNIT // 100, "MTS", False)
    ]
    assert free_locked(exchange, "taker", "MTS") == (Decimal("39.96"), Decimal(0))
    assert free_locked(exchange, "taker", "USDT") == (Decimal(50), Decimal(0))
    assert free_locked(exchange, "maker", "USDT") == (Decimal("49.95"), Decimal(0))
    assert free_locked(exchange, "maker", "MTS") == (Decimal(60), Decimal(0))
    assert exchange.wallets.fees == {"MTS": 4 * UNIT // 100, "USDT": 5 * UNIT // 100}


def test_taker_limit_buy_pays_the_better_resting_price_and_rests_the_rest() -> None:
    exchange = new_exchange(maker={"MTS": 100}, taker={"USDT": 100})
    exchange.place(order("maker", Side.SELL, "1.00", "10"))
    placed, trades = exchange.place(order("taker", Side.BUY, "1.20", "30"))
    assert placed.status is OrderStatus.PARTIALLY_FILLED and len(trades) == 1
    assert free_locked(exchange, "taker", "USDT") == (Decimal(66), Decimal(24))


def test_limit_maker_that_would_take_is_refused() -> None:
    exchange = new_exchange(maker={"MTS": 100}, bot={"USDT": 100})
    exchange.place(order("maker", Side.SELL, "1.25", "10"))
    with pytest.raises(BinanceError) as refused:
        exchange.place(order("bot", Side.BUY, "1.25", "10", OrderType.LIMIT_MAKER))
    assert (refused.value.code, refused.value.msg) == (
        -2010,
        "Order would immediately match and take.",
    )
    assert free_locked(exchange, "bot", "USDT") == (Decimal(100), Decimal(0))


def test_insufficient_balance_is_refused_and_changes_nothing() -> None:
    exchange = new_exchange(bot={"USDT": 10})
    with pytest.raises(BinanceError) as refused:
        exchange.place(order("bot", Side.BUY, "1.25", "10"))
    assert refused.value.code == -2010
    assert refused.value.msg == "Account has insufficient balance for requested action."
    assert exchange.open_orders("bot") == []


def test_client_order_id_is_unique_among_open_orders_only() -> None:
    exchange = new_exchange(bot={"USDT": 100, "MTS": 100}, other={"MTS": 100})
    placed, _ = exchange.place(order("bot", Side.BUY, "1.0", "10", client_id="q-1"))
    with pytest.raises(BinanceError, match=r"Duplicate order sent\."):
        exchange.place(order("bot", Side.BUY, "1.1", "10", client_id="q-1"))
    exchange.place(order("other", Side.SELL, "1.0", "10", client_id="q-1"))
    assert placed.status is OrderStatus.FILLED
    again, _ = exchange.place(order("bot", Side.BUY, "1.1", "10", client_id="q-1"))
    assert exchange.order("bot", MTS.symbol, None, "q-1") is again


def test_fill_or_kill_that_cannot_fill_expires_without_trading() -> None:
    exchange = new_exchange(maker={"MTS": 100}, bot={"USDT": 100})
    exchange.place(order("maker", Side.SELL, "1.0", "5"))
    killed, trades = exchange.place(
        order("bot", Side.BUY, "1.0", "10", time_in_force=TimeInForce.FOK)
    )
    assert killed.status is OrderStatus.EXPIRED and trades == []
    assert free_locked(exchange, "bot", "USDT") == (Decimal(100), Decimal(0))


def test_market_order_expires_what_the_book_cannot_fill() -> None:
    exchange = new_exchange(maker={"USDT": 100}, bot={"MTS": 100})
    exchange.place(order("maker", Side.BUY, "1.0", "5"))
    sold, _ = exchange.place(order("bot", Side.SELL, quantity="8", order_type=OrderType.MARKET))
    assert sold.status is OrderStatus.EXPIRED and sold.executed * MTS.step_size == 5
    assert free_locked(exchange, "bot", "MTS") == (Decimal(95), Decimal(0))


def test_market_buy_by_quote_amount_spends_at_most_that_amount() -> None:
    exchange = new_exchange(maker={"MTS": 100}, bot={"USDT": 100})
    exchange.place(order("maker", Side.SELL, "1.25", "100"))
    bought, _ = exchange.place(order("bot", Side.BUY, order_type=OrderType.MARKET, quote="10.01"))
    assert bought.status is OrderStatus.FILLED
    assert MTS.quote_amount(bought.cumulative_quote) == Decimal("10")
    assert free_locked(exchange, "bot", "USDT") == (Decimal(90), Decimal(0))


def test_query_and_cancel_by_client_id_see_only_the_owner() -> None:
    exchange = new_exchange(bot={"USDT": 100}, other={"USDT": 100})
    exchange.place(order("bot", Side.BUY, "1.0", "10", client_id="mine"))
    with pytest.raises(BinanceError) as refused:
        exchange.cancel("other", MTS.symbol, None, "mine")
    assert refused.value.code == -2011
    with pytest.raises(BinanceError) as missing:
        exchange.order("other", MTS.symbol, None, "mine")
    assert missing.value.code == -2013


ACCOUNTS = ("a", "b", "c")


def assert_not_crossed(exchange: SpotExchange) -> None:
    """Check no order could trade with another still resting in the book."""
    book = exchange.book(MTS.symbol)
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid < ask


order_steps = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from(list(Side)),
        st.sampled_from([OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER]),
        st.integers(11_000, 14_000),
        st.integers(1, 400),
        st.booleans(),
        st.sampled_from(list(SelfTradePrevention)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(order_steps)
def test_every_asset_is_conserved_across_accounts_and_fees(
    steps: list[tuple[str, Side, OrderType, int, int, bool, SelfTradePrevention]],
) -> None:
    exchange = new_exchange(**{name: {"MTS": 50, "USDT": 60} for name in ACCOUNTS})
    totals = {asset: exchange.wallets.total(asset) for asset in ("MTS", "USDT")}
    for account, side, order_type, price, lots, cancel_oldest, stp_mode in steps:
        request = OrderRequest(
            account,
            MTS.symbol,
            side,
            order_type,
            TimeInForce.GTC,
            0 if order_type is OrderType.MARKET else price,
            lots,
            0,
            f"c{next(_ids)}",
            stp_mode,
        )
        with contextlib.suppress(BinanceError):
            exchange.place(request)
        opened = exchange.open_orders(account)
        if cancel_oldest and opened:
            exchange.cancel(account, MTS.symbol, opened[0].order_id, None)
        assert {asset: exchange.wallets.total(asset) for asset in totals} == totals
        assert_not_crossed(exchange)
        for name in ACCOUNTS:
            for asset in totals:
                balance = exchange.wallets.balance(name, asset)
                assert balance.free >= 0 and balance.locked >= 0
    for name in ACCOUNTS:
        for resting in exchange.open_orders(name):
            exchange.cancel(name, MTS.symbol, resting.order_id, None)
        assert all(balance.locked == 0 for _, balance in exchange.wallets.balances(name))
