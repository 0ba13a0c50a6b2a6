"""Sessions end after their idle time, after their absolute time, and at logout."""

from __future__ import annotations

import pytest

from appliance.store.access import Role
from tests.ui.auth.auth_bed import Clock, user
from ui.auth.sessions import SessionBook


def test_a_session_used_within_its_idle_time_stays_open_until_its_absolute_expiry() -> None:
    clock = Clock()
    book = SessionBook(idle_s=60, max_s=150, clock=clock)
    session = book.open("signer-1", user(), "soft:dev-key-1", "127.0.0.1")
    for _ in range(2):
        clock.now += 59
        assert book.find(session.id) is session
    clock.now += 32  # 150 s after it opened, though used 32 s ago
    assert book.find(session.id) is None
    assert book.expired() == [session]
    assert book.all() == []


def test_an_idle_session_expires_and_a_look_without_touch_does_not_keep_it() -> None:
    clock = Clock()
    book = SessionBook(idle_s=60, max_s=3600, clock=clock)
    session = book.open("signer-1", user(role=Role.OPERATOR), "d", "127.0.0.1")
    clock.now += 59
    assert book.find(session.id, touch=False) is session
    clock.now += 1
    assert book.find(session.id) is None
    assert book.expired() == [session]


def test_logout_ends_only_that_session_and_ids_are_unguessable() -> None:
    book = SessionBook()
    first = book.open("s1", user(), "d", "127.0.0.1")
    second = book.open("s2", user(), "d", "127.0.0.1")
    assert book.end(first.id) is first
    assert book.find(first.id) is None and book.find(second.id) is second
    assert len(first.id) >= 43 and first.id != second.id
    assert first.id not in repr(first) and "s1" not in repr(first)
    assert book.of_user("sha256:alice") == [second]


def test_an_idle_expiry_beyond_the_absolute_one_is_refused() -> None:
    with pytest.raises(ValueError, match="no longer than its absolute expiry"):
        SessionBook(idle_s=100, max_s=50)
