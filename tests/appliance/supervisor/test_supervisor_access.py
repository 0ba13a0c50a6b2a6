"""The supervisor's access ops on a real appliance.db: what they store, what they refuse (and
that a refusal writes nothing), and the allowlist change that undoes itself unless confirmed."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from appliance.ipc import IpcError
from appliance.store import access
from appliance.store.appliance_db import allowlist, create_schema
from appliance.store.database import open_writer
from appliance.supervisor.access import AccessOps
from hsm.enrol import fingerprint
from hsm.operator_key import as_operator_key

TABLES = ("users", "api_tokens", "activity", "allowlist", "allowlist_change")
HOME = "192.168.1.0/24"
DAY = 86400.0


class Clock:
    """A wall clock that tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Return the path of a fresh appliance.db whose allowlist holds the home network."""
    db = open_writer(tmp_path / "appliance.db")
    create_schema(db)
    access.put_allowlist(db, [HOME])
    db.close()
    return tmp_path / "appliance.db"


@pytest.fixture
def db(path: Path) -> sqlite_utils.Database:
    """Return the supervisor's writer of appliance.db."""
    return open_writer(path)


@pytest.fixture
def ops(db: sqlite_utils.Database) -> AccessOps:
    """Return the access ops for a tier of three users."""
    return AccessOps(db, user_cap=3)


def pem(key: Any = None) -> str:
    """Return the PEM of a fresh P-256 public key, or of `key`'s."""
    private = key or ec.generate_private_key(ec.SECP256R1())
    return str(private.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


def enrolment(name: str, role: str = "operator", **extra: Any) -> dict[str, Any]:
    """Return user_enrol args for a new key."""
    return {"name": name, "role": role, "public_key_pem": pem(), "usb_serial": "0012345",
            "token_label": f"{name} key", **extra}


def rows(db: sqlite_utils.Database) -> dict[str, list[Any]]:
    """Return every row of the access tables."""
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in TABLES}


async def refused(ops: AccessOps, db: sqlite_utils.Database, op: str, args: dict[str, Any],
                  code: str, match: str | None = None) -> IpcError:
    """Call op, require it to refuse with `code`, and require it to have written nothing."""
    before = rows(db)
    with pytest.raises(IpcError, match=match) as refusal:
        await ops.table()[op](args)
    assert refusal.value.code == code
    assert rows(db) == before
    return refusal.value


async def until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until condition holds, failing after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def owner(ops: AccessOps, name: str = "alice") -> dict[str, Any]:
    """Enrol an owner and return them."""
    return dict(await ops.user_enrol(enrolment(name, "owner")))


# Users


