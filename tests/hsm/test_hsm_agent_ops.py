"""The agent's op table in-process on a real token: access rules, rate limit, audit, extra ops."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.ipc import IpcError, Peer
from hsm.access import AccessPolicy
from hsm.agent import SignerAgent
from hsm.audit import AuditLog, verify_audit
from hsm.keyops import TokenOps
from hsm.ops import Access, Audit, Call, Op
from hsm.ratelimit import CallerRateLimit
from hsm.token import Token

BOT_1 = Peer(pid=40, uid=6111, gid=6111)
BOT_2 = Peer(pid=41, uid=6112, gid=6112)
SUPERVISOR = Peer(pid=1, uid=0, gid=0)
SECRET = b"bot-one-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789AB"
NEW_SECRET = b"a secret pasted from the exchange's API page, base64 on the wire"


class Clock:
    """A clock the test moves by hand (serves as wall clock and monotonic clock)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bench:
    """An agent on a real token, its audit log and its clock."""

    agent: SignerAgent
    audit: AuditLog
    clock: Clock

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.path.read_bytes().splitlines()]


def make_agent(token: Token, tmp_path: Path, extra_ops: dict[str, Op] | None = None) -> Bench:
    """Return an agent granting bot-1 its keys and bot-2 its own, root as the admin."""
    clock = Clock()
    policy = AccessPolicy.parse(["6111=bot-1.sim.hmac,bot-1.sim.ed25519", "6112=bot-2.sim.hmac",
                                 "0=device"], admins=[0])
    audit = AuditLog(tmp_path / "audit.log", clock)
    agent = SignerAgent(TokenOps(token).table(), policy, audit,
                        CallerRateLimit(rate=10, burst=5, clock=clock),
                        extra_ops=extra_ops, clock=clock)
    return Bench(agent, audit, clock)


@pytest.fixture
def bench(token: Token, tmp_path: Path) -> Iterator[Bench]:
    """Yield an agent on a token holding bot-1's HMAC and Ed25519 keys and the device key."""
    token.import_hmac("bot-1.sim.hmac", SECRET)
    token.generate_ed25519("bot-1.sim.ed25519")
    token.generate_ed25519("device")
    made = make_agent(token, tmp_path)
    yield made
    made.audit.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def refused(bench: Bench, op: str, args: dict[str, Any], peer: Peer) -> str:
    """Return the error code the agent answers a call with."""
    with pytest.raises(IpcError) as error:
        bench.agent.call(op, args, peer)
    return error.value.code


def test_a_bot_signs_with_its_own_key(bench: Bench) -> None:
    result = bench.agent.call("sign_hmac", {"label": "bot-1.sim.hmac",
                                            "message_b64": b64(b"order")}, BOT_1)
    assert base64.b64decode(result["mac_b64"]) == hmac.new(SECRET, b"order",
                                                           hashlib.sha256).digest()


def test_another_bots_key_is_refused_and_recorded(bench: Bench) -> None:
    args = {"label": "bot-1.sim.hmac", "message_b64": b64(b"payload-never-written")}
    assert refused(bench, "sign_hmac", args, BOT_2) == "forbidden"
    (record,) = bench.records()
    assert {k: record[k] for k in ("event", "uid", "pid", "op", "label", "outcome")} == {
        "event": "refusal", "uid": 6112, "pid": 41, "op": "sign_hmac",
        "label": "bot-1.sim.hmac", "outcome": "forbidden"}
    assert b"payload" not in bench.audit.path.read_bytes()
    assert args["message_b64"].encode() not in bench.audit.path.read_bytes()


def test_repeated_refusals_are_written_once_then_counted(bench: Bench) -> None:
    for _ in range(4):
        refused(bench, "sign_hmac", {"label": "bot-1.sim.hmac", "message_b64": ""}, BOT_2)
    assert [r["event"] for r in bench.records()] == ["refusal"]
    bench.agent.flush()
    tally = bench.records()[-1]
    assert tally["event"] == "tally"
    assert tally["counts"] == [{"uid": 6112, "pid": 41, "op": "sign_hmac",
                                "label": "bot-1.sim.hmac", "outcome": "forbidden", "n": 4}]


