"""What differs between exchanges, declared once per ccxt id; the shared code reads it.

A table names the exchange's own parameters and endpoints as ccxt 4.5.90 passes them through
(each was checked against ccxt's class of the exchange); an exchange without a table is not
supported, and a table that lacks something a caller needs says so by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final


class NoCapabilities(Exception):
    """The box has no capability table for the exchange, or the table lacks what is needed."""


class Paging(StrEnum):
    """How the account's trades are asked for page by page."""

    TRADE_ID = "trade id"
    """The page starts at the trade id given in the parameter."""
    TIME = "time"
    """The page starts at the time (ms) given in the parameter."""
    CURSOR = "cursor"
    """The page follows the cursor the previous answer gave, in the parameter."""


@dataclass(frozen=True)
class ClientOrderId:
    """The exchange's field for our client order id, and what it accepts."""

    param: str
    """The create-order parameter that carries it."""
    max_length: int
    characters: str
    """The characters allowed, as a regular-expression character class body."""
    lookup_param: str | None
    """The parameter that looks an order up by it; None: the exchange cannot."""

    def fits(self, client_id: str) -> bool:
        """Tell whether the exchange accepts `client_id` as a client order id."""
        pattern = f"[{self.characters}]{{1,{self.max_length}}}"
        return re.fullmatch(pattern, client_id) is not None

    def rule(self) -> str:
        """Return what the field accepts, as an error message tells it."""
        return f"{self.param}: 1 to {self.max_length} of [{self.characters}]"


@dataclass(frozen=True)
class TradePaging:
    """How the account's trades are paged, and whether their ids tell their order."""

    by: Paging
    param: str
    ascending_ids: bool
    """Whether trade ids are whole numbers that grow with time, as settlement needs."""


@dataclass(frozen=True)
class KeyPermissions:
    """Where a key's permissions are read, and where the answer says it may withdraw."""

    method: str
    path: str
    ccxt_call: str
    """ccxt's implicit method for the endpoint."""
    withdraw_field: tuple[str | int, ...]
    """The path into the answer of the field that tells about withdrawals."""
    withdraw_mark: str | None
    """What the field lists when withdrawals are on; None: the field is true when they are."""


UNIFIED_POST_ONLY: Final[Mapping[str, Any]] = MappingProxyType({"postOnly": True})
"""ccxt's unified post-only flag, which ccxt turns into the exchange's own."""


@dataclass(frozen=True)
class Capabilities:
    """Everything exchange-specific the adapter uses, for one ccxt exchange id.

    None (or False) in a field means the exchange has no such thing; `capabilities_of` refuses
    a caller that needs it.
    """

    ccxt_id: str
    client_order_id: ClientOrderId
    self_trade_prevention: Mapping[str, str]
    """Create-order parameters that ask the exchange to expire our incoming order when it would
    match our own resting one; empty where the exchange takes none."""
    trade_paging: TradePaging
    user_stream: bool
    """Whether ccxt.pro streams the account's orders and fills (watch_orders, watch_my_trades)."""
    weight_header: str | None
    """Prefix of the headers telling the request weight used per window (`<prefix><n><s|m|h|d>`);
    None: the exchange tells no weight."""
    rate_limit_headers: tuple[str, ...]
    """Every rate-limit header the exchange answers with."""
    post_only: Mapping[str, Any]
    """Create-order parameters that make a limit order post-only."""
    key_permissions: KeyPermissions | None
    """Where a key's permissions are read; None: the exchange does not report them."""

    def order_params(self, client_id: str) -> dict[str, Any]:
        """Return the parameters of our post-only limit order with client order id `client_id`."""
        return {**self.self_trade_prevention, self.client_order_id.param: client_id,
                **self.post_only}

    def lookup_params(self, client_id: str) -> dict[str, str]:
        """Return the parameters that look an order up by client order id `client_id`."""
        param = self.client_order_id.lookup_param
        if param is None:
            raise lacking(self.ccxt_id, ["client_order_id.lookup_param"])
        return {param: client_id}

    def trade_params(self, after: int) -> dict[str, Any]:
        """Return the parameters that ask for the trades with an id above `after`, if any can."""
        if self.trade_paging.by is Paging.TRADE_ID and after:
            return {self.trade_paging.param: after + 1}
        return {}


