"""Key labels name a bot's key on an exchange in a form every token stores."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsm.labels import is_label


@pytest.mark.parametrize("label", ["bot-1.sim.hmac", "bot-1.sim.ed25519", "device", "k",
                                   "A_b-c.9", "x" * 40])
def test_labels_per_bot_and_exchange_are_valid(label: str) -> None:
    assert is_label(label)


@pytest.mark.parametrize("label", ["", "x" * 41, ".hidden", "-flag", "bot 1", "bot/1", "bot\n1",
                                   "clé", "../../etc", None, 7, ["device"]])
def test_other_labels_are_refused(label: object) -> None:
    assert not is_label(label)


@given(st.text(max_size=60))
def test_a_valid_label_is_short_and_plain(text: str) -> None:
    if is_label(text):
        assert 1 <= len(text) <= 40
        assert text.isascii() and text.isprintable() and " " not in text
