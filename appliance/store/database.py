"""Open a database as its one writer (WAL) or as a read-only reader."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlite_utils

_Read = TypeVar("_Read")


class StoreUnavailable(Exception):
    """A database could not be opened; the message says which and why."""


def open_writer(path: Path) -> sqlite_utils.Database:
    """Open path as its one writer, in WAL mode, creating it if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return sqlite_utils.Database(conn)


def close_writer(db: sqlite_utils.Database) -> None:
    """Close a database's one writer, leaving it readable by the readers' uids.

    A WAL database whose writer closed has no -wal and -shm files, and a read-only reader of
    another uid cannot create them ("attempt to write a readonly database"): the panel could
    not read a stopped bot's log. So the writer leaves it in rollback-journal mode, which a
    reader opens without them, and the next writer turns WAL on again. While a reader is still
    connected the switch waits for nothing and is skipped: the files then stay, and so does
    every reader's access.
    """
    try:
        db.execute("PRAGMA busy_timeout=0")
        db.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error:
        pass
    finally:
        db.close()


def open_reader(path: Path) -> sqlite_utils.Database:
    """Open path read-only; it must already exist."""
    if not path.exists():
        raise StoreUnavailable(f"{path} does not exist yet; is its writer running?")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read {path}: {exc}") from None
    return sqlite_utils.Database(conn)


def read_from(path: Path, work: Callable[[sqlite_utils.Database], _Read]) -> _Read:
    """Return what `work` reads from the database at `path`, opened read-only for it alone.

    Raise StoreUnavailable, saying which database and why, when it cannot be opened or read.
    """
    db = open_reader(path)
    try:
        return work(db)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read {path}: {exc}") from None
    finally:
        db.close()
