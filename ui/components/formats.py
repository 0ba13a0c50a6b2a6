"""How the panel writes numbers and times: aligned, exact, in UTC."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

NOTHING = "—"
"""What a cell shows when there is no value (an unquoted symbol's mark, say)."""


def decimals(value: Decimal) -> int:
    """Return how many decimals a number needs to be written exactly."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def decimal_column(values: Sequence[Decimal | int | None], max_places: int) -> list[str]:
    """Return a column's numbers with one count of decimals, so right-aligned points line up."""
    numbers = [None if value is None else Decimal(value) for value in values]
    places = min(max((decimals(n) for n in numbers if n is not None), default=0), max_places)
    return [NOTHING if n is None else f"{n:,.{places}f}" for n in numbers]


def clock(ts: float) -> str:
    """Return a Unix time as the UTC time of day."""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def counted(count: int, noun: str) -> str:
    """Return a count with its noun, plural unless the count is one."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def moment(ts: float | None) -> str:
    """Return a Unix time as a UTC date and time to the minute, or a dash for none."""
    return NOTHING if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))
