"""The access records of appliance.db: an older database gains them, they read back as written,
and the activity log's chain finds an edited, inserted or removed record."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.store import access
from appliance.store.access import (
    AllowlistChange,
    ApiToken,
    Role,
    TokenScope,
    User,
    transaction,
)
from appliance.store.appliance_db import allowlist, create_schema
from appliance.store.chain import GENESIS, ChainBroken, record_hash
from appliance.store.database import open_reader, open_writer

OLD_SCHEMA = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE allowlist (cidr TEXT PRIMARY KEY);
CREATE TABLE bots (name TEXT PRIMARY KEY, uid INTEGER NOT NULL,
                   enabled INTEGER NOT NULL DEFAULT 1);
"""

_files = itertools.count()


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    """Return a fresh appliance.db opened as its writer."""
    database = open_writer(tmp_path / "appliance.db")
    create_schema(database)
    return database


def fresh(tmp_path: Path) -> sqlite_utils.Database:
    """Return another fresh appliance.db in tmp_path (hypothesis reuses the folder)."""
    database = open_writer(tmp_path / f"appliance-{next(_files)}.db")
    create_schema(database)
    return database


def append(db: sqlite_utils.Database, action: str, detail: dict[str, Any] | None = None) -> int:
    """Append one record the way the supervisor does: inside a transaction."""
    with transaction(db):
        return access.append_activity(db, 1000.5, "alice", "sha256:ab", "10.0.0.7", action,
                                      "ok", detail or {})


def test_an_older_database_gains_the_access_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "appliance.db"
    old = open_writer(path)
    old.conn.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO allowlist (cidr) VALUES ('192.168.1.0/24')")
    create_schema(old)
    assert {"users", "api_tokens", "activity", "allowlist_change"} <= set(old.table_names())
    assert allowlist(old) == ("192.168.1.0/24",)
    assert access.users(old) == [] and access.activity(old) == []


def test_users_read_back_and_the_revoked_only_when_asked(db: sqlite_utils.Database) -> None:
    alice = User("sha256:aa", "alice", Role.OWNER, "PEM", "0001", "alice key", None, "01",
                 None, 10.0)
    bob = User("sha256:bb", "bob", Role.OPERATOR, "PEM", "0002", None, "99", None, "login", 20.0)
    access.put_user(db, alice)
    access.put_user(db, bob)
    access.revoke_user(db, bob.fingerprint, 30.0)
    assert access.users(db) == [alice]
    assert access.users(db, include_revoked=True) == [alice, User(**{**vars(bob),
                                                                      "revoked": 30.0})]
    assert access.user(db, "sha256:aa") == alice
    assert access.user(db, "sha256:zz") is None
    assert alice.as_dict()["role"] == "owner"


def test_a_revoked_users_name_may_be_enrolled_again(db: sqlite_utils.Database) -> None:
    access.put_user(db, User("sha256:aa", "alice", Role.OWNER, "PEM", "1", "t", None, None,
                             None, 10.0))
    access.revoke_user(db, "sha256:aa", 11.0)
    access.put_user(db, User("sha256:cc", "alice", Role.OWNER, "PEM", "2", "t", None, None,
                             None, 12.0))
    assert [u.fingerprint for u in access.users(db, include_revoked=True)] == [
        "sha256:aa", "sha256:cc"]


def test_api_tokens_read_back_and_tell_whether_they_are_usable(
    db: sqlite_utils.Database,
) -> None:
    token = ApiToken("tk1", "grafana", TokenScope.READ, "ab" * 32, 100.0, 200.0, "sha256:aa")
    access.put_api_token(db, token)
    assert access.api_tokens(db) == [token]
    assert access.api_token(db, "tk1") == token and access.api_token(db, "nope") is None
    assert token.usable(150.0) and not token.usable(200.0)
    access.revoke_api_token(db, "tk1", 120.0)
    revoked = access.api_token(db, "tk1")
    assert revoked is not None and revoked.revoked == 120.0 and not revoked.usable(150.0)


def test_the_pending_allowlist_change_reads_back_and_clears(db: sqlite_utils.Database) -> None:
    change = AllowlistChange(("10.0.0.0/8",), ("10.1.0.0/16",), "alice", "10.1.2.3", 99.5)
    assert access.allowlist_change(db) is None
    access.put_allowlist_change(db, change)
    assert access.allowlist_change(db) == change
    access.clear_allowlist_change(db)
    assert access.allowlist_change(db) is None


