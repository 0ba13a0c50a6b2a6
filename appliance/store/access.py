"""Who may reach and use the panel, as appliance.db records it.

Users (the enrolled USB keys), API tokens (kept only as the SHA-256 of the token's text), the
allowlist change waiting for its author's confirmation, and the user-activity log: every
login, unlock and state-changing request, hash-chained (`appliance.store.chain`) so an edit
shows. The readers serve every process; the writers serve the supervisor, the database's one
writer, and are checked by it (`appliance.supervisor.access`) before they are called.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import sqlite_utils

from appliance.store.chain import GENESIS, Link, record_hash, verify_chain


class Role(StrEnum):
    """What a user may do: an owner also enrols users, issues tokens and unlocks the box."""

    OWNER = "owner"
    OPERATOR = "operator"


class TokenScope(StrEnum):
    """What an API token may do: read the box, or also control it."""

    READ = "read"
    CONTROL = "control"


@dataclass(frozen=True)
class User:
    """An enrolled USB key: its public key, and where the key pair is on the key's token."""

    fingerprint: str
    name: str
    role: Role
    public_key_pem: str
    usb_serial: str
    token_label: str | None
    token_serial: str | None
    key_id: str | None
    key_label: str | None
    created: float
    revoked: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the user as plain JSON values."""
        return asdict(self) | {"role": self.role.value}


@dataclass(frozen=True)
class ApiToken:
    """An API token as the box knows it: never its text, only the text's SHA-256 (`hash`)."""

    id: str
    name: str
    scope: TokenScope
    hash: str
    created: float
    expires: float
    created_by: str
    revoked: float | None = None

    def usable(self, now: float) -> bool:
        """Return whether the token may be used at `now`: not revoked and not expired."""
        return self.revoked is None and now < self.expires

    def as_dict(self) -> dict[str, Any]:
        """Return the token as plain JSON values."""
        return asdict(self) | {"scope": self.scope.value}


@dataclass(frozen=True)
class ActivityRecord:
    """One entry of the user-activity log: who (`actor`, '' if unknown) did what, from where."""

    seq: int
    ts: float
    actor: str
    fingerprint: str
    address: str
    action: str
    outcome: str
    detail: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True)
class AllowlistChange:
    """An allowlist change waiting for its author to confirm it from inside the new list.

    Unconfirmed at `deadline`, the box restores `previous`.
    """

    previous: tuple[str, ...]
    proposed: tuple[str, ...]
    author: str
    address: str
    deadline: float

    def as_dict(self) -> dict[str, Any]:
        """Return the change as plain JSON values."""
        return asdict(self) | {"previous": list(self.previous), "proposed": list(self.proposed)}


_USER_COLUMNS = ("fingerprint, name, role, public_key_pem, usb_serial, token_label, "
                 "token_serial, key_id, key_label, created, revoked")
