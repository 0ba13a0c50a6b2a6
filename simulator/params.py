"""Read Binance request parameters and refuse malformed ones with Binance's codes."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qsl

from simulator import errors

DECIMAL_PATTERN = re.compile(errors.DECIMAL_RANGE)
INTEGER_PATTERN = re.compile(errors.INTEGER_RANGE)
SYMBOL_PATTERN = re.compile(errors.SYMBOL_RANGE)
CLIENT_ORDER_ID_PATTERN = re.compile(errors.CLIENT_ORDER_ID_RANGE)
SYMBOLS_RANGE = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'
SYMBOLS_PATTERN = re.compile(SYMBOLS_RANGE)

E = TypeVar("E", bound=StrEnum)


class Params:
    """The parameters of one request, from its query string and form body.

    Every parameter an endpoint takes is read through one of the methods below, so that
    `check_all_read` can refuse a request that carries anything else, as Binance does.
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            if name in self._values:
                raise errors.duplicate_parameter()
            self._values[name] = value
        self._read: set[str] = set()

    @classmethod
    def parse(cls, query: str, body: str) -> Params:
        """Return the parameters of a raw query string and a raw form body."""
        return cls(
            parse_qsl(query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
        )

    def __contains__(self, name: str) -> bool:
        """Return whether the request carries a parameter."""
        return name in self._values

    def optional_text(self, name: str) -> str | None:
        """Return a parameter's text, None when absent; refuse an empty one."""
        self._read.add(name)
        value = self._values.get(name)
        if value == "":
            raise errors.empty_parameter(name)
        return value

    def text(self, name: str) -> str:
        """Return a mandatory parameter's text."""
        self._read.add(name)
        value = self._values.get(name)
        if not value:
            raise errors.mandatory_missing(name)
        return value

    def optional_decimal(self, name: str) -> Decimal | None:
        """Return a decimal parameter, None when absent."""
        value = self.optional_text(name)
        return None if value is None else _decimal(name, value)

    def decimal(self, name: str) -> Decimal:
        """Return a mandatory decimal parameter."""
        return _decimal(name, self.text(name))

    def optional_integer(self, name: str) -> int | None:
        """Return a non-negative integer parameter, None when absent."""
        value = self.optional_text(name)
        return None if value is None else _integer(name, value)

    def integer(self, name: str) -> int:
        """Return a mandatory non-negative integer parameter."""
        return _integer(name, self.text(name))

    def limit(self, default: int, maximum: int) -> int:
        """Return the `limit` parameter: `default` when absent, never above `maximum`."""
        limit = self.optional_integer("limit")
        if limit is None:
            return default
        if limit < 1:
            raise errors.invalid_value("limit")
        return min(limit, maximum)

    def optional_choice(self, name: str, choices: type[E], error: errors.BinanceError) -> E | None:
        """Return an enumerated parameter, None when absent; refuse others with `error`."""
        value = self.optional_text(name)
        if value is None:
            return None
        try:
            return choices(value)
        except ValueError:
            raise error from None

    def choice(self, name: str, choices: type[E], error: errors.BinanceError) -> E:
        """Return a mandatory enumerated parameter; refuse others with `error`."""
        value = self.optional_choice(name, choices, error)
        if value is None:
            raise errors.mandatory_missing(name)
        return value

    def optional_flag(self, name: str) -> bool:
        """Return a `true`/`false` parameter, False when absent."""
        value = self.optional_text(name)
        if value not in (None, "true", "false"):
            raise errors.invalid_value(name)
        return value == "true"

    def symbol(self) -> str:
        """Return the mandatory `symbol` parameter, well formed."""
        return _symbol(self.text("symbol"))

    def optional_symbol(self) -> str | None:
        """Return the `symbol` parameter when sent, well formed."""
        value = self.optional_text("symbol")
        return None if value is None else _symbol(value)

    def symbols(self) -> list[str] | None:
        """Return the symbols of `symbol` or `symbols` (a JSON array), None when neither is sent."""
        symbol = self.optional_symbol()
        listed = self.optional_text("symbols")
        if symbol is not None and listed is not None:
            raise errors.BinanceError(-1128, "Combination of optional parameters invalid.")
        if listed is None:
            return None if symbol is None else [symbol]
        if not SYMBOLS_PATTERN.fullmatch(listed):
            raise errors.illegal_chars("symbols", SYMBOLS_RANGE)
        symbols: list[str] = json.loads(listed)
        return symbols

    def client_order_id(self, name: str) -> str | None:
        """Return a client order id parameter when sent, well formed."""
        value = self.optional_text(name)
        if value is not None and not CLIENT_ORDER_ID_PATTERN.fullmatch(value):
            raise errors.illegal_chars(name, errors.CLIENT_ORDER_ID_RANGE)
        return value

    def check_all_read(self) -> None:
        """Refuse the request when it carries a parameter the endpoint does not take."""
        unread = self._values.keys() - self._read
        if unread:
            raise errors.unread_parameters(len(self._values) - len(unread), len(self._values))


def _decimal(name: str, value: str) -> Decimal:
    """Return a decimal parameter's value, or refuse a malformed one."""
    if not DECIMAL_PATTERN.fullmatch(value):
        raise errors.illegal_chars(name, errors.DECIMAL_RANGE)
    return Decimal(value)


def _integer(name: str, value: str) -> int:
    """Return a non-negative integer parameter's value, or refuse a malformed one."""
    if not INTEGER_PATTERN.fullmatch(value):
        raise errors.illegal_chars(name, errors.INTEGER_RANGE)
    return int(value)


def _symbol(value: str) -> str:
    """Return a well-formed symbol, or refuse a malformed one."""
    if not SYMBOL_PATTERN.fullmatch(value):
        raise errors.illegal_chars("symbol", errors.SYMBOL_RANGE)
    return value
