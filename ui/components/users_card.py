"""The Access page's users: who may log in, revoking each, and enrolling a key plugged in."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.store.access import Role, User
from ui.access_admin import AccessRefused, EnrolRequest, form_of
from ui.acting import ActingAdmin
from ui.components.access_card import AccessCard
from ui.components.change_prompts import change_confirmed, refused
from ui.components.formats import NOTHING, moment
from ui.components.number_table import Column
from ui.components.revoke_table import RevokeTable
from ui.signer import PluggedKey

FINGERPRINT_SHOWN = 23
"""How much of a key fingerprint the users table shows: `sha256:` and 16 hex digits."""

USER_COLUMNS = (
    Column("name", "Name"), Column("role", "Role"), Column("fingerprint", "Key fingerprint"),
    Column("serial", "Key serial"), Column("enrolled", "Enrolled (UTC)"),
    Column("revoked", "Revoked (UTC)"),
)


def user_row(user: User) -> dict[str, Any]:
    """Return a user as a row of the users table."""
    return {"key": user.fingerprint, "live": user.revoked is None, "name": user.name,
            "role": str(user.role), "fingerprint": user.fingerprint[:FINGERPRINT_SHOWN] + "…",
            "serial": user.usb_serial or NOTHING, "enrolled": moment(user.created),
            "revoked": moment(user.revoked)}


class UsersCard(AccessCard):
    """The users, a way to revoke each, and the enrolment of a key plugged in."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__(admin, "Users", "users-card")
        with self:
            self._table = RevokeTable(USER_COLUMNS, "no users", self._revoke).mark("users")
            ui.label("Enrol a key").classes("text-subtitle1")
            self._keys_note = ui.label().classes("text-caption text-grey-8")
            with ui.row().classes("items-end gap-4"):
                self._key = ui.select({}, label="Key plugged in").classes("min-w-64")
                self._name = ui.input("Name").props("maxlength=40")
                self._role = ui.select({str(r): str(r) for r in Role}, label="Role",
                                       value=str(Role.OPERATOR))
                self._pin = ui.input("Key PIN (if it asks)", password=True).props(
                    "maxlength=64 autocomplete=off")
                ui.button("Enrol", on_click=self._enrol)

    async def refresh(self) -> None:
        """Show the users and the keys plugged in that are not enrolled."""
        self._table.show([user_row(u) for u in self._admin.users()])
        try:
            plugged = await self._admin.keys()
        except AccessRefused as exc:
            self._show_keys([], f"The plugged-in keys cannot be listed: {exc.message}")
            return
        free = [key for key, user in plugged if user is None]
        self._show_keys(free, "" if free else "Plug in an operator key that is not enrolled "
                        "to enrol it.")

    def _show_keys(self, keys: list[PluggedKey], note: str) -> None:
        options = {k.device: f"{k.product or 'key'} · serial {k.serial}" for k in keys}
        if options != self._key.options:
            self._key.set_options(options, value=self._key.value if self._key.value in options
                                  else next(iter(options), None))
        self._keys_note.set_text(note)

    async def _enrol(self) -> None:
        pin = self._pin.value or None
        self._pin.set_value("")
        try:
            form = form_of(EnrolRequest, {"device": self._key.value or "",
                                          "name": self._name.value, "role": self._role.value,
                                          "pin": pin})
            change = await self._admin.enrol(form)
        except AccessRefused as exc:
            refused(exc)
            return
        self._name.set_value("")
        ui.notify(f"{change.detail['user']} is enrolled as {change.detail['role']}",
                  type="positive")

    async def _revoke(self, row: dict[str, Any]) -> None:
        await change_confirmed(
            f"Revoke {row['name']}? Their key stops logging in and their open sessions end "
            "now.", "Revoke user", lambda: self._admin.revoke_user(row["key"]),
            f"{row['name']} is revoked")