_TOKEN_COLUMNS = "id, name, scope, hash, created, expires, created_by, revoked"
_ACTIVITY_COLUMNS = "seq, ts, actor, fingerprint, address, action, outcome, detail, prev, hash"


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """Make the writes inside one transaction: all of them happen, or none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def users(db: sqlite_utils.Database, *, include_revoked: bool = False) -> list[User]:
    """Return the users in the order they were enrolled, the revoked ones only if asked."""
    where = "" if include_revoked else " WHERE revoked IS NULL"
    rows = db.execute(f"SELECT {_USER_COLUMNS} FROM users{where} ORDER BY created, name")
    return [_user(row) for row in rows.fetchall()]


def user(db: sqlite_utils.Database, fingerprint: str) -> User | None:
    """Return the user enrolled with the key of `fingerprint`, revoked or not, if any."""
    row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE fingerprint = ?",
                     [fingerprint]).fetchone()
    return None if row is None else _user(row)


def put_user(db: sqlite_utils.Database, new: User) -> None:
    """Enrol a user; a revoked user of the same key is replaced."""
    db.execute(f"INSERT OR REPLACE INTO users ({_USER_COLUMNS}) VALUES ({_marks(11)})",
               list(new.as_dict().values()))


def revoke_user(db: sqlite_utils.Database, fingerprint: str, when: float) -> None:
    """Mark a user revoked at `when`."""
    db.execute("UPDATE users SET revoked = ? WHERE fingerprint = ?", [when, fingerprint])


def api_tokens(db: sqlite_utils.Database) -> list[ApiToken]:
    """Return every API token, revoked and expired ones too, oldest first."""
    rows = db.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens ORDER BY created, id")
    return [_token(row) for row in rows.fetchall()]


def api_token(db: sqlite_utils.Database, id: str) -> ApiToken | None:
    """Return the API token with public id `id`, if any."""
    row = db.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", [id]).fetchone()
    return None if row is None else _token(row)


def put_api_token(db: sqlite_utils.Database, token: ApiToken) -> None:
    """Store a new API token (its hash, never its text)."""
    db.execute(f"INSERT INTO api_tokens ({_TOKEN_COLUMNS}) VALUES ({_marks(8)})",
               list(token.as_dict().values()))


def revoke_api_token(db: sqlite_utils.Database, id: str, when: float) -> None:
    """Mark an API token revoked at `when`."""
    db.execute("UPDATE api_tokens SET revoked = ? WHERE id = ?", [when, id])


def activity(db: sqlite_utils.Database, *, after_seq: int = 0,
             limit: int = 100) -> list[ActivityRecord]:
    """Return up to `limit` records of the activity log after `after_seq`, oldest first."""
    if limit < 1:
        raise ValueError(f"limit is {limit}; ask for 1 record or more")
    rows = db.execute(f"SELECT {_ACTIVITY_COLUMNS} FROM activity WHERE seq > ? ORDER BY seq "
                      "LIMIT ?", [after_seq, limit])
    return [ActivityRecord(int(seq), float(ts), actor, fingerprint, address, action, outcome,
                           json.loads(detail), prev, hash_)
            for seq, ts, actor, fingerprint, address, action, outcome, detail, prev, hash_
            in rows.fetchall()]


def append_activity(db: sqlite_utils.Database, ts: float, actor: str, fingerprint: str,
                    address: str, action: str, outcome: str, detail: dict[str, Any]) -> int:
    """Append one record chained to the last one and return its seq.

    Call it inside a transaction, so no other record can take its place in the chain.
    """
    last = db.execute("SELECT seq, hash FROM activity ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    # SQLite reads -0.0 back as 0.0; hash the time as it will be read back.
    fields = {"seq": seq, "ts": float(ts) + 0.0, "actor": actor, "fingerprint": fingerprint,
              "address": address, "action": action, "outcome": outcome,
              "detail": json.dumps(detail, sort_keys=True, separators=(",", ":"))}
    db.execute(f"INSERT INTO activity ({_ACTIVITY_COLUMNS}) VALUES ({_marks(10)})",
               [*fields.values(), prev, record_hash(prev, fields)])
    return seq


def verify_activity(db: sqlite_utils.Database) -> int:
    """Check the whole chain of the activity log and return its number of records.

    Raise ChainBroken naming the first record that was edited, or that follows a record
    inserted or removed. Records removed from the end cannot be found: nothing follows them.
    """
    rows = db.execute(f"SELECT {_ACTIVITY_COLUMNS} FROM activity ORDER BY seq")
    return verify_chain(
        Link(seq, {"seq": seq, "ts": ts, "actor": actor, "fingerprint": fingerprint,
                   "address": address, "action": action, "outcome": outcome, "detail": detail},
             prev, hash_)
        for seq, ts, actor, fingerprint, address, action, outcome, detail, prev, hash_ in rows)


def put_allowlist(db: sqlite_utils.Database, cidrs: Sequence[str]) -> None:
    """Replace the allowlist with `cidrs`."""
    db.execute("DELETE FROM allowlist")
    db.conn.executemany("INSERT INTO allowlist (cidr) VALUES (?)", [(c,) for c in cidrs])


def allowlist_change(db: sqlite_utils.Database) -> AllowlistChange | None:
    """Return the allowlist change waiting for confirmation, if there is one."""
    row = db.execute("SELECT previous, proposed, author, address, deadline "
                     "FROM allowlist_change").fetchone()
    if row is None:
        return None
    previous, proposed, author, address, deadline = row
    return AllowlistChange(tuple(json.loads(previous)), tuple(json.loads(proposed)), author,
                           address, float(deadline))


def put_allowlist_change(db: sqlite_utils.Database, change: AllowlistChange) -> None:
    """Record the allowlist change waiting for confirmation, replacing any other."""
    db.execute("INSERT OR REPLACE INTO allowlist_change "
               "(id, previous, proposed, author, address, deadline) VALUES (1, ?, ?, ?, ?, ?)",
               [json.dumps(change.previous), json.dumps(change.proposed), change.author,
                change.address, change.deadline])


def clear_allowlist_change(db: sqlite_utils.Database) -> None:
    """Forget the allowlist change waiting for confirmation."""
    db.execute("DELETE FROM allowlist_change")


def _user(row: Sequence[Any]) -> User:
    fingerprint, name, role, pem, usb_serial, label, serial, key_id, key_label, created, \
        revoked = row
    return User(fingerprint, name, Role(role), pem, usb_serial, label, serial, key_id,
                key_label, float(created), None if revoked is None else float(revoked))


def _token(row: Sequence[Any]) -> ApiToken:
    id, name, scope, hash_, created, expires, created_by, revoked = row
    return ApiToken(id, name, TokenScope(scope), hash_, float(created), float(expires),
                    created_by, None if revoked is None else float(revoked))


def _marks(count: int) -> str:
    return ", ".join("?" * count)
