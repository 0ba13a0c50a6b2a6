"""Free and locked balances of every account, in integer 1e-8 asset units."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from simulator import errors


class Balance:
    """One asset of one account: what it may spend and what its open orders hold."""

    __slots__ = ("free", "locked")

    def __init__(self, free: int = 0, locked: int = 0) -> None:
        self.free = free
        self.locked = locked


class Wallets:
    """Every account's balances and the commissions the exchange has collected."""

    def __init__(self) -> None:
        self._accounts: dict[str, dict[str, Balance]] = {}
        self.fees: dict[str, int] = {}

    def open(self, account: str, balances: Mapping[str, int]) -> None:
        """Give a new account its starting balances."""
        self._accounts[account] = {asset: Balance(units) for asset, units in balances.items()}

    def balance(self, account: str, asset: str) -> Balance:
        """Return one asset of one account, creating an empty one on first use."""
        return self._accounts[account].setdefault(asset, Balance())

    def balances(self, account: str) -> Iterator[tuple[str, Balance]]:
        """Yield an account's assets in name order."""
        yield from sorted(self._accounts[account].items())

    def deposit(self, account: str, asset: str, units: int) -> None:
        """Credit funds that arrive from outside trading."""
        self.balance(account, asset).free += units

    def lock(self, account: str, asset: str, units: int) -> None:
        """Hold funds for an order, or refuse it when the account cannot pay."""
        balance = self.balance(account, asset)
        if balance.free < units:
            raise errors.insufficient_balance()
        balance.free -= units
        balance.locked += units

    def unlock(self, account: str, asset: str, units: int) -> None:
        """Give back funds an order no longer needs."""
        balance = self.balance(account, asset)
        balance.locked -= units
        balance.free += units

    def pay(self, account: str, asset: str, units: int) -> None:
        """Spend funds an order held."""
        self.balance(account, asset).locked -= units

    def receive(self, account: str, asset: str, units: int, commission: int) -> None:
        """Credit what a trade brought, less the commission the exchange keeps."""
        self.balance(account, asset).free += units - commission
        self.fees[asset] = self.fees.get(asset, 0) + commission

    def total(self, asset: str) -> int:
        """Return all of an asset the exchange holds: every account's and the fees."""
        held = sum(
            balance.free + balance.locked
            for balances in self._accounts.values()
            for name, balance in balances.items()
            if name == asset
        )
        return held + self.fees.get(asset, 0)
