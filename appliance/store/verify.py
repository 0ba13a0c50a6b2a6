"""Check that a bot's event log is one unbroken chain, and say where and how it breaks.

`python -m appliance.store.verify --data DIR [--bot bot-1]` reads each bot's `events.db`
read-only and prints "verified N rows" or "broken at row SEQ: why" per bot; it exits 1 when
a log is broken or cannot be checked, 0 when every one verifies.

A chain shows a row edited, deleted, inserted or moved; it cannot show rows cut off its end,
nor a log rewritten and rechained whole (see `appliance.store.chain`). A `ChainWatch`, which
the panel keeps per log, finds a cut end too: the last row it verified is gone.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import sqlite_utils

from appliance.datadir import DataDir
from appliance.store.chain import START, Breach, Break, ChainBroken, Head, explain, follow_chain
from appliance.store.database import StoreUnavailable, read_from
from appliance.store.events import CHAIN_BATCH, is_chained, read_links

NOT_CHAINED = "not chained yet: its bot chains it when it next starts"
WATCH_ROWS = 20_000
"""How many rows a watch hashes at most per check (about 0.2 s): a long log is verified over
several checks rather than in one long pause of the panel."""


@dataclass(frozen=True)
class Verdict:
    """What checking a log's chain found: how many rows verified, or where it breaks and why.

    `done` is False while a watch has rows left to check; `seq` and `breach` name the row
    where the chain breaks and how, when it does.
    """

    ok: bool
    rows: int
    seq: int | None = None
    breach: Breach | None = None
    reason: str = ""
    done: bool = True

    def __str__(self) -> str:
        """Return the verdict as the command prints it."""
        if self.ok:
            return f"verified {self.rows} rows" + ("" if self.done else " so far")
        if self.seq is None:
            return self.reason
        return f"broken at row {self.seq}: {self.breach} ({self.reason})"


class Walk(NamedTuple):
    """How far a check of the chain went: its new head, the rows verified (before the break,
    if one was found), and whether it reached the log's end."""

    head: Head
    rows: int
    broken: Break | None
    done: bool


def walk(db: sqlite_utils.Database, head: Head, limit: int | None = None) -> Walk:
    """Verify the rows after `head`, at most `limit` of them, and say how far that went."""
    rows = 0
    while limit is None or rows < limit:
        links = read_links(db, head.seq, CHAIN_BATCH if limit is None
                           else min(CHAIN_BATCH, limit - rows))
        if not links:
            return Walk(head, rows, None, True)
        try:
            head, count = follow_chain(links, head)
        except ChainBroken as exc:
            at = next(n for n, link in enumerate(links) if link.seq == exc.seq)
            before = head if at == 0 else Head(links[at - 1].seq, links[at - 1].hash)
            after = links[at + 1:at + 2] or read_links(db, exc.seq, 1)
            found = explain(before, links[at], after[0] if after else None,
                            lambda digest: _seq_of(db, digest))
            return Walk(before, rows + sum(link.seq < found.seq for link in links[:at]), found,
                        True)
        rows += count
    return Walk(head, rows, None, False)


def _seq_of(db: sqlite_utils.Database, digest: str) -> int | None:
    """Return the seq of the row hashed `digest`, if the log holds one."""
    row = db.execute("SELECT seq FROM events WHERE hash = ? ORDER BY seq LIMIT 1",
                     [digest]).fetchone()
    return None if row is None else int(row[0])


def verdict_of(found: Walk, rows: int) -> Verdict:
    """Return the verdict of a check that verified `rows` rows in all and found `found`."""
    if found.broken is None:
        return Verdict(True, rows, done=found.done)
    return Verdict(False, rows, found.broken.seq, found.broken.breach, found.broken.detail)


def verify_log(db: sqlite_utils.Database) -> Verdict:
    """Verify a whole open log."""
    if not is_chained(db):
        return Verdict(False, 0, reason=NOT_CHAINED)
    found = walk(db, START)
    return verdict_of(found, found.rows)


def verify(path: Path) -> Verdict:
    """Verify the whole log at `path`, opened read-only.

    Raise StoreUnavailable, saying why, when it cannot be read.
    """
    return read_from(path, verify_log)


class ChainWatch:
    """One log's chain, checked as it grows: each check hashes only the rows new since the last.

    The first check verifies the log from its first row (over several checks for a long
    log); each later one first looks that the last row verified is still there as it was, then
    verifies the rows after it. Once broken, a log stays reported broken. A row verified
    before and edited since shows at the next full verify: the panel's start, or the command.
    """

    def __init__(self, path: Path, limit: int = WATCH_ROWS) -> None:
        self.path = path
        self.limit = limit
        self._head = START
        self._rows = 0
        self._broken: Verdict | None = None

    def check(self) -> Verdict:
        """Verify the rows written since the last check; raise StoreUnavailable if unreadable."""
        if self._broken is None:
            return read_from(self.path, self._check)
        return self._broken

    def _check(self, db: sqlite_utils.Database) -> Verdict:
        if not is_chained(db):
            return Verdict(False, 0, reason=NOT_CHAINED)
        changed = self._head_changed(db)
        if changed is not None:
            self._broken = changed
            return changed
        found = walk(db, self._head, self.limit)
        self._head, self._rows = found.head, self._rows + found.rows
        verdict = verdict_of(found, self._rows)
        if not verdict.ok:
            self._broken = verdict
        return verdict

    def _head_changed(self, db: sqlite_utils.Database) -> Verdict | None:
        """Return the break when the last row verified is gone or changed since, else None."""
        if self._head.seq == 0:
            return None
        row = db.execute("SELECT hash FROM events WHERE seq = ?", [self._head.seq]).fetchone()
        if row is None:
            return Verdict(False, self._rows - 1, self._head.seq, Breach.DELETED,
                           "it was verified before and is gone")
        if row[0] != self._head.hash:
            return Verdict(False, self._rows - 1, self._head.seq, Breach.EDITED,
                           "its hash changed since it was verified")
        return None


def main(argv: list[str] | None = None) -> int:
    """Verify each bot's event log; print a line per bot and return 1 if any is not verified."""
    parser = argparse.ArgumentParser(prog="python -m appliance.store.verify",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the box's data directory")
    parser.add_argument("--bot", help="verify only this bot's log, e.g. bot-1")
    args = parser.parse_args(argv)
    data = DataDir(args.data)
    bots = [args.bot] if args.bot else sorted(
        path.parent.name for path in data.bots.glob("*/events.db"))
    if not bots:
        print(f"no bot has an events.db under {data.bots}; is --data the box's data directory?",
              file=sys.stderr)
        return 1
    verified = True
    for bot in bots:
        try:
            verdict = verify(data.events_db(bot))
        except StoreUnavailable as exc:
            print(f"{bot}: cannot verify: {exc}")
            verified = False
            continue
        print(f"{bot}: {verdict}")
        verified = verified and verdict.ok
    return 0 if verified else 1


if __name__ == "__main__":
    sys.exit(main())
