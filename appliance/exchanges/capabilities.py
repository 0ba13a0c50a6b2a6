"""What differs between exchanges, declared per ccxt id; everything else is shared."""

from __future__ import annotations

from typing import Final

SELF_TRADE_PREVENTION: Final[dict[str, dict[str, str]]] = {
    # Binance expires the incoming order when it would match the same account's resting one.
    "binance": {"selfTradePreventionMode": "EXPIRE_TAKER"},
}
"""Order parameters that ask the exchange itself to prevent self-trades, where it can."""


def order_params(exchange_id: str) -> dict[str, str]:
    """Return the extra parameters every order to `exchange_id` carries."""
    return dict(SELF_TRADE_PREVENTION.get(exchange_id, {}))
