"""The --allow entries decide which uid may use which key label; --admin who manages keys;
grants and deletions at run time give a new policy."""

from __future__ import annotations

import os

import pytest

from hsm.access import UID_MAX, AccessPolicy, AccessSpecError, is_uid


def test_a_uid_may_use_only_its_labels() -> None:
    policy = AccessPolicy.parse(["6111=bot-1.sim.hmac", "6112=bot-2.sim.hmac,bot-2.sim.ed25519"])
    assert policy.allows(6111, "bot-1.sim.hmac")
    assert policy.allows(6112, "bot-2.sim.ed25519")
    assert not policy.allows(6111, "bot-2.sim.hmac")
    assert not policy.allows(6113, "bot-1.sim.hmac")


def test_entries_for_one_uid_add_up() -> None:
    policy = AccessPolicy.parse(["0=device", "0=bot-1.sim.hmac"])
    assert policy.allows(0, "device")
    assert policy.allows(0, "bot-1.sim.hmac")


def test_no_entries_allow_nothing() -> None:
    assert not AccessPolicy.parse([]).allows(0, "device")


@pytest.mark.parametrize("entry", ["6111", "bot-1=device", "6111=", "=device", "-1=device",
                                   "6111=bad label", "6111=.hidden", f"6111={'x' * 41}"])
def test_malformed_entries_say_how_to_write_them(entry: str) -> None:
    with pytest.raises(AccessSpecError, match="write UID=label1,label2"):
        AccessPolicy.parse([entry])


def test_root_and_the_signer_itself_manage_keys_by_default() -> None:
    policy = AccessPolicy.parse(["6111=bot-1.sim.hmac"])
    assert policy.is_admin(0)
    assert policy.is_admin(os.getuid())
    assert not policy.is_admin(6111)


def test_admin_uids_given_replace_the_default() -> None:
    policy = AccessPolicy.parse([], admins=[6000])
    assert policy.admins == frozenset({6000})
    assert not policy.is_admin(0)


def test_a_grant_gives_a_new_policy_and_leaves_the_old_one_as_it_was() -> None:
    before = AccessPolicy.parse(["6111=bot-1.sim.hmac"], admins=[0])
    after = before.granted(6112, "bot-2.okx.hmac").granted(6111, "bot-1.okx.passphrase")
    assert after.allows(6112, "bot-2.okx.hmac")
    assert after.allows(6111, "bot-1.okx.passphrase")
    assert after.allows(6111, "bot-1.sim.hmac")
    assert not after.allows(6111, "bot-2.okx.hmac")
    assert after.admins == frozenset({0})
    assert before.grants == {6111: frozenset({"bot-1.sim.hmac"})}


def test_a_label_taken_away_is_granted_to_no_uid() -> None:
    policy = AccessPolicy.parse(["6111=shared,bot-1.sim.hmac", "6112=shared"], admins=[0])
    after = policy.without_label("shared")
    assert not after.allows(6111, "shared")
    assert not after.allows(6112, "shared")
    assert after.allows(6111, "bot-1.sim.hmac")
    assert after.grants == {6111: frozenset({"bot-1.sim.hmac"})}
    assert policy.allows(6112, "shared")


@pytest.mark.parametrize(("value", "expected"), [
    (0, True), (6111, True), (UID_MAX, True), (UID_MAX + 1, False), (-1, False),
    (True, False), ("6111", False), (6111.0, False), (None, False)])
def test_a_uid_is_a_whole_number_in_the_kernels_range(value: object, expected: bool) -> None:
    assert is_uid(value) is expected
