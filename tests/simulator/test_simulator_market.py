"""The outside market: deterministic from its seed, quoting wide, taking the top of the book."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic import ValidationError

from simulator.const import LIQUIDITY_ACCOUNT
from simulator.exchange import SpotExchange
from simulator.listing import parse_market
from simulator.market import BackgroundMarket, MarketProfile, SymbolMarket
from simulator.orders import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

LISTING = parse_market("MTSUSDT=1.25")
PROFILE = MarketProfile()


def outside_market(seed: int) -> tuple[SpotExchange, SymbolMarket]:
    """Return an exchange with the outside market of MTSUSDT, not yet stepped."""
    exchange = SpotExchange([LISTING.instrument], clock=lambda: 1_700_000_000_000)
    market = BackgroundMarket(exchange, [LISTING], seed, PROFILE).symbols[0]
    return exchange, market


def run_steps(market: SymbolMarket, steps: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Step the market and return its fair price and top of book after each step."""
    book = market.exchange.book(LISTING.instrument.symbol)
    history = []
    for _ in range(steps):
        market.step()
        history.append((market.fair, book.depth(True, 1) + book.depth(False, 1)))
    return history


def test_same_seed_gives_the_same_market() -> None:
    assert run_steps(outside_market(3)[1], 50) == run_steps(outside_market(3)[1], 50)
    assert run_steps(outside_market(3)[1], 50) != run_steps(outside_market(4)[1], 50)


def test_liquidity_quotes_both_sides_at_least_the_half_spread_from_fair() -> None:
    exchange, market = outside_market(1)
    for _ in range(100):
        market.step()
        book = exchange.book(LISTING.instrument.symbol)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None
        spread_bps = (ask - bid) * 10_000 / market.anchor
        assert spread_bps >= 2 * PROFILE.half_spread_bps - 1
        assert len(exchange.open_orders(LIQUIDITY_ACCOUNT)) <= 2 * PROFILE.levels


def test_fair_price_stays_within_half_and_twice_the_start() -> None:
    _, market = outside_market(5)
    fairs = [fair for fair, _ in run_steps(market, 500)]
    assert all(market.start // 2 <= fair <= market.start * 2 for fair in fairs)
    assert len(set(fairs)) > 10


def test_a_bid_at_the_top_of_the_book_is_filled_by_outside_sellers() -> None:
    exchange, market = outside_market(2)
    market.step()
    exchange.open_account("bot", {"USDT": 1_000 * 10**8})
    best_bid = exchange.book(LISTING.instrument.symbol).best_bid()
    assert best_bid is not None
    bid, _ = exchange.place(
        OrderRequest(
            "bot", "MTSUSDT", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, best_bid + 1, 80, 0, "top"
        )
    )
    for _ in range(200):
        if bid.status is OrderStatus.FILLED:
            break
        market.step()
    assert bid.status is OrderStatus.FILLED
    assert exchange.wallets.balance("bot", "MTS").free == 80 * 10**7 - 80 * 10**7 // 1000


def test_internal_accounts_hold_every_listed_asset() -> None:
    exchange, _ = outside_market(0)
    assert {asset for asset, _ in exchange.wallets.balances(LIQUIDITY_ACCOUNT)} == {"MTS", "USDT"}


def market_with(seed: int, **settings: Any) -> SymbolMarket:
    """Return MTSUSDT's outside market with some profile settings changed."""
    exchange = SpotExchange([LISTING.instrument], clock=lambda: 1_700_000_000_000)
    profile = MarketProfile(**settings)
    return BackgroundMarket(exchange, [LISTING], seed, profile).symbols[0]


def fair_path(market: SymbolMarket, steps: int) -> list[int]:
    """Return the fair price after each of `steps` walks."""
    path = []
    for _ in range(steps):
        market.walk()
        path.append(market.fair)
    return path


def test_without_volatility_drift_or_jumps_the_fair_price_stands_still() -> None:
    market = market_with(1, volatility_bps=0)
    assert set(fair_path(market, 50)) == {market.start}


def test_drift_moves_the_fair_price_its_way() -> None:
    up = fair_path(market_with(1, volatility_bps=0, drift_bps=5), 100)
    down = fair_path(market_with(1, volatility_bps=0, drift_bps=-5), 100)
    assert up == sorted(up) and up[-1] > LISTING.start_ticks
    assert down == sorted(down, reverse=True) and down[-1] < LISTING.start_ticks


def test_jumps_move_the_fair_price_by_their_size() -> None:
    market = market_with(2, volatility_bps=0, jump_probability=1, jump_bps=100)
    path = [market.start, *fair_path(market, 20)]
    moves = {round(abs(b - a) * 10_000 / a) for a, b in itertools.pairwise(path)}
    assert moves == {100}


def test_taker_flow_follows_its_buy_probability() -> None:
    market = market_with(3, taker_buy_probability=1.0)
    for _ in range(30):
        market.step()
    tape = market.exchange.tape(LISTING.instrument.symbol)
    assert tape and not any(trade.is_buyer_maker for trade in tape)


def test_a_profile_with_a_range_upside_down_is_refused() -> None:
    with pytest.raises(ValidationError, match="min_taker_size must not exceed max_taker_size"):
        MarketProfile(min_taker_size=30, max_taker_size=20)
