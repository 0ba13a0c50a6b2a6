"""A market's trading rules, and the conversion between exchange decimals and engine integers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from functools import cached_property
from typing import Any


class MarketRulesError(Exception):
    """The exchange describes a market in a way the engine cannot trade."""


@dataclass(frozen=True)
class MarketRules:
    """Tick, lot and minimum notional of one market; prices and sizes are integers inside."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    min_notional: Decimal

    @classmethod
    def from_ccxt(cls, market: dict[str, Any]) -> MarketRules:
        """Read the rules from a ccxt market (ccxt reports tick and lot sizes as floats)."""
        precision, limits = market.get("precision", {}), market.get("limits", {})
        tick, lot = _decimal(precision.get("price")), _decimal(precision.get("amount"))
        if not tick or not lot:
            raise MarketRulesError(
                f"{market.get('symbol')}: the exchange gives no tick or lot size; "
                "the engine quotes only markets with both"
            )
        min_notional = _decimal((limits.get("cost") or {}).get("min")) or Decimal(0)
        return cls(market["symbol"], market["base"], market["quote"], tick, lot, min_notional)

    def price_ticks(self, price: Decimal) -> int:
        """Return a price in whole ticks, rounded down."""
        return int((price / self.tick).to_integral_value(ROUND_FLOOR))

    def size_lots(self, size: Decimal) -> int:
        """Return a size in whole lots, rounded down."""
        return int((size / self.lot).to_integral_value(ROUND_FLOOR))

    def min_lots(self, price_ticks: int) -> int:
        """Return the fewest lots (one at least) an order at `price_ticks` needs: min notional."""
        numerator, denominator = self._min_notional_ticks_lots
        return max(1, -(-numerator // (denominator * price_ticks)))

    @cached_property
    def _min_notional_ticks_lots(self) -> tuple[int, int]:
        """Return min notional in tick·lot units as an exact integer ratio (hot paths need ints)."""
        return (self.min_notional / (self.tick * self.lot)).as_integer_ratio()

    def price(self, ticks: int) -> Decimal:
        """Return the exchange price of a tick count."""
        return self.tick * ticks

    def size(self, lots: int) -> Decimal:
        """Return the exchange size of a lot count."""
        return self.lot * lots


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
