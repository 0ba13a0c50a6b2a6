"""The audit log chains each line to the one before, so an edit shows."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hsm.audit import GENESIS, AuditBroken, AuditLog, Tally, TallyKey, line_hash, verify_audit


def clock() -> float:
    return 1_800_000_000.25


def write_records(path: Path, count: int) -> None:
    """Append `count` key-management records to the log at path."""
    log = AuditLog(path, clock)
    for n in range(count):
        log.record("request", {"uid": 0, "pid": 100 + n, "op": "rename_key",
                               "label": f"bot-{n}.sim.hmac", "outcome": "ok"}, sync=True)
    log.close()


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_each_record_names_the_hash_of_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 3)
    records = [json.loads(line) for line in lines(path)]
    assert records[0]["prev"] == GENESIS
    assert records[1]["prev"] == line_hash(lines(path)[0])
    assert records[2] == {"ts": "2027-01-15T08:00:00.250+00:00", "event": "request", "uid": 0,
                          "pid": 102, "op": "rename_key", "label": "bot-2.sim.hmac",
                          "outcome": "ok", "prev": line_hash(lines(path)[1])}
    assert verify_audit(path) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_reopened_log_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 2)
    write_records(path, 2)
    assert verify_audit(path) == 4


def test_an_empty_log_verifies_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path, clock).close()
    assert verify_audit(path) == 0


def test_an_edited_line_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 4)
    edited = lines(path)
    edited[1] = edited[1].replace(b'"uid":0', b'"uid":6111')
    path.write_bytes(b"".join(edited))
    with pytest.raises(AuditBroken, match="line 3: does not follow line 2") as broken:
        verify_audit(path)
    assert broken.value.line == 3


@pytest.mark.parametrize("change", ["remove", "insert", "swap"])
def test_a_removed_inserted_or_swapped_line_is_found(tmp_path: Path, change: str) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 4)
    changed = lines(path)
    if change == "remove":
        del changed[1]
    elif change == "insert":
        changed.insert(2, changed[0])
    else:
        changed[1], changed[2] = changed[2], changed[1]
    path.write_bytes(b"".join(changed))
    with pytest.raises(AuditBroken):
        verify_audit(path)


def test_a_line_that_is_not_json_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 2)
    path.write_bytes(path.read_bytes() + b"garbage\n")
    with pytest.raises(AuditBroken, match="line 3: not a JSON record"):
        verify_audit(path)


def test_a_torn_last_line_shows_and_the_chain_goes_on_after_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    write_records(path, 2)
    path.write_bytes(path.read_bytes() + b'{"ts": "torn')
    write_records(path, 1)
    records = lines(path)
    assert records[2] == b'{"ts": "torn\n'
    assert json.loads(records[3])["prev"] == line_hash(records[2])
    with pytest.raises(AuditBroken, match="line 3"):
        verify_audit(path)


def test_a_tally_lists_counts_per_caller_op_label_and_outcome() -> None:
    tally = Tally.start(1_800_000_000.0)
    sign = TallyKey(6111, 40, "sign_hmac", "bot-1.sim.hmac", "ok")
    refused = TallyKey(6112, 41, "sign_hmac", "bot-1.sim.hmac", "forbidden")
    assert [tally.add(sign) for _ in range(3)] == [1, 2, 3]
    tally.add(refused)
    assert tally.as_fields() == {"since": "2027-01-15T08:00:00.000+00:00", "counts": [
        {"uid": 6111, "pid": 40, "op": "sign_hmac", "label": "bot-1.sim.hmac", "outcome": "ok",
         "n": 3},
        {"uid": 6112, "pid": 41, "op": "sign_hmac", "label": "bot-1.sim.hmac",
         "outcome": "forbidden", "n": 1},
    ]}