def test_a_failed_transaction_writes_nothing(db: sqlite_utils.Database) -> None:
    with pytest.raises(RuntimeError), transaction(db):
        access.put_allowlist(db, ["10.0.0.0/8"])
        access.append_activity(db, 1.0, "alice", "", "10.0.0.1", "x", "ok", {})
        raise RuntimeError("refused half-way")
    assert allowlist(db) == () and access.activity(db) == []


def test_activity_reads_oldest_first_after_a_seq(db: sqlite_utils.Database) -> None:
    for n in range(5):
        append(db, f"POST /api/bots/bot-{n}/stop", {"n": n})
    page = access.activity(db, after_seq=1, limit=2)
    assert [(r.seq, r.action, r.detail) for r in page] == [
        (2, "POST /api/bots/bot-1/stop", {"n": 1}), (3, "POST /api/bots/bot-2/stop", {"n": 2})]
    assert page[0].prev == access.activity(db, limit=1)[0].hash
    with pytest.raises(ValueError, match="ask for 1 record or more"):
        access.activity(db, limit=0)


def test_a_reader_verifies_the_chain_the_writer_built(tmp_path: Path) -> None:
    writer = fresh(tmp_path)
    for n in range(3):
        append(writer, "login", {"n": n})
    reader = open_reader(Path(writer.conn.execute("PRAGMA database_list").fetchone()[2]))
    assert access.verify_activity(reader) == 3
    assert access.activity(reader)[0].prev == GENESIS


def test_an_edited_middle_record_is_named(db: sqlite_utils.Database) -> None:
    for n in range(5):
        append(db, "login", {"n": n})
    db.execute("UPDATE activity SET outcome = 'refused' WHERE seq = 3")
    with pytest.raises(ChainBroken, match="record 3: its contents") as broken:
        access.verify_activity(db)
    assert broken.value.seq == 3


def test_a_rehashed_edit_is_named_at_the_record_after_it(db: sqlite_utils.Database) -> None:
    for n in range(5):
        append(db, "login", {"n": n})
    row = access.activity(db, after_seq=2, limit=1)[0]
    fields = {"seq": 3, "ts": row.ts, "actor": "mallory", "fingerprint": row.fingerprint,
              "address": row.address, "action": row.action, "outcome": row.outcome,
              "detail": '{"n":2}'}
    db.execute("UPDATE activity SET actor = 'mallory', hash = ? WHERE seq = 3",
               [record_hash(row.prev, fields)])
    with pytest.raises(ChainBroken, match="record 4: does not follow record 3"):
        access.verify_activity(db)


def test_a_removed_middle_record_is_named(db: sqlite_utils.Database) -> None:
    for n in range(5):
        append(db, "login", {"n": n})
    db.execute("DELETE FROM activity WHERE seq = 3")
    with pytest.raises(ChainBroken, match="record 4: does not follow record 2") as broken:
        access.verify_activity(db)
    assert broken.value.seq == 4


def test_an_inserted_middle_record_is_named(db: sqlite_utils.Database) -> None:
    for n in range(5):
        append(db, "login", {"n": n})
    for seq in (5, 4, 3):
        db.execute("UPDATE activity SET seq = seq + 1 WHERE seq = ?", [seq])
    prev = access.activity(db, after_seq=1, limit=1)[0].hash
    forged = {"seq": 3, "ts": 1.0, "actor": "mallory", "fingerprint": "", "address": "",
              "action": "unlock", "outcome": "ok", "detail": "{}"}
    db.execute("INSERT INTO activity VALUES (3, 1.0, 'mallory', '', '', 'unlock', 'ok', '{}', "
               "?, ?)", [prev, record_hash(prev, forged)])
    with pytest.raises(ChainBroken, match="record 4: does not follow record 3"):
        access.verify_activity(db)


details = st.dictionaries(st.text(max_size=10), st.none() | st.integers() | st.text(max_size=20),
                          max_size=4)
appends = st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False),
                             st.text(max_size=40), st.text(max_size=60), details), max_size=15)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40,
          deadline=None)
@given(appends)
def test_any_sequence_of_appends_verifies(
    tmp_path: Path, records: list[tuple[float, str, str, dict[str, Any]]],
) -> None:
    db = fresh(tmp_path)
    for ts, actor, action, detail in records:
        with transaction(db):
            access.append_activity(db, ts, actor, "", "::1", action, "ok", detail)
    assert access.verify_activity(db) == len(records)
    assert [r.detail for r in access.activity(db, limit=100)] == [r[3] for r in records]
    db.close()
