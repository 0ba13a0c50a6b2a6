"""Names and defaults of a provisioned box."""

from __future__ import annotations

from typing import Any, Final

SIGNER_UID: Final = 6101
PANEL_UID: Final = 6121
ALERTS_UID: Final = 6131
PANEL_HOST: Final = "127.0.0.1"
PANEL_PORT: Final = 8080
ALLOWLIST: Final = ("127.0.0.1/32",)

EXCHANGE: Final = "sim"
"""The exchange every bot of a first-version box quotes on: the simulator."""
EXCHANGE_CCXT_ID: Final = "binance"

BOT_UIDS: Final = {"bot-1": 6111, "bot-2": 6112}
BOT_QUOTES: Final = {"bot-1": "USDT", "bot-2": "USDC"}
"""The quote currency of each bot's one pair (the base is the box's asset)."""

RISK_LIMITS: Final[dict[str, Any]] = {
    "max_position": "3000",
    "max_total_exposure": "5000",
    "max_drawdown": "500",
}
"""Each bot's risk limits: position in the asset, exposure and drawdown in the quote asset."""

STRATEGY: Final = "spread"
SPREAD_PARAMS: Final[dict[str, Any]] = {
    "half_spread_bps": 10,
    "order_size": "20",
    "max_inventory": "2000",
    "skew_bps": 20,
    "band_bps": 100,
}

DEFAULT_ASSET: Final = "MTS"
DEFAULT_TIER: Final = "starter"