def _frozen(params: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(params)


BINANCE: Final = Capabilities(
    ccxt_id="binance",
    # ccxt binance passes newClientOrderId through and fetch_order takes origClientOrderId;
    # the length and characters are Binance's own check (simulator/errors.py).
    client_order_id=ClientOrderId("newClientOrderId", 36, r".A-Z:/a-z0-9_-", "origClientOrderId"),
    self_trade_prevention=_frozen({"selfTradePreventionMode": "EXPIRE_TAKER"}),
    trade_paging=TradePaging(Paging.TRADE_ID, "fromId", ascending_ids=True),
    user_stream=True,
    weight_header="X-MBX-USED-WEIGHT-",
    rate_limit_headers=("X-MBX-USED-WEIGHT-<n><s|m|h|d>", "X-MBX-ORDER-COUNT-<n><s|m|h|d>",
                        "Retry-After"),
    post_only=UNIFIED_POST_ONLY,
    key_permissions=KeyPermissions("GET", "/sapi/v1/account/apiRestrictions",
                                   "sapiGetAccountApiRestrictions", ("enableWithdrawals",), None),
)

OKX: Final = Capabilities(
    ccxt_id="okx",
    # ccxt okx: create_order_request, fetch_order and cancel_order all read clOrdId.
    client_order_id=ClientOrderId("clOrdId", 32, "A-Za-z0-9", "clOrdId"),
    # ccxt okx passes stpMode through; cancel_taker is Binance's EXPIRE_TAKER.
    self_trade_prevention=_frozen({"stpMode": "cancel_taker"}),
    # ccxt okx's fetch_my_trades (GET /api/v5/trade/fills-history) turns `since` into begin.
    trade_paging=TradePaging(Paging.TIME, "begin", ascending_ids=True),
    user_stream=True,
    weight_header=None,
    rate_limit_headers=(),
    post_only=UNIFIED_POST_ONLY,
    key_permissions=KeyPermissions("GET", "/api/v5/account/config", "privateGetAccountConfig",
                                   ("data", 0, "perm"), "withdraw"),
)

BYBIT: Final = Capabilities(
    ccxt_id="bybit",
    # ccxt bybit: create_order_request takes orderLinkId through; GET /v5/order/realtime and
    # POST /v5/order/cancel accept orderLinkId in place of orderId.
    client_order_id=ClientOrderId("orderLinkId", 36, "A-Za-z0-9_-", "orderLinkId"),
    # Bybit's v5 create order takes smpType; ccxt passes it through.
    self_trade_prevention=_frozen({"smpType": "CancelTaker"}),
    # GET /v5/execution/list pages by nextPageCursor; its execIds are UUIDs on some markets
    # (ccxt bybit.py shows both kinds), not numbers that grow with time.
    trade_paging=TradePaging(Paging.CURSOR, "cursor", ascending_ids=False),
    user_stream=True,
    weight_header=None,
    rate_limit_headers=("X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp"),
    post_only=UNIFIED_POST_ONLY,
    key_permissions=KeyPermissions("GET", "/v5/user/query-api", "privateGetV5UserQueryApi",
                                   ("result", "permissions", "Wallet"), "Withdraw"),
)

TABLES: Final[Mapping[str, Capabilities]] = MappingProxyType(
    {table.ccxt_id: table for table in (BINANCE, OKX, BYBIT)})
"""The capability table of every exchange the box supports, by ccxt id."""


def lacking(ccxt_id: str, missing: list[str]) -> NoCapabilities:
    """Return the refusal of an exchange whose table lacks the `missing` fields."""
    return NoCapabilities(
        f"the box does not support trading on {ccxt_id} yet: its capability table declares no "
        f"{', '.join(missing)}, which the box needs; trade on an exchange that has it"
    )


def capabilities_of(ccxt_id: str, *needed: str) -> Capabilities:
    """Return the capability table of `ccxt_id`, which must have every field `needed`.

    A need is a field name, or a dotted path into a field (`trade_paging.ascending_ids`);
    it is missing when it is None or False.
    """
    table = TABLES.get(ccxt_id)
    if table is None:
        raise NoCapabilities(
            f"the box does not support exchange '{ccxt_id}' yet: it has no capability table "
            f"for it; use one of {', '.join(sorted(TABLES))}"
        )
    missing = [need for need in needed if _value(table, need) in (None, False)]
    if missing:
        raise lacking(ccxt_id, missing)
    return table


def _value(table: Capabilities, path: str) -> Any:
    """Return the field at dotted `path` of `table`."""
    value: Any = table
    for name in path.split("."):
        if name not in {f.name for f in fields(value)}:
            raise ValueError(f"capability tables have no field '{path}'")
        value = getattr(value, name)
    return value
