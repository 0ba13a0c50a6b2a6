"""Which markets the simulator lists, their sizes and the price each starts at."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from simulator.instrument import Instrument

DEFAULT_MARKETS = ("MTSUSDT=1.25", "MTSUSDC=1.25", "BTCUSDT=60000")

QUOTE_MIN_NOTIONAL = {
    "FDUSD": Decimal("5"),
    "USDT": Decimal("5"),
    "USDC": Decimal("5"),
    "EUR": Decimal("5"),
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
    "BNB": Decimal("0.01"),
}
"""Quote assets the simulator knows, with the minimum order value on their markets."""

SIZES = {"BTCUSDT": (Decimal("0.01"), Decimal("0.00001"))}
"""Tick and step sizes of markets that do not follow the rule of `sizes_for`."""

MIN_PRICE = Decimal("0.0001")
MAX_PRICE = Decimal("100000000")


class MarketSpecError(ValueError):
    """A `--market SYMBOL=PRICE` that the simulator cannot list; the message says why."""


@dataclass(frozen=True)
class Listing:
    """A listed market and the fair price its background market starts from."""

    instrument: Instrument
    price: Decimal

    @property
    def start_ticks(self) -> int:
        """Return the starting price in ticks, rounded to the nearest tick."""
        ticks = (self.price / self.instrument.tick_size).to_integral_value()
        return max(int(ticks), 1)


def parse_market(spec: str) -> Listing:
    """Return the listing of a `SYMBOL=PRICE` command-line spec."""
    symbol, _, price_text = spec.partition("=")
    try:
        price = Decimal(price_text)
    except InvalidOperation:
        raise MarketSpecError(f"market '{spec}' has no price; write it as SYMBOL=PRICE") from None
    if not price.is_finite() or not MIN_PRICE <= price < MAX_PRICE:
        raise MarketSpecError(
            f"price of '{spec}' must be at least {MIN_PRICE} and below {MAX_PRICE}"
        )
    base, quote = split_symbol(symbol)
    tick, step = SIZES.get(symbol) or sizes_for(price)
    instrument = Instrument(symbol, base, quote, tick, step, QUOTE_MIN_NOTIONAL[quote])
    return Listing(instrument, price)


def split_symbol(symbol: str) -> tuple[str, str]:
    """Return the base and quote asset of a symbol such as MTSUSDT."""
    for quote in sorted(QUOTE_MIN_NOTIONAL, key=len, reverse=True):
        base = symbol.removesuffix(quote)
        if base != symbol and base.isalnum() and base.isupper() and len(base) <= 12:
            return base, quote
    known = ", ".join(QUOTE_MIN_NOTIONAL)
    raise MarketSpecError(
        f"symbol '{symbol}' must be an upper-case base asset followed by one of {known}"
    )


def sizes_for(price: Decimal) -> tuple[Decimal, Decimal]:
    """Return a tick of about 1e-4 of the price and a step worth about a tenth of a quote unit."""
    magnitude = price.adjusted()
    return Decimal(1).scaleb(magnitude - 4), Decimal(1).scaleb(-magnitude - 1)
