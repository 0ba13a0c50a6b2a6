"""One symbol's position by the average-cost method, rebuilt from fill events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from appliance.store.events import Event, OrderFilled
from appliance.vocabulary import Side

ZERO = Decimal(0)


@dataclass
class Position:
    """Inventory, average cost, realized PnL, fees and volume of one symbol, in its quote asset."""

    symbol: str
    base: Decimal = ZERO
    cost: Decimal = ZERO  # signed: average cost times base
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    fills: int = 0

    @property
    def average_cost(self) -> Decimal:
        """Return the average entry price of the open inventory (0 when flat)."""
        return self.cost / self.base if self.base else ZERO

    def unrealized(self, mark: Decimal) -> Decimal:
        """Return the PnL of the open inventory at price `mark`."""
        return mark * self.base - self.cost

    def pnl(self, mark: Decimal) -> Decimal:
        """Return realized plus unrealized PnL, net of fees."""
        return self.realized + self.unrealized(mark) - self.fees

    def apply_fill(
        self, side: Side, price: Decimal, amount: Decimal, fee: Decimal, fee_in_base: bool
    ) -> None:
        """Apply one fill; a fee in the base asset leaves inventory as if sold at the price."""
        self._trade(amount if side == Side.BUY else -amount, price)
        if fee_in_base:
            self._trade(-fee, price)
            self.fees += fee * price
        else:
            self.fees += fee
        self.volume += price * amount
        self.fills += 1

    def _trade(self, signed: Decimal, price: Decimal) -> None:
        if not self.base or (self.base > 0) == (signed > 0):
            self.base += signed
            self.cost += price * signed
            return
        closing = min(abs(signed), abs(self.base))
        direction = 1 if self.base > 0 else -1
        average = self.average_cost
        self.realized += (price - average) * closing * direction
        self.base -= closing * direction
        self.cost = average * self.base
        rest = abs(signed) - closing
        if rest:
            self.base += rest * -direction
            self.cost = price * self.base


def apply_fill_event(positions: dict[str, Position], symbol: str, fill: OrderFilled) -> None:
    """Apply one fill of `symbol` to its position, creating the position if needed."""
    position = positions.setdefault(symbol, Position(symbol))
    position.apply_fill(fill.side, fill.price, fill.amount, fill.fee,
                        fee_in_base=fill.fee_asset == fill.base)


def positions_from_events(events: Iterable[Event]) -> dict[str, Position]:
    """Rebuild every symbol's position from the fill events of a log."""
    positions: dict[str, Position] = {}
    for event in events:
        if isinstance(event.body, OrderFilled):
            apply_fill_event(positions, event.symbol, event.body)
    return positions
