"""Users, sessions and tokens for the auth tests, and a clock the tests move by hand."""

from __future__ import annotations

from appliance.store.access import ApiToken, Role, TokenScope, User
from ui.auth.tokens import NewToken, new_token


class Clock:
    """A clock that only moves when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def user(name: str = "alice", role: Role = Role.OWNER, serial: str = "1001") -> User:
    """Return an enrolled user (its public key is never read by these tests)."""
    return User(f"sha256:{name}", name, role, "-----BEGIN PUBLIC KEY-----", serial, None,
                serial, None, None, 0.0)


def token(scope: TokenScope, *, expires: float = 10**10,
          revoked: float | None = None) -> tuple[NewToken, ApiToken]:
    """Return a fresh token and the row appliance.db would keep of it."""
    made = new_token()
    return made, ApiToken(made.id, f"{scope} script", scope, made.hash, 0.0, expires,
                          "sha256:alice", revoked)