def test_signatures_are_counted_not_written_one_by_one(bench: Bench) -> None:
    for n in range(3):
        bench.agent.call("sign_hmac", {"label": "bot-1.sim.hmac", "message_b64": b64(b"%d" % n)},
                         BOT_1)
    bench.agent.call("sign_eddsa", {"label": "bot-1.sim.ed25519", "message_b64": ""}, BOT_1)
    assert bench.records() == []
    bench.agent.flush()
    bench.agent.flush()
    (tally,) = bench.records()
    assert [(c["op"], c["label"], c["n"]) for c in tally["counts"]] == [
        ("sign_eddsa", "bot-1.sim.ed25519", 1), ("sign_hmac", "bot-1.sim.hmac", 3)]


@pytest.mark.parametrize(("op", "args"), [
    ("import_hmac", {"label": "bot-9.sim.hmac", "secret_b64": b64(NEW_SECRET)}),
    ("generate_ed25519", {"label": "bot-9.sim.ed25519"}),
    ("list_keys", {}),
    ("rename_key", {"label": "bot-1.sim.hmac", "new_label": "bot-9.sim.hmac"}),
    ("delete_key", {"label": "bot-1.sim.hmac"}),
    ("import_credential", {"label": "bot-9.okx.passphrase", "value_b64": b64(NEW_SECRET)}),
    ("grant", {"uid": 6111, "label": "device"}),
])
def test_key_management_is_refused_to_other_uids_and_recorded(
    bench: Bench, op: str, args: dict[str, Any]
) -> None:
    assert refused(bench, op, args, BOT_1) == "forbidden"
    (record,) = bench.records()
    assert (record["uid"], record["op"], record["outcome"]) == (6111, op, "forbidden")
    assert b64(NEW_SECRET).encode() not in bench.audit.path.read_bytes()
    assert bench.agent.call("list_keys", {}, SUPERVISOR)["keys"][1]["label"] == "bot-1.sim.hmac"


def test_an_imported_secret_signs_and_is_never_written(bench: Bench) -> None:
    result = bench.agent.call("import_hmac", {"label": "bot-2.sim.hmac",
                                              "secret_b64": b64(NEW_SECRET)}, SUPERVISOR)
    assert result == {"label": "bot-2.sim.hmac", "kind": "hmac"}
    mac = bench.agent.call("sign_hmac", {"label": "bot-2.sim.hmac", "message_b64": b64(b"m")},
                           BOT_2)["mac_b64"]
    assert base64.b64decode(mac) == hmac.new(NEW_SECRET, b"m", hashlib.sha256).digest()
    (record,) = bench.records()
    assert {k: record[k] for k in ("event", "uid", "op", "label", "outcome")} == {
        "event": "request", "uid": 0, "op": "import_hmac", "label": "bot-2.sim.hmac",
        "outcome": "ok"}
    written = bench.audit.path.read_bytes()
    assert NEW_SECRET not in written
    assert b64(NEW_SECRET).encode() not in written