async def test_an_enrolled_user_is_known_by_the_fingerprint_the_signer_computes(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    args = enrolment("alice", "owner", key_id="01")
    user = await ops.user_enrol(args)
    key = as_operator_key(load_pem_public_key(args["public_key_pem"].encode()))
    assert user["fingerprint"] == fingerprint(key)
    stored = access.user(db, fingerprint(key))
    assert stored is not None and stored.as_dict() == user
    assert (stored.role, stored.usb_serial, stored.token_label, stored.key_id,
            stored.token_serial, stored.revoked) == ("owner", "0012345", "alice key", "01",
                                                     None, None)


@pytest.mark.parametrize(("change", "match"), [
    ({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"},
     "not a PEM public key"),
    ({"public_key_pem": pem(rsa.generate_private_key(65537, 1024))}, "2048 bits"),
    ({"role": "admin"}, "'role' must be one of owner, operator"),
    ({"name": "x" * 41}, "at most 40"),
    ({"name": ""}, "args need 'name'"),
    ({"name": "bob\n"}, "printable"),
    ({"name": " bob"}, "must not start or end with a space"),
    ({"usb_serial": 7}, "args need 'usb_serial'"),
    ({"token_label": None}, "'token_label' or 'token_serial'"),
    ({"key_id": 5}, "'key_id'"),
])
async def test_a_bad_enrolment_is_refused_and_writes_nothing(
    ops: AccessOps, db: sqlite_utils.Database, change: dict[str, Any], match: str,
) -> None:
    await owner(ops)
    await refused(ops, db, "user_enrol", enrolment("bob") | change, "bad_args", match)


async def test_a_key_or_name_enrolled_already_is_refused(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    first = enrolment("alice", "owner")
    await ops.user_enrol(first)
    await refused(ops, db, "user_enrol", first | {"name": "alice2"}, "conflict",
                  "this key is enrolled already")
    await refused(ops, db, "user_enrol", enrolment("alice"), "conflict",
                  "a user named 'alice' is enrolled already")


async def test_no_more_users_than_the_tier_allows(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    await owner(ops)
    await ops.user_enrol(enrolment("bob"))
    carol = await ops.user_enrol(enrolment("carol"))
    await refused(ops, db, "user_enrol", enrolment("dave"), "limit",
                  "allows 3 users and 3 are enrolled; revoke one or upgrade the tier")
    await ops.user_revoke({"fingerprint": carol["fingerprint"]})
    assert (await ops.user_enrol(enrolment("dave")))["name"] == "dave"


async def test_a_revoked_key_and_name_may_be_enrolled_again(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    await owner(ops)
    args = enrolment("bob")
    bob = await ops.user_enrol(args)
    revoked = await ops.user_revoke({"fingerprint": bob["fingerprint"]})
    assert revoked["revoked"] is not None
    again = await ops.user_enrol(args | {"role": "owner"})
    assert again["revoked"] is None and again["role"] == "owner"
    assert [u.name for u in access.users(db)] == ["alice", "bob"]


async def test_the_last_owner_cannot_be_revoked(ops: AccessOps, db: sqlite_utils.Database) -> None:
    alice = await owner(ops)
    bob = await ops.user_enrol(enrolment("bob"))
    await refused(ops, db, "user_revoke", {"fingerprint": alice["fingerprint"]}, "conflict",
                  "alice is the box's last owner; enrol another owner")
    await ops.user_revoke({"fingerprint": bob["fingerprint"]})
    carol = await owner(ops, "carol")
    await ops.user_revoke({"fingerprint": alice["fingerprint"]})
    await refused(ops, db, "user_revoke", {"fingerprint": carol["fingerprint"]}, "conflict")
    await refused(ops, db, "user_revoke", {"fingerprint": alice["fingerprint"]}, "not_found")
    await refused(ops, db, "user_revoke", {"fingerprint": "sha256:00"}, "not_found")


# API tokens


def token_args(creator: str, text: str = "mmb_tk01_s3cr3t-t0k3n-t3xt", **change: Any
               ) -> dict[str, Any]:
    """Return token_create args for a token whose text the panel generated."""
    return {"id": "tk01", "name": "grafana", "scope": "read",
            "hash": hashlib.sha256(text.encode()).hexdigest(), "expires": time.time() + DAY,
            "created_by": creator} | change


async def test_a_token_is_stored_only_as_its_hash(
    ops: AccessOps, db: sqlite_utils.Database, path: Path,
) -> None:
    creator = (await owner(ops))["fingerprint"]
    text = "mmb_tk01_s3cr3t-t0k3n-t3xt"
    token = await ops.token_create(token_args(creator, text))
    assert token["hash"] == hashlib.sha256(text.encode()).hexdigest()
    stored = access.api_token(db, "tk01")
    assert stored is not None and stored.usable(time.time()) and stored.scope == "read"
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert text.encode() not in path.read_bytes()
    assert not any(text in str(value) for table in rows(db).values() for row in table
                   for value in row)


@pytest.mark.parametrize(("change", "match"), [
    ({"hash": "mmb_tk01_s3cr3t-t0k3n-t3xt"}, "never send the token itself"),
    ({"hash": "ab" * 31}, "64 hex digits"),
    ({"expires": time.time() - 1}, "between now and 366 days ahead"),
    ({"expires": time.time() + 367 * DAY}, "between now and 366 days ahead"),
    ({"expires": "tomorrow"}, "args need 'expires'"),
    ({"scope": "admin"}, "'scope' must be one of read, control"),
    ({"id": "a b"}, "'id' must be 4 to 32 letters"),
])
async def test_a_bad_token_is_refused_and_writes_nothing(
    ops: AccessOps, db: sqlite_utils.Database, change: dict[str, Any], match: str,
) -> None:
    creator = (await owner(ops))["fingerprint"]
    await refused(ops, db, "token_create", token_args(creator, **change), "bad_args", match)


async def test_a_duplicate_token_or_an_unknown_creator_is_refused(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    creator = (await owner(ops))["fingerprint"]
    await ops.token_create(token_args(creator))
    await refused(ops, db, "token_create", token_args(creator, "other text"), "conflict",
                  "a token with id 'tk01' exists already")
    await refused(ops, db, "token_create", token_args(creator, id="tk02"), "conflict",
                  "a token with this hash")
    await refused(ops, db, "token_create", token_args("sha256:00", "x", id="tk03"),
                  "not_found", "'created_by' names no enrolled user")


async def test_a_revoked_token_is_no_longer_usable(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    await ops.token_create(token_args((await owner(ops))["fingerprint"]))
    revoked = await ops.token_revoke({"id": "tk01"})
    assert revoked["revoked"] is not None
    token = access.api_token(db, "tk01")
    assert token is not None and not token.usable(time.time())
    await refused(ops, db, "token_revoke", {"id": "tk01"}, "not_found")
    await refused(ops, db, "token_revoke", {"id": "tk99"}, "not_found")


# The allowlist


def proposal(*cidrs: str, address: str = "10.0.0.7", within: float = 60.0) -> dict[str, Any]:
    """Return allowlist_propose args by alice from `address`."""
    return {"cidrs": list(cidrs), "address": address, "author": "alice",
            "confirm_within": within}


@pytest.mark.parametrize(("args", "code", "match"), [
    (proposal("10.0.0.0/8", address="192.168.1.5"), "lockout",
     "192.168.1.5, the address making this change, is in none of the proposed networks"),
    (proposal(), "bad_args", "non-empty list"),
    (proposal("10.0.0.0/8", "intranet"), "bad_args", "allowlist entry 'intranet' is not"),
    (proposal("10.0.0.0/8", address="here"), "bad_args", "'address' 'here' is not an IP"),
    (proposal("10.0.0.0/8", within=0), "bad_args", "'confirm_within' must be above 0"),
    (proposal(*(f"10.0.{n}.0/24" for n in range(65))), "bad_args", "at most 64"),
])
async def test_a_bad_or_locking_out_proposal_is_refused_and_writes_nothing(
    ops: AccessOps, db: sqlite_utils.Database, args: dict[str, Any], code: str, match: str,
) -> None:
    await refused(ops, db, "allowlist_propose", args, code, match)
    assert allowlist(db) == (HOME,)


async def test_an_ipv4_mapped_address_is_not_locked_out(ops: AccessOps) -> None:
    result = await ops.allowlist_propose(proposal("10.0.0.5/8", address="::ffff:10.0.0.7"))
    assert result["cidrs"] == ["10.0.0.0/8"]
    ops.close()


async def test_an_unconfirmed_change_is_undone_at_its_deadline_and_logged(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    result = await ops.allowlist_propose(proposal("10.0.0.0/8", within=0.2))
    assert allowlist(db) == ("10.0.0.0/8",)
    pending = await ops.allowlist_pending({})
    assert pending is not None and pending["previous"] == [HOME]
    assert pending["deadline"] == result["deadline"]
    await until(lambda: allowlist(db) == (HOME,))
    assert await ops.allowlist_pending({}) is None
    [record] = access.activity(db)
    assert (record.actor, record.action, record.outcome) == ("box", "allowlist_reverted", "ok")
    assert record.detail["restored"] == [HOME]
    assert record.detail["unconfirmed"] == ["10.0.0.0/8"]
    assert access.verify_activity(db) == 1


async def test_a_confirmed_change_stays(ops: AccessOps, db: sqlite_utils.Database) -> None:
    await ops.allowlist_propose(proposal("10.0.0.0/8", within=0.2))
    await refused(ops, db, "allowlist_confirm", {"address": "192.168.1.5"}, "lockout",
                  "192.168.1.5 is outside the new allowlist")
    assert await ops.allowlist_confirm({"address": "10.9.9.9"}) == {"cidrs": ["10.0.0.0/8"]}
    await asyncio.sleep(0.4)
    assert allowlist(db) == ("10.0.0.0/8",)
    assert access.activity(db) == [] and await ops.allowlist_pending({}) is None
    await refused(ops, db, "allowlist_confirm", {"address": "10.9.9.9"}, "not_found")


async def test_a_second_proposal_reverts_to_the_list_before_the_first(
    ops: AccessOps, db: sqlite_utils.Database,
) -> None:
    await ops.allowlist_propose(proposal("10.0.0.0/8", within=30))
    await ops.allowlist_propose(proposal("10.0.0.0/16", "172.16.0.0/12", within=0.2))
    assert allowlist(db) == ("10.0.0.0/16", "172.16.0.0/12")
    await until(lambda: allowlist(db) == (HOME,))
    assert [r.action for r in access.activity(db)] == ["allowlist_reverted"]


async def test_a_waiting_change_survives_a_restart_and_is_undone_at_its_deadline(
    ops: AccessOps, path: Path,
) -> None:
    await ops.allowlist_propose(proposal("10.0.0.0/8", within=0.3))
    ops.close()
    restarted = open_writer(path)
    again = AccessOps(restarted, user_cap=3)
    assert allowlist(restarted) == ("10.0.0.0/8",)
    again.start()
    await until(lambda: allowlist(restarted) == (HOME,))
    assert [r.action for r in access.activity(restarted)] == ["allowlist_reverted"]


async def test_a_change_whose_deadline_passed_while_off_is_undone_at_once(
    db: sqlite_utils.Database, path: Path,
) -> None:
    clock = Clock(1_000_000.0)
    ops = AccessOps(db, user_cap=3, clock=clock)
    await ops.allowlist_propose(proposal("10.0.0.0/8", within=90))
    ops.close()
    clock.now += 91
    restarted = open_writer(path)
    AccessOps(restarted, user_cap=3, clock=clock)
    assert allowlist(restarted) == (HOME,)
    assert access.allowlist_change(restarted) is None
    assert [(r.ts, r.actor) for r in access.activity(restarted)] == [(clock.now, "box")]


# The activity log


def activity(**change: Any) -> dict[str, Any]:
    """Return record_activity args for a stop request."""
    return {"actor": "alice", "fingerprint": "sha256:aa", "address": "192.168.1.5",
            "action": "POST /api/bots/bot-1/stop", "outcome": "ok",
            "detail": {"bot": "bot-1"}} | change


async def test_recorded_activity_is_chained(ops: AccessOps, db: sqlite_utils.Database) -> None:
    assert await ops.record_activity(activity()) == {"seq": 1}
    assert await ops.record_activity(activity(actor="", action="login",
                                              outcome="wrong_pin")) == {"seq": 2}
    assert await ops.record_activity(activity(action="token_revoke",
                                              detail={"token": "tk01"})) == {"seq": 3}
    first, second, third = access.activity(db)
    assert (first.actor, first.detail, second.outcome) == ("alice", {"bot": "bot-1"},
                                                         "wrong_pin")
    assert third.detail == {"token": "tk01"}
    assert access.verify_activity(db) == 3


@pytest.mark.parametrize(("change", "match"), [
    ({"detail": ["bot-1"]}, "'detail' must be a JSON object"),
    ({"detail": {"login": {"pin": "123456"}}}, "holds a 'pin'"),
    ({"detail": {"Session": "abc"}}, "holds a 'Session'"),
    ({"detail": {"x": "y" * 5000}}, "keep it under 4096"),
    ({"actor": "a" * 129}, "at most 128"),
    ({"action": ""}, "args need 'action'"),
    ({"outcome": "Not OK"}, "'outcome' must be"),
])
async def test_bad_activity_is_refused_and_writes_nothing(
    ops: AccessOps, db: sqlite_utils.Database, change: dict[str, Any], match: str,
) -> None:
    await ops.record_activity(activity())
    error = await refused(ops, db, "record_activity", activity(**change), "bad_args", match)
    assert "123456" not in error.message
