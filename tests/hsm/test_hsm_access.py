"""The --allow entries decide which uid may use which key label."""

from __future__ import annotations

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


@pytest.mark.parametrize("entry", ["6111", "bot-1=device", "6111=", "=device", "-1=device"])
def test_malformed_entries_say_how_to_write_them(entry: str) -> None:
    with pytest.raises(AccessSpecError, match="write UID=label1,label2"):
        AccessPolicy.parse([entry])