def test_a_generated_key_returns_a_pem_that_verifies_its_signatures(bench: Bench) -> None:
    result = bench.agent.call("generate_ed25519", {"label": "bot-2.sim.ed25519"}, SUPERVISOR)
    public = load_pem_public_key(result["public_key_pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    assert result["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    signature = bench.agent.call("sign_eddsa", {"label": "bot-1.sim.ed25519",
                                                "message_b64": b64(b"x")}, BOT_1)
    bot_1_pem = bench.agent.call("public_key", {"label": "bot-1.sim.ed25519"}, BOT_1)
    bot_1_key = load_pem_public_key(bot_1_pem["public_key_pem"].encode())
    assert isinstance(bot_1_key, Ed25519PublicKey)
    bot_1_key.verify(base64.b64decode(signature["signature_b64"]), b"x")


def test_keys_are_listed_renamed_and_deleted(bench: Bench) -> None:
    agent = bench.agent
    listed = agent.call("list_keys", {}, SUPERVISOR)["keys"]
    assert [(k["label"], k["kind"], k["public_key_pem"] is not None) for k in listed] == [
        ("bot-1.sim.ed25519", "ed25519", True), ("bot-1.sim.hmac", "hmac", False),
        ("device", "ed25519", True)]
    agent.call("rename_key", {"label": "bot-1.sim.hmac", "new_label": "bot-2.sim.hmac"},
               SUPERVISOR)
    mac = agent.call("sign_hmac", {"label": "bot-2.sim.hmac", "message_b64": ""}, BOT_2)
    assert base64.b64decode(mac["mac_b64"]) == hmac.new(SECRET, b"", hashlib.sha256).digest()
    agent.call("delete_key", {"label": "bot-2.sim.hmac"}, SUPERVISOR)
    assert refused(bench, "sign_hmac", {"label": "bot-2.sim.hmac", "message_b64": ""},
                   BOT_2) == "forbidden"
    assert [(r["op"], r.get("new_label"), r["outcome"]) for r in bench.records()] == [
        ("list_keys", None, "ok"), ("rename_key", "bot-2.sim.hmac", "ok"),
        ("delete_key", None, "ok"), ("sign_hmac", None, "forbidden")]
    assert verify_audit(bench.audit.path) == 4


@pytest.mark.parametrize(("op", "args"), [
    ("rename_key", {"label": "device", "new_label": "spare"}), ("delete_key", {"label": "device"})])
def test_the_device_key_is_never_renamed_or_deleted(
    bench: Bench, op: str, args: dict[str, Any]
) -> None:
    assert refused(bench, op, args, SUPERVISOR) == "protected_key"
    assert "device" in [k["label"] for k in bench.agent.call("list_keys", {}, SUPERVISOR)["keys"]]


@pytest.mark.parametrize(("op", "args", "code"), [
    ("import_hmac", {"label": "bot 9", "secret_b64": b64(NEW_SECRET)}, "bad_args"),
    ("import_hmac", {"label": "bot-9.sim.hmac", "secret_b64": "%%%"}, "bad_args"),
    ("import_hmac", {"label": "bot-9.sim.hmac", "secret_b64": ""}, "token_failed"),
    ("import_hmac", {"label": "bot-1.sim.hmac", "secret_b64": b64(NEW_SECRET)}, "key_exists"),
    ("generate_ed25519", {"label": "x" * 41}, "bad_args"),
    ("rename_key", {"label": "bot-1.sim.hmac", "new_label": ""}, "bad_args"),
    ("rename_key", {"label": "absent", "new_label": "other"}, "unknown_key"),
    ("delete_key", {}, "bad_args"),
])
def test_bad_key_management_requests_say_why(
    bench: Bench, op: str, args: dict[str, Any], code: str
) -> None:
    assert refused(bench, op, args, SUPERVISOR) == code
    (record,) = bench.records()
    assert record["outcome"] == code
    assert NEW_SECRET not in bench.audit.path.read_bytes()


def test_each_uid_has_its_own_rate_limit(bench: Bench) -> None:
    ping: dict[str, Any] = {}
    assert [bench.agent.call("ping", ping, BOT_1) for _ in range(5)] == ["pong"] * 5
    assert refused(bench, "ping", ping, BOT_1) == "rate_limited"
    assert bench.agent.call("ping", ping, BOT_2) == "pong"
    bench.clock.now += 0.2
    assert bench.agent.call("ping", ping, BOT_1) == "pong"
    (record,) = bench.records()
    assert (record["uid"], record["outcome"]) == (6111, "rate_limited")


def test_an_unknown_op_and_a_malformed_line_are_answered_and_recorded(bench: Bench) -> None:
    assert refused(bench, "export_key", {"label": "bot-1.sim.hmac"}, BOT_1) == "unknown_op"
    reply = json.loads(bench.agent.answer(b"{not json\n", BOT_1))  # type: ignore[arg-type]
    assert reply["error"]["code"] == "bad_json"
    assert [(r["op"], r["outcome"]) for r in bench.records()] == [
        ("export_key", "unknown_op"), (None, "bad_json")]


def test_an_op_name_chosen_by_a_caller_is_written_only_when_plain(bench: Bench) -> None:
    odd = "my api secret is " + "s" * 5000
    assert refused(bench, odd, {}, BOT_1) == "unknown_op"
    with pytest.raises(IpcError, match="answers only ping, sign_hmac"):
        bench.agent.call("export_key", {}, BOT_1)
    assert [r["op"] for r in bench.records()] == [None, "export_key"]
    assert b"my api secret" not in bench.audit.path.read_bytes()


def test_a_sign_request_naming_no_valid_label_is_refused_and_recorded(bench: Bench) -> None:
    assert refused(bench, "sign_hmac", {"label": "../../etc", "message_b64": ""},
                   BOT_1) == "bad_args"
    (record,) = bench.records()
    assert (record["op"], record["label"], record["outcome"]) == ("sign_hmac", None, "bad_args")


def test_other_modules_add_ops_under_the_same_rules(token: Token, tmp_path: Path) -> None:
    async def slow_status(call: Call) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"uid": call.peer.uid}

    def panel_only(call: Call) -> str:
        if call.peer.uid != 6200:
            raise IpcError("forbidden", "only the panel may ask")
        return "ok"

    bench = make_agent(token, tmp_path, extra_ops={
        "status": Op(slow_status, Access.ADMIN, Audit.EACH, audit_args=()),
        "panel_thing": Op(panel_only, Access.ANYONE, Audit.QUIET),
    })
    pending = bench.agent.answer(b'{"id": 7, "op": "status"}\n', SUPERVISOR)
    assert not isinstance(pending, bytes)
    reply = json.loads(asyncio.run(_awaited(pending)))
    assert reply == {"id": 7, "ok": True, "result": {"uid": 0}}
    assert refused(bench, "status", {}, BOT_1) == "forbidden"
    assert refused(bench, "panel_thing", {}, BOT_1) == "forbidden"
    assert bench.agent.call("panel_thing", {}, Peer(pid=5, uid=6200, gid=6200)) == "ok"
    assert [(r["event"], r["op"], r["uid"], r["outcome"]) for r in bench.records()] == [
        ("request", "status", 0, "ok"), ("refusal", "status", 6111, "forbidden"),
        ("refusal", "panel_thing", 6111, "forbidden")]
    bench.audit.close()


async def _awaited(pending: Any) -> bytes:
    result: bytes = await pending
    return result


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["bot-1.sim.hmac", "bot-1.sim.ed25519", "device", "new.label", "bQ=="]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["sign_hmac", "sign_eddsa", "public_key", "import_hmac",
                           "generate_ed25519", "list_keys", "rename_key", "delete_key", "grant",
                           "import_credential", "read_credential"]),
       args=st.dictionaries(st.sampled_from(["label", "message_b64", "secret_b64", "new_label",
                                             "uid", "value_b64"]),
                            json_values, max_size=4))
