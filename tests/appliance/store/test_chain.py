"""The hash chain: a chain built record by record verifies, and each kind of edit is named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.store.chain import (
    GENESIS,
    ChainBroken,
    Head,
    Link,
    follow_chain,
    record_hash,
    verify_chain,
)

values = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
records = st.dictionaries(st.text(max_size=8), values, max_size=5)


def build(fields: list[dict[str, Any]]) -> list[Link]:
    """Return the chain of the records in order, numbered from 1."""
    links: list[Link] = []
    prev = GENESIS
    for seq, record in enumerate(fields, start=1):
        links.append(Link(seq, record, prev, record_hash(prev, record)))
        prev = links[-1].hash
    return links


@given(st.lists(records, max_size=20))
def test_any_chain_built_in_order_verifies(fields: list[dict[str, Any]]) -> None:
    assert verify_chain(build(fields)) == len(fields)


def test_the_hash_covers_prev_and_every_field_but_not_key_order() -> None:
    record = {"a": 1, "b": "x"}
    assert record_hash(GENESIS, record) == record_hash(GENESIS, {"b": "x", "a": 1})
    assert record_hash(GENESIS, record) != record_hash("1" * 64, record)
    assert record_hash(GENESIS, record) != record_hash(GENESIS, {"a": 1, "b": "y"})


def test_an_edited_record_is_named() -> None:
    links = build([{"n": n} for n in range(5)])
    links[2] = links[2]._replace(record={"n": 99})
    with pytest.raises(ChainBroken, match="record 3: its contents") as broken:
        verify_chain(links)
    assert broken.value.seq == 3


def test_a_rehashed_edit_is_found_at_the_record_after_it() -> None:
    links = build([{"n": n} for n in range(5)])
    forged = {"n": 99}
    links[2] = links[2]._replace(record=forged, hash=record_hash(links[2].prev, forged))
    with pytest.raises(ChainBroken, match="record 4: does not follow record 3"):
        verify_chain(links)


def test_a_removed_first_record_is_found() -> None:
    with pytest.raises(ChainBroken, match="record 2: does not follow the start of the chain"):
        verify_chain(build([{"n": n} for n in range(3)])[1:])


def test_a_chain_followed_in_parts_verifies_from_where_the_last_part_ended() -> None:
    links = build([{"n": n} for n in range(6)])
    head, count = follow_chain(links[:4])

    assert (head, count) == (Head(4, links[3].hash), 4)
    assert follow_chain(links[4:], head) == (Head(6, links[5].hash), 2)
    with pytest.raises(ChainBroken, match="record 6: does not follow record 4"):
        follow_chain(links[5:], head)
