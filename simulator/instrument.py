"""One spot market's rules: its assets, tick and step sizes, filters, and unit conversions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from simulator import errors
from simulator.const import (
    ASSET_DECIMALS,
    ASSET_SCALE,
    AVERAGE_PRICE_MINUTES,
    PERCENT_PRICE_ASK_DOWN,
    PERCENT_PRICE_ASK_UP,
    PERCENT_PRICE_BID_DOWN,
    PERCENT_PRICE_BID_UP,
)

MAX_PRICE_TICKS = 10**10
MAX_QUANTITY_LOTS = 10**10
ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET")


def decimal_text(value: Decimal) -> str:
    """Return an amount the way Binance writes it: eight decimals."""
    return f"{value:.{ASSET_DECIMALS}f}"


def units_text(units: int) -> str:
    """Return an integer amount of 1e-8 asset units as Binance's eight-decimal text."""
    return decimal_text(Decimal(units).scaleb(-ASSET_DECIMALS))


def _units_per(size: Decimal, what: str) -> int:
    """Return how many 1e-8 units a size is, refusing a size finer than that."""
    units = size * ASSET_SCALE
    if units != units.to_integral_value() or units < 1:
        raise ValueError(f"{what} {size} is not a whole multiple of 1e-{ASSET_DECIMALS}")
    return int(units)


@dataclass(frozen=True)
class Instrument:
    """A spot market: prices are whole ticks, quantities whole lots inside the simulator."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal
    base_units_per_lot: int = field(init=False)
    quote_units_per_tick_lot: int = field(init=False)
    min_notional_tick_lots: int = field(init=False)

    def __post_init__(self) -> None:
        """Derive the integer conversions from the decimal sizes."""
        object.__setattr__(self, "base_units_per_lot", _units_per(self.step_size, "step size"))
        object.__setattr__(
            self,
            "quote_units_per_tick_lot",
            _units_per(self.tick_size * self.step_size, "tick size times step size"),
        )
        tick_lot = self.tick_size * self.step_size
        notional = (self.min_notional / tick_lot).to_integral_value(rounding="ROUND_CEILING")
        object.__setattr__(self, "min_notional_tick_lots", int(notional))

    @property
    def max_notional(self) -> Decimal:
        """Return the largest order value the filters allow: top price times top quantity."""
        return self.tick_size * MAX_PRICE_TICKS * self.step_size * MAX_QUANTITY_LOTS

    def price_ticks(self, price: Decimal, name: str = "price") -> int:
        """Return a price in ticks, or refuse it as Binance's PRICE_FILTER does."""
        _check_precision(price, name)
        if not self.tick_size <= price <= self.tick_size * MAX_PRICE_TICKS:
            raise errors.filter_failure("PRICE_FILTER")
        ticks, rest = divmod(price, self.tick_size)
        if rest:
            raise errors.filter_failure("PRICE_FILTER")
        return int(ticks)

    def quantity_lots(self, quantity: Decimal, name: str = "quantity") -> int:
        """Return a quantity in lots, or refuse it as Binance's LOT_SIZE filter does."""
        _check_precision(quantity, name)
        if not self.step_size <= quantity <= self.step_size * MAX_QUANTITY_LOTS:
            raise errors.filter_failure("LOT_SIZE")
        lots, rest = divmod(quantity, self.step_size)
        if rest:
            raise errors.filter_failure("LOT_SIZE")
        return int(lots)

    def quote_tick_lots(self, amount: Decimal, name: str = "quoteOrderQty") -> int:
        """Return a quote amount in tick-lots (price tick times quantity step), rounded down."""
        _check_precision(amount, name)
        tick_lot = self.tick_size * self.step_size
        if not tick_lot <= amount <= self.max_notional:
            raise errors.filter_failure("NOTIONAL")
        return int(amount // tick_lot)

    def check_notional(self, price_ticks: int, lots: int) -> None:
        """Refuse a limit order worth less than the symbol's minimum notional."""
        if price_ticks * lots < self.min_notional_tick_lots:
            raise errors.filter_failure("NOTIONAL")

    def check_percent_price(self, is_buy: bool, price_ticks: int, average: Fraction | None) -> None:
        """Refuse a limit price too far from the average price, as PERCENT_PRICE_BY_SIDE does.

        Before the symbol's first trade there is no average price and any price passes.
        """
        if average is None:
            return
        up, down = (
            (PERCENT_PRICE_BID_UP, PERCENT_PRICE_BID_DOWN)
            if is_buy
            else (PERCENT_PRICE_ASK_UP, PERCENT_PRICE_ASK_DOWN)
        )
        if not average * Fraction(down) <= price_ticks <= average * Fraction(up):
            raise errors.filter_failure("PERCENT_PRICE_BY_SIDE")

    def price(self, ticks: int) -> Decimal:
        """Return a price in ticks as a decimal price."""
        return ticks * self.tick_size

    def quantity(self, lots: int) -> Decimal:
        """Return a quantity in lots as a decimal quantity."""
        return lots * self.step_size

    def quote_amount(self, tick_lots: int) -> Decimal:
        """Return a quote amount in tick-lots as a decimal amount."""
        return tick_lots * self.tick_size * self.step_size

    def price_text(self, ticks: int) -> str:
        """Return a price in ticks as Binance's text."""
        return decimal_text(self.price(ticks))

    def quantity_text(self, lots: int) -> str:
        """Return a quantity in lots as Binance's text."""
        return decimal_text(self.quantity(lots))

    def quote_text(self, tick_lots: int) -> str:
        """Return a quote amount in tick-lots as Binance's text."""
        return decimal_text(self.quote_amount(tick_lots))

    def filters(self) -> list[dict[str, object]]:
        """Return the symbol's filters as `/api/v3/exchangeInfo` lists them."""
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal_text(self.tick_size),
                "maxPrice": decimal_text(self.tick_size * MAX_PRICE_TICKS),
                "tickSize": decimal_text(self.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": decimal_text(self.step_size),
                "maxQty": decimal_text(self.step_size * MAX_QUANTITY_LOTS),
                "stepSize": decimal_text(self.step_size),
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": str(PERCENT_PRICE_BID_UP),
                "bidMultiplierDown": str(PERCENT_PRICE_BID_DOWN),
                "askMultiplierUp": str(PERCENT_PRICE_ASK_UP),
                "askMultiplierDown": str(PERCENT_PRICE_ASK_DOWN),
                "avgPriceMins": AVERAGE_PRICE_MINUTES,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": decimal_text(self.min_notional),
                "applyMinToMarket": False,
                "maxNotional": decimal_text(self.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": AVERAGE_PRICE_MINUTES,
            },
        ]


def _check_precision(value: Decimal, name: str) -> None:
    """Refuse an amount with more decimals than an asset has."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -ASSET_DECIMALS:
        raise errors.too_much_precision(name)
