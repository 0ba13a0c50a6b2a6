"""Listen keys of the REST user data stream: one per account, valid an hour unless kept alive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator import errors
from simulator.accounts import new_key

LISTEN_KEY_VALIDITY_MS = 60 * 60_000


@dataclass
class _ListenKey:
    """A listen key, its account, and when it expires."""

    key: str
    account: str
    expires: int


class ListenKeys:
    """The active listen keys of every account."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._by_account: dict[str, _ListenKey] = {}

    def open(self, account: str) -> str:
        """Return the account's active listen key, extended, or a new one."""
        current = self._by_account.get(account)
        expires = self._clock() + LISTEN_KEY_VALIDITY_MS
        if current is None:
            current = self._by_account[account] = _ListenKey(new_key(), account, expires)
        current.expires = expires
        return current.key

    def keep_alive(self, account: str, key: str) -> None:
        """Extend an account's listen key by an hour, or refuse a key it does not hold."""
        self._own(account, key).expires = self._clock() + LISTEN_KEY_VALIDITY_MS

    def close(self, account: str, key: str) -> None:
        """Invalidate an account's listen key, or refuse a key it does not hold."""
        self._own(account, key)
        del self._by_account[account]

    def account_of(self, key: str) -> str | None:
        """Return the account of an active listen key, or None."""
        for listen_key in self._by_account.values():
            if listen_key.key == key:
                return listen_key.account
        return None

    def expire(self) -> list[str]:
        """Forget the keys whose hour has passed; return them."""
        now = self._clock()
        ended = [entry for entry in self._by_account.values() if entry.expires <= now]
        for entry in ended:
            del self._by_account[entry.account]
        return [entry.key for entry in ended]

    def _own(self, account: str, key: str) -> _ListenKey:
        """Return an account's active listen key if it is `key`, else refuse."""
        current = self._by_account.get(account)
        if current is None or current.key != key:
            raise errors.BinanceError(-1125, "This listenKey does not exist.")
        return current
