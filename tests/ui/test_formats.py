"""How the panel writes numbers: exact, and aligned on the decimal point within a column."""

from __future__ import annotations

from decimal import Decimal as D

from ui.components.formats import clock, counted, decimal_column


def test_a_column_shares_one_count_of_decimals() -> None:
    assert decimal_column([D("1.01"), D("0.985"), D("1000")], 8) == ["1.010", "0.985", "1,000.000"]


def test_trailing_zeros_do_not_widen_a_column() -> None:
    assert decimal_column([D("0.80"), D("139.40")], 8) == ["0.8", "139.4"]


def test_long_quotients_are_cut_at_the_columns_limit() -> None:
    assert decimal_column([D(1) / D(3), D("2")], 6) == ["0.333333", "2.000000"]


def test_a_missing_value_shows_a_dash_and_counts_no_decimals() -> None:
    assert decimal_column([None, 3], 0) == ["—", "3"]


def test_tiny_numbers_are_written_without_exponents() -> None:
    assert decimal_column([D("2.4E-8")], 8) == ["0.00000002"]


def test_times_are_utc() -> None:
    assert clock(1_700_000_000.0) == "22:13:20"


def test_a_count_takes_the_plural_unless_it_is_one() -> None:
    assert [counted(n, "request") for n in (0, 1, 2, 1200)] == [
        "0 requests", "1 request", "2 requests", "1,200 requests"
    ]