def test_any_args_to_any_op_get_a_result_or_a_reasoned_refusal(
    bench: Bench, op: str, args: dict[str, Any]
) -> None:
    try:
        bench.agent.call(op, args, SUPERVISOR)
    except IpcError as exc:
        assert exc.code in {"bad_args", "forbidden", "unknown_key", "key_exists",
                            "protected_key", "token_failed"}
    bench.clock.now += 1


PASSPHRASE = b"okx passphrase typed by the owner: hunter2-unique"


def ask(bench: Bench, op: str, args: dict[str, Any], peer: Peer) -> Any:
    """Return the agent's result a second after the last call (within every rate limit)."""
    bench.clock.now += 1
    return bench.agent.call(op, args, peer)


def outcome(bench: Bench, op: str, args: dict[str, Any], peer: Peer) -> str:
    """Return 'ok' when the agent answers the call, else its error code."""
    try:
        ask(bench, op, args, peer)
    except IpcError as exc:
        return exc.code
    return "ok"


def sign_as(bench: Bench, peer: Peer, label: str) -> str:
    """Return 'ok' when peer gets an HMAC under label, else the error code."""
    return outcome(bench, "sign_hmac", {"label": label, "message_b64": b64(b"m")}, peer)


def test_a_grant_lets_a_uid_use_a_new_key_in_the_running_agent(bench: Bench) -> None:
    ask(bench, "import_hmac", {"label": "bot-2.okx.hmac", "secret_b64": b64(NEW_SECRET)},
        SUPERVISOR)
    assert sign_as(bench, BOT_2, "bot-2.okx.hmac") == "forbidden"
    result = ask(bench, "grant", {"uid": 6112, "label": "bot-2.okx.hmac"}, SUPERVISOR)
    assert result == {"uid": 6112, "label": "bot-2.okx.hmac"}
    assert sign_as(bench, BOT_2, "bot-2.okx.hmac") == "ok"
    assert sign_as(bench, BOT_2, "bot-2.sim.hmac") == "unknown_key"
    assert sign_as(bench, BOT_1, "bot-2.okx.hmac") == "forbidden"
    assert sign_as(bench, BOT_1, "bot-1.sim.hmac") == "ok"
    grant = next(r for r in bench.records() if r["op"] == "grant")
    assert {k: grant[k] for k in ("event", "uid", "pid", "op", "arg_uid", "label", "outcome")} \
        == {"event": "request", "uid": 0, "pid": 1, "op": "grant", "arg_uid": 6112,
            "label": "bot-2.okx.hmac", "outcome": "ok"}


