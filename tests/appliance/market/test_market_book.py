"""The L2 book holds each depth snapshot exactly as a plain dict of levels would.

Every test runs twice: on the module as the interpreter reads it and as Cython compiles it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import appliance.market.book
from appliance.vocabulary import Level, Side

SOURCE = Path(appliance.market.book.__file__).parent

levels = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 5)), max_size=8)
snapshots = st.tuples(st.integers(0, 10**6), levels, levels)


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    """Compile book.py with its book.pxd in a scratch directory and import the result."""
    with tempfile.TemporaryDirectory() as scratch:
        build = Path(scratch)
        for name in ("book.py", "book.pxd"):
            shutil.copy(SOURCE / name, build / name)
        built = subprocess.run(
            [sys.executable, "-m", "Cython.Build.Cythonize", "-3", "-i", "-q", "book.py"],
            cwd=build, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
        spec = importlib.util.spec_from_file_location("book", next(build.glob("book.*.so")))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["interpreted", "compiled"])
def book_module(request: pytest.FixtureRequest) -> ModuleType:
    """Return the book module as interpreted, then as compiled."""
    if request.param == "interpreted":
        return appliance.market.book
    module: ModuleType = request.getfixturevalue("compiled")
    return module


def plain(levels: list[Level]) -> dict[int, int]:
    """Return the levels as a dict: a repeated price keeps its last size, 0 lots none."""
    return {price: lots for price, lots in dict(levels).items() if lots}


@given(st.lists(snapshots, min_size=1, max_size=20))
def test_each_snapshot_replaces_the_book_as_a_plain_dict_would(
    book_module: ModuleType, events: list[tuple[int, list[Level], list[Level]]],
) -> None:
    book = book_module.Book("MTS/USDT")
    for update_id, bids, asks in events:
        book.apply_snapshot(update_id, bids, asks)
        want_bids, want_asks = plain(bids), plain(asks)
        assert book.levels(Side.BUY, 100) == sorted(want_bids.items(), reverse=True)
        assert book.levels(Side.SELL, 100) == sorted(want_asks.items())
        assert book.best_bid == max(want_bids, default=None)
        assert book.best_ask == min(want_asks, default=None)
        assert book.best_bid_lots == want_bids.get(max(want_bids, default=0), 0)
        assert book.best_ask_lots == want_asks.get(min(want_asks, default=0), 0)
        assert book.empty == (not want_bids or not want_asks)
        assert book.crossed == bool(want_bids and want_asks
                                    and max(want_bids) >= min(want_asks))
        assert book.last_update_id == update_id


@given(st.sets(st.integers(1, 40), max_size=8), st.sets(st.integers(41, 80), max_size=8),
       st.integers(1, 5))
def test_a_snapshot_in_exchange_order_reads_the_same_and_is_not_shared(
    book_module: ModuleType, bid_prices: set[int], ask_prices: set[int], lots: int,
) -> None:
    bids = [(price, lots) for price in sorted(bid_prices, reverse=True)]
    asks = [(price, lots) for price in sorted(ask_prices)]
    book = book_module.Book("MTS/USDT")
    book.apply_snapshot(1, bids, asks)
    bids.append((0, 1))
    asks.clear()
    assert book.levels(Side.BUY, 100) == [(price, lots) for price in
                                           sorted(bid_prices, reverse=True)]
    assert book.levels(Side.SELL, 100) == [(price, lots) for price in sorted(ask_prices)]


def test_levels_are_best_first_and_cut_at_n(book_module: ModuleType) -> None:
    book = book_module.Book("MTS/USDT")
    book.apply_snapshot(1, [(97, 1), (99, 2), (98, 3)], [(103, 1), (101, 2), (102, 3)])
    assert book.levels(Side.BUY, 2) == [(99, 2), (98, 3)]
    assert book.levels(Side.SELL, 2) == [(101, 2), (102, 3)]
    assert book.levels(Side.SELL, 0) == []


def test_a_locked_book_counts_as_crossed(book_module: ModuleType) -> None:
    book = book_module.Book("MTS/USDT")
    book.apply_snapshot(1, [(100, 1)], [(101, 1)])
    assert not book.crossed
    book.apply_snapshot(2, [(101, 1), (100, 1)], [(101, 1)])
    assert book.crossed
    book.apply_snapshot(3, [(101, 1), (100, 1)], [(101, 0)])
    assert not book.crossed and book.empty


def test_a_negative_size_is_refused(book_module: ModuleType) -> None:
    book = book_module.Book("MTS/USDT")
    with pytest.raises(ValueError, match="never negative"):
        book.apply_snapshot(1, [(100, -1)], [])
