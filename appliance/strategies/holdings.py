"""What the account holds, and the order sizes the holdings and the market allow."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from appliance.market.rules import MarketRules


@dataclass(frozen=True)
class Holdings:
    """The box's stake in one pair, as a strategy sizes against it.

    `position` is the net base traded since the bot's log began (what `spread` skews against);
    the balances are the account's totals, free plus locked (what `ladder` weighs and what any
    strategy's quotes must be funded from).
    """

    position: Decimal
    base_balance: Decimal
    quote_balance: Decimal

    def ask_lots(self, rules: MarketRules) -> int:
        """Return how many lots the base balance can offer in total."""
        return max(0, rules.size_lots(self.base_balance))

    def bid_lots(self, price_ticks: int, rules: MarketRules) -> int:
        """Return how many lots the quote balance can buy at `price_ticks` (or any lower price)."""
        return max(0, int(self.quote_balance // (rules.price(price_ticks) * rules.lot)))
