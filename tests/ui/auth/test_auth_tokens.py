"""API tokens: shown once, kept as a hash, refused once revoked or expired."""

from __future__ import annotations

from appliance.store.access import TokenScope
from tests.ui.auth.auth_bed import token
from ui.auth.tokens import token_hash, token_id, token_matches


def test_a_token_carries_its_id_and_matches_only_its_own_hash() -> None:
    made, stored = token(TokenScope.READ)
    assert token_id(made.text) == made.id
    assert made.hash == token_hash(made.text) and made.text not in repr(made)
    assert token_matches(made.text, stored, now=1.0)
    assert not token_matches(made.text[:-1] + ("A" if made.text[-1] != "A" else "B"), stored, 1.0)


def test_revoked_expired_and_misshapen_tokens_are_refused() -> None:
    made, revoked = token(TokenScope.CONTROL, revoked=5.0)
    assert not token_matches(made.text, revoked, now=6.0)
    made, expiring = token(TokenScope.CONTROL, expires=100.0)
    assert token_matches(made.text, expiring, now=99.0)
    assert not token_matches(made.text, expiring, now=100.0)
    for junk in ("", "mmb_", "Bearer x", made.text + "x", "mmb_zzzzzzzzzzzz_" + "a" * 43):
        assert token_id(junk) is None
