"""The L2 book follows snapshots and diff-depth deltas exactly as a plain dict of levels would.

Every test runs twice: on the module as the interpreter reads it and as Cython compiles it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import appliance.market.book
from appliance.vocabulary import Level, Side

SOURCE = Path(appliance.market.book.__file__).parent

levels = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 5)), max_size=8)
snapshots = st.tuples(st.just("snapshot"), st.integers(-2, 5), st.integers(0, 0), levels, levels)
# (kind, first id relative to the book's next id, how many ids the delta spans, bids, asks)
deltas = st.tuples(st.just("delta"), st.integers(-3, 2), st.integers(0, 3), levels, levels)


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


@dataclass
class NaiveBook:
    """The rules of Binance's diff-depth stream written as plainly as possible."""

    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    last: int = -1
    synced: bool = False

    def snapshot(self, update_id: int, bids: list[Level], asks: list[Level]) -> None:
        self.bids = {p: q for p, q in dict(bids).items() if q}
        self.asks = {p: q for p, q in dict(asks).items() if q}
        self.last, self.synced = update_id, True

    def delta(self, first: int, final: int, bids: list[Level], asks: list[Level]) -> str:
        if not self.synced:
            return "gap"
        if final <= self.last:
            return "ignored"
        if first > self.last + 1:
            self.bids, self.asks, self.synced = {}, {}, False
            return "gap"
        for side, changes in ((self.bids, bids), (self.asks, asks)):
            for price, lots in changes:
                if lots:
                    side[price] = lots
                else:
                    side.pop(price, None)
        self.last = final
        return "applied"


def outcome(book_module: ModuleType, book: Any, first: int, final: int, bids: list[Level],
            asks: list[Level]) -> str:
    try:
        return "applied" if book.apply_delta(first, final, bids, asks) else "ignored"
    except book_module.BookGap:
        return "gap"


def assert_same(book: Any, model: NaiveBook) -> None:
    assert book.levels(Side.BUY, 100) == sorted(model.bids.items(), reverse=True)
    assert book.levels(Side.SELL, 100) == sorted(model.asks.items())
    assert book.best_bid == max(model.bids, default=None)
    assert book.best_ask == min(model.asks, default=None)
    assert book.best_bid_lots == model.bids.get(max(model.bids, default=0), 0)
    assert book.best_ask_lots == model.asks.get(min(model.asks, default=0), 0)
    assert book.empty == (not model.bids or not model.asks)
    assert book.crossed == bool(model.bids and model.asks and max(model.bids) >= min(model.asks))
    assert book.synced == model.synced
    if model.synced:
        assert book.last_update_id == model.last


@given(st.lists(st.one_of(snapshots, deltas), max_size=40))
def test_snapshots_and_deltas_match_a_plain_dict_model(
    book_module: ModuleType, events: list[tuple[str, int, int, list[Level], list[Level]]],
) -> None:
    book, model = book_module.Book("MTS/USDT"), NaiveBook()
    for kind, offset, span, bids, asks in events:
        if kind == "snapshot":
            update_id = max(0, model.last + offset)
            book.apply_snapshot(update_id, bids, asks)
            model.snapshot(update_id, bids, asks)
        else:
            first = model.last + 1 + offset
            expected = model.delta(first, first + span, bids, asks)
            assert outcome(book_module, book, first, first + span, bids, asks) == expected
        assert_same(book, model)


def test_a_gap_asks_for_a_snapshot_and_a_snapshot_recovers(book_module: ModuleType) -> None:
    book = book_module.Book("MTS/USDT")
    book.apply_snapshot(100, [(99, 5)], [(101, 5)])
    missed = r"MTS/USDT: depth updates 101\.\.102 were missed; fetch a depth snapshot"
    with pytest.raises(book_module.BookGap, match=missed):
        book.apply_delta(103, 104, [(100, 1)], [])
    assert book.empty and not book.synced
    with pytest.raises(book_module.BookGap, match="snapshot"):
        book.apply_delta(105, 105, [], [])
    book.apply_snapshot(104, [(99, 5), (100, 1)], [(101, 5)])
    assert book.apply_delta(104, 105, [], [(101, 0), (102, 3)])
    assert (book.best_bid, book.best_ask, book.best_ask_lots) == (100, 102, 3)


def test_a_delta_before_any_snapshot_asks_for_one(book_module: ModuleType) -> None:
    with pytest.raises(book_module.BookGap, match="snapshot"):
        book_module.Book("MTS/USDT").apply_delta(1, 1, [(99, 1)], [])


def test_deltas_older_than_the_snapshot_are_ignored_and_a_straddling_one_applies(
    book_module: ModuleType,
) -> None:
    book = book_module.Book("MTS/USDT")
    book.apply_snapshot(100, [(99, 5)], [(101, 5)])
    assert not book.apply_delta(95, 100, [(99, 0)], [])
    assert book.best_bid == 99
    assert book.apply_delta(98, 103, [(99, 0), (98, 2)], [])
    assert (book.best_bid, book.last_update_id) == (98, 103)


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
    book.apply_delta(2, 2, [(101, 1)], [])
    assert book.crossed
    book.apply_delta(3, 3, [], [(101, 0)])
    assert not book.crossed and book.empty


def test_a_negative_size_is_refused(book_module: ModuleType) -> None:
    book = book_module.Book("MTS/USDT")
    with pytest.raises(ValueError, match="never negative"):
        book.apply_snapshot(1, [(100, -1)], [])