@pytest.mark.parametrize(("args", "code"), [
    ({"uid": 6112, "label": "bot-2.okx.hmac"}, "unknown_key"),
    ({"uid": 6112, "label": "device"}, "protected_key"),
    ({"uid": 6112, "label": "bad label"}, "bad_args"),
    ({"uid": -1, "label": "bot-1.sim.hmac"}, "bad_args"),
    ({"uid": "6112", "label": "bot-1.sim.hmac"}, "bad_args"),
    ({"uid": True, "label": "bot-1.sim.hmac"}, "bad_args"),
    ({"uid": 2**32, "label": "bot-1.sim.hmac"}, "bad_args"),
    ({"label": "bot-1.sim.hmac"}, "bad_args"),
])
def test_a_grant_of_what_the_token_lacks_or_protects_is_refused(
    bench: Bench, args: dict[str, Any], code: str
) -> None:
    assert outcome(bench, "grant", args, SUPERVISOR) == code
    (record,) = bench.records()
    assert (record["uid"], record["op"], record["outcome"]) == (0, "grant", code)
    assert sign_as(bench, BOT_2, "bot-1.sim.hmac") == "forbidden"
    assert outcome(bench, "sign_eddsa", {"label": "device", "message_b64": ""}, BOT_2) == \
        "forbidden"


def test_a_grant_asked_by_a_uid_not_admin_changes_nothing(bench: Bench) -> None:
    assert outcome(bench, "grant", {"uid": 6112, "label": "bot-1.sim.hmac"}, BOT_2) == "forbidden"
    assert outcome(bench, "grant", {"uid": 6111, "label": "device"}, BOT_1) == "forbidden"
    assert sign_as(bench, BOT_2, "bot-1.sim.hmac") == "forbidden"
    assert outcome(bench, "sign_eddsa", {"label": "device", "message_b64": ""}, BOT_1) == \
        "forbidden"
    assert [(r["uid"], r["arg_uid"], r["outcome"]) for r in bench.records()
            if r["op"] == "grant"] == [(6112, 6112, "forbidden"), (6111, 6111, "forbidden")]


@pytest.mark.parametrize("how", ["delete_key", "rename_key"])
def test_a_label_deleted_or_renamed_is_not_granted_to_its_next_key(bench: Bench, how: str) -> None:
    ask(bench, "import_hmac", {"label": "bot-2.okx.hmac", "secret_b64": b64(NEW_SECRET)},
        SUPERVISOR)
    ask(bench, "grant", {"uid": 6112, "label": "bot-2.okx.hmac"}, SUPERVISOR)
    assert sign_as(bench, BOT_2, "bot-2.okx.hmac") == "ok"
    ask(bench, how, {"label": "bot-2.okx.hmac", "new_label": "bot-2.okx.old"}, SUPERVISOR)
    ask(bench, "import_hmac", {"label": "bot-2.okx.hmac", "secret_b64": b64(SECRET)}, SUPERVISOR)
    assert sign_as(bench, BOT_2, "bot-2.okx.hmac") == "forbidden"


def test_a_deleted_label_granted_at_start_is_dropped_too(bench: Bench) -> None:
    ask(bench, "delete_key", {"label": "bot-1.sim.hmac"}, SUPERVISOR)
    ask(bench, "import_hmac", {"label": "bot-1.sim.hmac", "secret_b64": b64(SECRET)}, SUPERVISOR)
    assert sign_as(bench, BOT_1, "bot-1.sim.hmac") == "forbidden"
    assert ask(bench, "public_key", {"label": "bot-1.sim.ed25519"}, BOT_1)["public_key_pem"]


