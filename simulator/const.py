"""Names, defaults and limits of the exchange simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from simulator.orders import SelfTradePrevention

ASSET_DECIMALS: Final = 8
"""Balances are kept as integers of 1e-8 of an asset, like Binance's 8-decimal amounts."""
ASSET_SCALE: Final = 10**ASSET_DECIMALS

COMMISSION_DENOMINATOR: Final = 10_000
MAKER_COMMISSION: Final = 10
"""Maker commission in basis points: 0.1 %, charged in the asset received."""
TAKER_COMMISSION: Final = 10
"""Taker commission in basis points: 0.1 %, charged in the asset received."""

MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body the simulator reads; a larger one is refused, never awaited."""

DEFAULT_RECV_WINDOW_MS: Final = 5_000
MAX_RECV_WINDOW_MS: Final = 60_000
MAX_CLOCK_AHEAD_MS: Final = 1_000
"""A signed request whose timestamp is this far ahead of the server clock is refused."""

API_KEY_LENGTH: Final = 64
TRADING_AUTHORITY_NEVER_EXPIRES_MS: Final = 253_402_300_799_000
"""A key's `tradingAuthorityExpirationTime`: 9999-12-31T23:59:59Z, as the simulator never
takes a key's trading permission away."""
SAPI_IP_WEIGHT_PER_MINUTE: Final = 12_000
"""The weight an IP may use per minute on each `/sapi/` endpoint, apart from `/api/`."""

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 9100
DEFAULT_SEED: Final = 0

LIQUIDITY_ACCOUNT: Final = "sim-liquidity"
"""The simulator's own account that keeps resting levels around the fair price."""
TAKER_ACCOUNT: Final = "sim-taker"
"""The simulator's own account that sends the outside market orders."""
INTERNAL_ACCOUNT_NOTIONAL: Final = Decimal("10000000")
"""Quote value of each asset the internal accounts start with, per market."""

DEFAULT_STP_MODE: Final = SelfTradePrevention.EXPIRE_MAKER
"""The STP mode an order gets when neither it nor its account names one, as on Binance."""

ACCOUNTS_FILE: Final = "accounts.json"
ACCOUNTS_FILE_VERSION: Final = 1

HISTORY_LIMIT: Final = 10_000
"""Closed orders and trades kept per account and symbol; older ones are forgotten."""
PUBLIC_TRADES_LIMIT: Final = 1_000
"""Public trades kept per symbol (the most `/api/v3/trades` ever returns)."""

PERCENT_PRICE_BID_UP: Final = Decimal("5")
PERCENT_PRICE_BID_DOWN: Final = Decimal("0.2")
PERCENT_PRICE_ASK_UP: Final = Decimal("5")
PERCENT_PRICE_ASK_DOWN: Final = Decimal("0.2")
AVERAGE_PRICE_MINUTES: Final = 5
"""PERCENT_PRICE_BY_SIDE: a limit price must lie within these multiples of the average price."""

DAY_MS: Final = 86_400_000

DEPTH_DEFAULT_LIMIT: Final = 100
DEPTH_MAX_LIMIT: Final = 5_000
TRADES_DEFAULT_LIMIT: Final = 500
TRADES_MAX_LIMIT: Final = 1_000
ORDERS_DEFAULT_LIMIT: Final = 500
ORDERS_MAX_LIMIT: Final = 1_000
KLINES_DEFAULT_LIMIT: Final = 500
KLINES_MAX_LIMIT: Final = 1_000
