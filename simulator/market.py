"""The outside market: a fair price that wanders, resting liquidity around it, random takers.

The fair price moves each step by a drift, a normal shock scaled by the volatility, and now
and then a jump, all in basis points. Everything random comes from one generator per symbol
seeded from `--seed`, so a run's prices, sides and sizes repeat; only their timing against
requests varies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.const import (
    ASSET_SCALE,
    INTERNAL_ACCOUNT_NOTIONAL,
    LIQUIDITY_ACCOUNT,
    TAKER_ACCOUNT,
)
from simulator.errors import BinanceError
from simulator.exchange import SpotExchange
from simulator.listing import Listing
from simulator.orders import OrderRequest, OrderType, Side, TimeInForce

log = logging.getLogger(__name__)
BASIS_POINTS = 10_000


class MarketProfile(BaseModel):
    """How the outside market behaves on every symbol; sizes are multiples of min notional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_interval_s: float = Field(default=0.2, gt=0, le=3600)
    max_interval_s: float = Field(default=1.0, gt=0, le=3600)
    volatility_bps: float = Field(default=1.0, ge=0, le=1000)
    """Standard deviation of the fair price's move per step."""
    drift_bps: float = Field(default=0.0, ge=-1000, le=1000)
    """Mean move of the fair price per step."""
    jump_probability: float = Field(default=0.0, ge=0, le=1)
    """Chance per step of a jump, up or down with equal odds."""
    jump_bps: float = Field(default=50.0, ge=0, le=5000)
    half_spread_bps: int = Field(default=20, ge=1, le=5000)
    level_gap_bps: int = Field(default=10, ge=1, le=5000)
    requote_bps: int = Field(default=5, ge=0, le=5000)
    levels: int = Field(default=5, ge=1, le=100)
    min_level_size: int = Field(default=10, ge=1)
    max_level_size: int = Field(default=100, ge=1)
    taker_buy_probability: float = Field(default=0.5, ge=0, le=1)
    min_taker_size: int = Field(default=2, ge=1)
    max_taker_size: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> MarketProfile:
        """Refuse a range whose minimum exceeds its maximum."""
        for low, high in (
            ("min_interval_s", "max_interval_s"),
            ("min_level_size", "max_level_size"),
            ("min_taker_size", "max_taker_size"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self


class SymbolMarket:
    """The outside market of one symbol: fair price, liquidity levels and takers."""

    def __init__(
        self, exchange: SpotExchange, listing: Listing, rng: random.Random, profile: MarketProfile
    ) -> None:
        self.exchange = exchange
        self.instrument = listing.instrument
        self.rng = rng
        self.profile = profile
        self.start = listing.start_ticks
        self.fair = self.start
        self.anchor = self.start
        self.level_notionals = [
            rng.randint(profile.min_level_size, profile.max_level_size)
            * self.instrument.min_notional_tick_lots
            for _ in range(profile.levels)
        ]
        self._next_client_id = 1

    def step(self) -> None:
        """Move the fair price, refresh the liquidity around it, and send one taker order."""
        self.walk()
        self.refresh_liquidity()
        self.send_taker()

    def next_interval(self) -> float:
        """Return how long to wait before the next step, in seconds."""
        return self.rng.uniform(self.profile.min_interval_s, self.profile.max_interval_s)

    def walk(self) -> None:
        """Move the fair price by drift, shock and jump, within half and twice the start."""
        profile = self.profile
        move_bps = profile.drift_bps + self.rng.gauss(0.0, profile.volatility_bps)
        if self.rng.random() < profile.jump_probability:
            move_bps += profile.jump_bps if self.rng.random() < 0.5 else -profile.jump_bps
        moved = round(self.fair * (1 + move_bps / BASIS_POINTS))
        self.fair = min(max(moved, self.start // 2, 1), self.start * 2)

    def desired_levels(self) -> dict[tuple[bool, int], int]:
        """Return the liquidity wanted now: (is_buy, price in ticks) to lots.

        The levels stay where they are until the fair price has moved `requote_bps` away.
        """
        if abs(self.fair - self.anchor) * BASIS_POINTS >= self.anchor * self.profile.requote_bps:
            self.anchor = self.fair
        levels: dict[tuple[bool, int], int] = {}
        for index, notional in enumerate(self.level_notionals):
            offset = self.profile.half_spread_bps + index * self.profile.level_gap_bps
            bid = self.anchor * (BASIS_POINTS - offset) // BASIS_POINTS
            ask = -(-self.anchor * (BASIS_POINTS + offset) // BASIS_POINTS)
            if bid >= 1:
                levels[(True, bid)] = max(1, notional // bid)
            levels[(False, ask)] = max(1, notional // ask)
        return levels

    def refresh_liquidity(self) -> None:
        """Cancel levels that moved away or ran low, and post the missing ones as makers."""
        wanted = self.desired_levels()
        symbol = self.instrument.symbol
        for order in self.exchange.open_orders(LIQUIDITY_ACCOUNT, symbol):
            key = (order.request.is_buy, order.request.price)
            lots = wanted.get(key)
            if lots is not None and 2 * (order.quantity - order.executed) >= lots:
                del wanted[key]
            else:
                self.exchange.cancel(LIQUIDITY_ACCOUNT, symbol, order.order_id, None)
        for (is_buy, price), lots in wanted.items():
            self._send(LIQUIDITY_ACCOUNT, is_buy, OrderType.LIMIT_MAKER, price, lots)

    def send_taker(self) -> None:
        """Send a market order of random side and size, as an outside trader would."""
        is_buy = self.rng.random() < self.profile.taker_buy_probability
        size = self.rng.randint(self.profile.min_taker_size, self.profile.max_taker_size)
        lots = max(1, size * self.instrument.min_notional_tick_lots // self.fair)
        self._send(TAKER_ACCOUNT, is_buy, OrderType.MARKET, 0, lots)

    def _send(
        self, account: str, is_buy: bool, order_type: OrderType, price: int, lots: int
    ) -> None:
        """Place one order of the simulator's own accounts; a refusal only skips it."""
        client_id = f"sim-{self.instrument.symbol}-{self._next_client_id}"
        self._next_client_id += 1
        side = Side.BUY if is_buy else Side.SELL
        request = OrderRequest(
            account,
            self.instrument.symbol,
            side,
            order_type,
            TimeInForce.GTC,
            price,
            lots,
            0,
            client_id,
        )
        try:
            self.exchange.place(request)
        except BinanceError as exc:
            log.debug("outside %s order on %s refused: %s", order_type, request.symbol, exc.msg)


class BackgroundMarket:
    """The outside market of every listed symbol, each stepping on its own timer."""

    def __init__(
        self,
        exchange: SpotExchange,
        listings: Iterable[Listing],
        seed: int,
        profile: MarketProfile | None = None,
    ) -> None:
        listings = list(listings)
        profile = profile or MarketProfile()
        self.profile = profile
        self.symbols = [
            SymbolMarket(
                exchange, listing, random.Random(f"{seed}:{listing.instrument.symbol}"), profile
            )
            for listing in listings
        ]
        funds = internal_funds(listings)
        exchange.open_account(LIQUIDITY_ACCOUNT, funds)
        exchange.open_account(TAKER_ACCOUNT, funds)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        """Return whether the outside market is trading."""
        return bool(self._tasks)

    def start(self) -> None:
        """Start every symbol's outside market on the running event loop."""
        self._tasks = [asyncio.create_task(self._run(symbol)) for symbol in self.symbols]

    async def stop(self) -> None:
        """Stop the outside market and wait until it has stopped."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _run(self, market: SymbolMarket) -> None:
        """Step one symbol's outside market until cancelled; a failed step is logged."""
        while True:
            try:
                market.step()
            except Exception:
                log.exception("outside market of %s failed a step", market.instrument.symbol)
            await asyncio.sleep(market.next_interval())


def internal_funds(listings: Iterable[Listing]) -> dict[str, int]:
    """Return what each of the simulator's own accounts starts with: plenty of every asset."""
    funds: dict[str, int] = {}
    for listing in listings:
        instrument = listing.instrument
        base = int(INTERNAL_ACCOUNT_NOTIONAL / listing.price * ASSET_SCALE)
        quote = int(INTERNAL_ACCOUNT_NOTIONAL * ASSET_SCALE)
        funds[instrument.base] = funds.get(instrument.base, 0) + base
        funds[instrument.quote] = funds.get(instrument.quote, 0) + quote
    return funds
