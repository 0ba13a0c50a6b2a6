"""The users and API tokens appliance.db holds, as the panel reads them (read-only, each time).

Reading afresh on every login and every token request means a user or token the owner just
revoked is refused at once, by every panel process.
"""

from __future__ import annotations

from pathlib import Path

from appliance.store import access
from appliance.store.access import ApiToken, User
from appliance.store.database import StoreUnavailable, read_from


class Accounts:
    """appliance.db's users and tokens."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def users(self) -> list[User]:
        """Return the users not revoked."""
        return read_from(self.path, access.users)

    def user_of_key(self, serial: str) -> User | None:
        """Return the user enrolled with the USB key of this serial, if any is."""
        return next((u for u in self.users() if serial and u.usb_serial == serial), None)

    def token(self, token_id: str) -> ApiToken | None:
        """Return the API token `token_id`, revoked or not; None when unknown or unreadable."""
        try:
            return read_from(self.path, lambda db: access.api_token(db, token_id))
        except StoreUnavailable:
            return None