def test_a_failed_delete_keeps_the_grant(bench: Bench) -> None:
    assert outcome(bench, "delete_key", {"label": "bot-2.sim.hmac"}, SUPERVISOR) == "unknown_key"
    ask(bench, "import_hmac", {"label": "bot-2.sim.hmac", "secret_b64": b64(SECRET)},
        SUPERVISOR)
    assert sign_as(bench, BOT_2, "bot-2.sim.hmac") == "ok"


def test_a_credential_goes_in_and_only_its_granted_uid_reads_it(bench: Bench) -> None:
    label = "bot-2.okx.passphrase"
    result = ask(bench, "import_credential", {"label": label, "value_b64": b64(PASSPHRASE)},
                 SUPERVISOR)
    assert result == {"label": label, "kind": "credential"}
    assert outcome(bench, "read_credential", {"label": label}, BOT_2) == "forbidden"
    ask(bench, "grant", {"uid": 6112, "label": label}, SUPERVISOR)
    read = ask(bench, "read_credential", {"label": label}, BOT_2)
    assert read == {"value_b64": b64(PASSPHRASE)}
    assert outcome(bench, "read_credential", {"label": label}, BOT_1) == "forbidden"
    assert outcome(bench, "read_credential", {"label": label}, SUPERVISOR) == "forbidden"
    assert outcome(bench, "sign_hmac", {"label": label, "message_b64": ""}, BOT_2) == \
        "unknown_key"
    listed = ask(bench, "list_keys", {}, SUPERVISOR)["keys"]
    assert {"label": label, "kind": "credential", "public_key_pem": None} in listed
    ask(bench, "delete_key", {"label": label}, SUPERVISOR)
    assert outcome(bench, "read_credential", {"label": label}, BOT_2) == "forbidden"
    assert label not in [k["label"] for k in ask(bench, "list_keys", {}, SUPERVISOR)["keys"]]
    bench.agent.flush()
    assert [(r.get("op"), r["outcome"]) for r in bench.records()[:5]] == [
        ("import_credential", "ok"), ("read_credential", "forbidden"), ("grant", "ok"),
        ("read_credential", "ok"), ("read_credential", "forbidden")]
    written = bench.audit.path.read_bytes()
    assert PASSPHRASE not in written
    assert b64(PASSPHRASE).encode() not in written
    assert verify_audit(bench.audit.path) == len(bench.records())


def test_a_keys_label_is_never_read_as_a_credential(bench: Bench) -> None:
    assert outcome(bench, "read_credential", {"label": "bot-1.sim.hmac"}, BOT_1) == "unknown_key"
    assert outcome(bench, "read_credential", {"label": "bot-1.sim.ed25519"}, BOT_1) == \
        "unknown_key"
    assert [(r["op"], r["label"], r["outcome"]) for r in bench.records()] == [
        ("read_credential", "bot-1.sim.hmac", "unknown_key"),
        ("read_credential", "bot-1.sim.ed25519", "unknown_key")]


@pytest.mark.parametrize(("args", "code"), [
    ({"label": "bot-9.okx.passphrase", "value_b64": ""}, "token_failed"),
    ({"label": "bot-9.okx.passphrase", "value_b64": "%%%"}, "bad_args"),
    ({"label": "bot-9.okx.passphrase"}, "bad_args"),
    ({"label": "bot 9", "value_b64": b64(PASSPHRASE)}, "bad_args"),
    ({"label": "bot-1.sim.hmac", "value_b64": b64(PASSPHRASE)}, "key_exists"),
])
def test_a_bad_credential_import_says_why_and_writes_no_value(
    bench: Bench, args: dict[str, Any], code: str
) -> None:
    assert outcome(bench, "import_credential", args, SUPERVISOR) == code
    (record,) = bench.records()
    assert record["outcome"] == code
    assert PASSPHRASE not in bench.audit.path.read_bytes()
    assert b64(PASSPHRASE).encode() not in bench.audit.path.read_bytes()
