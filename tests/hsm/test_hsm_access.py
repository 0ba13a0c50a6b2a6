"""The --allow entries decide which uid may use which key label; --admin who manages keys."""

from __future__ import annotations

import os

import pytest

from hsm.access import AccessPolicy, AccessSpecError


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
