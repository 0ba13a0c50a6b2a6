"""The owner's Access page at '/access': users, API tokens, the allowlist and the activity log.

The page does what the owner's REST routes do, through the same `AccessAdmin`. Its buttons act
over NiceGUI's socket, which the auth guard does not see, so each change is recorded in the
user-activity log here, as `ActingSupervisor` records the dashboard's commands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request
from nicegui import ui

from appliance.ipc import IpcError
from appliance.store.access import ActivityRecord, ApiToken, Role, TokenScope, User
from ui.api_access import (
    ACTIVITY_LIMIT,
    MAX_TOKEN_DAYS,
    AccessAction,
    AccessAdmin,
    AccessChange,
    AccessRefused,
    AllowlistRequest,
    EnrolRequest,
    TokenRequest,
    form_of,
)
from ui.auth.guard import ActivityEntry, Identity, client_address
from ui.components.banner import Banner
from ui.components.formats import NOTHING
from ui.components.number_table import Column, NumberTable
from ui.const import REFRESH_SECONDS
from ui.pages.dashboard import LOGOUT_FORM
from ui.panel import Panel
from ui.signer import PluggedKey

log = logging.getLogger(__name__)

FINGERPRINT_SHOWN = 23
"""How much of a key fingerprint the users table shows: `sha256:` and 16 hex digits."""

USER_COLUMNS = (
    Column("name", "Name"), Column("role", "Role"), Column("fingerprint", "Key fingerprint"),
    Column("serial", "Key serial"), Column("enrolled", "Enrolled (UTC)"),
    Column("revoked", "Revoked (UTC)"),
)
TOKEN_COLUMNS = (
    Column("name", "Name"), Column("scope", "Scope"), Column("created", "Created (UTC)"),
    Column("expires", "Expires (UTC)"), Column("revoked", "Revoked (UTC)"),
)
ACTIVITY_COLUMNS = (
    Column("time", "Time (UTC)"), Column("actor", "Actor"), Column("address", "Address"),
    Column("action", "Action"), Column("outcome", "Outcome"),
)
REVOKE_CELL = (
    '<q-td :props="props"><q-btn v-if="props.row.live" flat dense no-caps color="negative" '
    'label="Revoke" @click="() => $parent.$emit(\'revoke\', props.row.key)" /></q-td>')
"""A row's Revoke button: it sends the row's key to the server, which asks to confirm."""


def moment(ts: float | None) -> str:
    """Return a Unix time as a UTC date and time to the minute, or a dash for none."""
    return NOTHING if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


def user_row(user: User) -> dict[str, Any]:
    """Return a user as a row of the users table."""
    return {"key": user.fingerprint, "live": user.revoked is None, "name": user.name,
            "role": str(user.role), "fingerprint": user.fingerprint[:FINGERPRINT_SHOWN] + "…",
            "serial": user.usb_serial or NOTHING, "enrolled": moment(user.created),
            "revoked": moment(user.revoked)}


def token_row(token: ApiToken) -> dict[str, Any]:
    """Return a token as a row of the tokens table: it has no text to show."""
    return {"key": token.id, "live": token.revoked is None, "name": token.name,
            "scope": str(token.scope), "created": moment(token.created),
            "expires": moment(token.expires), "revoked": moment(token.revoked)}


def activity_record(record: ActivityRecord) -> dict[str, Any]:
    """Return an activity record as a row of the activity table."""
    return {"time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.ts)),
            "actor": record.actor or NOTHING, "address": record.address or NOTHING,
            "action": record.action, "outcome": record.outcome}


def refused(exc: AccessRefused) -> None:
    """Show a refusal as a red notification, in the words of whoever refused."""
    ui.notify(exc.message, type="negative", multi_line=True)


class ActingAdmin(AccessAdmin):
    """The owner's access changes asked from the page by `identity` connected from `address`."""

    def __init__(self, panel: Panel, identity: Identity, address: str) -> None:
        super().__init__(panel)
        self.identity = identity
        self.address = address

    async def enrol(self, form: EnrolRequest) -> AccessChange:
        """Enrol a key, as this user."""
        return await self._as_owner(AccessAction.USER_ENROL, lambda: super(
            ActingAdmin, self).enrol(form))

    async def revoke_user(self, fingerprint: str) -> AccessChange:
        """Revoke a user, as this user."""
        return await self._as_owner(AccessAction.USER_REVOKE, lambda: super(
            ActingAdmin, self).revoke_user(fingerprint))

    async def create_token(self, form: TokenRequest, creator: str) -> AccessChange:
        """Create an API token, as this user."""
        return await self._as_owner(AccessAction.TOKEN_CREATE, lambda: super(
            ActingAdmin, self).create_token(form, creator))

    async def revoke_token(self, token_id: str) -> AccessChange:
        """Revoke an API token, as this user."""
        return await self._as_owner(AccessAction.TOKEN_REVOKE, lambda: super(
            ActingAdmin, self).revoke_token(token_id))

    async def propose_allowlist(
        self, form: AllowlistRequest, address: str, author: str
    ) -> AccessChange:
        """Replace the allowlist, as this user."""
        return await self._as_owner(AccessAction.ALLOWLIST_PROPOSE, lambda: super(
            ActingAdmin, self).propose_allowlist(form, address, author))

    async def confirm_allowlist(self, address: str) -> AccessChange:
        """Keep the allowlist change, as this user."""
        return await self._as_owner(AccessAction.ALLOWLIST_CONFIRM, lambda: super(
            ActingAdmin, self).confirm_allowlist(address))

    async def _as_owner(
        self, action: AccessAction, command: Callable[[], Awaitable[AccessChange]]
    ) -> AccessChange:
        if not self.identity.is_owner:
            await self._note(action, "refused", {})
            raise AccessRefused(403, "forbidden", "only an owner may do this; log in with an "
                                "owner's key")
        try:
            change = await command()
        except AccessRefused as exc:
            await self._note(action, exc.code, {})
            raise
        await self._note(action, "ok", change.detail)
        return change

    async def _note(self, action: AccessAction, outcome: str, detail: dict[str, Any]) -> None:
        entry = ActivityEntry(self.identity.name, self.identity.fingerprint, self.address,
                              str(action), outcome, {"via": "panel", **detail})
        try:
            await self.panel.supervisor.record_activity(entry)
        except IpcError as exc:
            log.warning("could not record %s by %r in the activity log: %s", action,
                        entry.actor, exc.message)


async def confirmed(question: str, yes: str) -> bool:
    """Ask the owner to confirm a change in a dialog; return whether they did."""
    with ui.dialog() as dialog, ui.card():
        ui.label(question)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(yes, color="negative", on_click=lambda: dialog.submit(True))
    answer = await dialog
    dialog.delete()
    return answer is True


async def show_once(token_text: str) -> None:
    """Show a new token's text until the owner closes the dialog, then delete every trace."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("max-w-screen-md"):
        ui.label("Your new API token").classes("text-h6")
        ui.label(token_text).classes("font-mono break-all select-all bg-grey-2 q-pa-sm")
        ui.label("Copy it now and keep it somewhere safe. It will not be shown again: the box "
                 "keeps only its hash.").classes("text-negative")
        with ui.row().classes("w-full justify-end"):
            ui.button("Copy", on_click=lambda: ui.clipboard.write(token_text)).props("flat")
            ui.button("I have copied it", on_click=lambda: dialog.submit(True))
    await dialog
    dialog.delete()


class RevokeTable(ui.table):
    """A table of users or tokens with a Revoke button on each row not revoked yet."""

    def __init__(self, columns: Sequence[Column], empty: str,
                 revoke: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        specs = [column.spec() for column in columns]
        super().__init__(rows=[], columns=[*specs, {"name": "revoke", "label": "",
                                                    "field": "key"}], row_key="key")
        self.props(f'dense flat bordered no-data-label="{empty}"').classes("w-full")
        self.add_slot("body-cell-revoke", REVOKE_CELL)
        self.on("revoke", lambda event: self._revoke(event.args, revoke))

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Show these rows, sending nothing to the browser if they did not change."""
        if rows != self.rows:
            self.rows = rows
            self.update()

    async def _revoke(self, key: Any,
                      revoke: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Revoke the row the browser names, if it is one shown and not revoked yet."""
        row = next((r for r in self.rows if r["key"] == key and r["live"]), None)
        if row is not None:
            await revoke(row)


class UsersCard(ui.card):
    """The users, a way to revoke each, and the enrolment of a key plugged in."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__()
        self._admin = admin
        self.classes("w-full").mark("users-card")
        with self:
            ui.label("Users").classes("text-h6")
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
        if not await confirmed(f"Revoke {row['name']}? Their key stops logging in and their "
                               "open sessions end now.", "Revoke user"):
            return
        try:
            await self._admin.revoke_user(row["key"])
        except AccessRefused as exc:
            refused(exc)
            return
        ui.notify(f"{row['name']} is revoked", type="positive")


class TokensCard(ui.card):
    """The API tokens, a way to revoke each, and the creation of a new one."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__()
        self._admin = admin
        self.classes("w-full").mark("tokens-card")
        with self:
            ui.label("API tokens").classes("text-h6")
            self._table = RevokeTable(TOKEN_COLUMNS, "no tokens", self._revoke).mark("tokens")
            ui.label("Create a token").classes("text-subtitle1")
            with ui.row().classes("items-end gap-4"):
                self._name = ui.input("Name").props("maxlength=40")
                self._scope = ui.select({str(s): str(s) for s in TokenScope}, label="Scope",
                                        value=str(TokenScope.READ))
                self._days = ui.number("Days valid", value=90, min=1, max=MAX_TOKEN_DAYS,
                                       precision=0)
                ui.button("Create token", on_click=self._create)

    async def refresh(self) -> None:
        """Show the tokens."""
        self._table.show([token_row(t) for t in self._admin.tokens()])

    async def _create(self) -> None:
        try:
            form = form_of(TokenRequest, {"name": self._name.value, "scope": self._scope.value,
                                          "days": self._days.value})
            change = await self._admin.create_token(form, self._admin.identity.fingerprint)
        except AccessRefused as exc:
            refused(exc)
            return
        self._name.set_value("")
        await show_once(change.answer["token"])

    async def _revoke(self, row: dict[str, Any]) -> None:
        if not await confirmed(f"Revoke the token {row['name']}? Scripts using it are "
                               "refused from now on.", "Revoke token"):
            return
        try:
            await self._admin.revoke_token(row["key"])
        except AccessRefused as exc:
            refused(exc)
            return
        ui.notify(f"The token {row['name']} is revoked", type="positive")


class AllowlistCard(ui.card):
    """The networks allowed to reach the panel, an editor, and the change waiting to be kept."""

    def __init__(self, admin: ActingAdmin, cidrs: list[str]) -> None:
        super().__init__()
        self._admin = admin
        self._deadline: float | None = None
        self.classes("w-full").mark("allowlist-card")
        with self:
            ui.label("Allowlist").classes("text-h6")
            self._current = ui.label().classes("text-body2").mark("allowlist")
            with ui.row(wrap=False, align_items="center").classes(
                    "w-full gap-3 px-4 py-3 rounded-borders bg-amber-2") as self._pending:
                ui.icon("timer", size="sm")
                self._countdown = ui.label().classes("grow")
                ui.button("Keep this allowlist", on_click=self._confirm)
            self._pending.set_visibility(False)
            self._editor = ui.textarea(
                "One address or CIDR per line", value="\n".join(cidrs)).classes("w-full")
            ui.button("Apply", on_click=self._propose)

    async def refresh(self) -> None:
        """Show the allowlist in force and the time left to keep a change."""
        self._current.set_text("Allowed now: " + ", ".join(self._admin.allowlist()))
        pending = await self._admin.pending()
        self._deadline = None if pending is None else float(pending["deadline"])
        self._show_countdown()

    def _show_countdown(self) -> None:
        if self._deadline is None:
            self._pending.set_visibility(False)
            return
        left = max(0, round(self._deadline - time.time()))
        self._countdown.set_text(
            f"The new allowlist reverts in {left} s unless you keep it. Check that you can "
            "still reach the panel from everywhere you need, then keep it.")
        self._pending.set_visibility(True)

    async def _propose(self) -> None:
        cidrs = [line.strip() for line in (self._editor.value or "").splitlines()
                 if line.strip()]
        try:
            form = form_of(AllowlistRequest, {"cidrs": cidrs})
            change = await self._admin.propose_allowlist(form, self._admin.address,
                                                         self._admin.identity.name)
        except AccessRefused as exc:
            refused(exc)
            return
        self._editor.set_value("\n".join(change.answer["cidrs"]))
        self._deadline = float(change.answer["deadline"])
        self._show_countdown()

    async def _confirm(self) -> None:
        try:
            change = await self._admin.confirm_allowlist(self._admin.address)
        except AccessRefused as exc:
            refused(exc)
            return
        self._deadline = None
        self._show_countdown()
        ui.notify("The new allowlist is kept: " + ", ".join(change.answer["cidrs"]),
                  type="positive")


class ActivityCard(ui.card):
    """The newest records of the user-activity log and whether its chain holds."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__()
        self._admin = admin
        self.classes("w-full").mark("activity-card")
        with self:
            ui.label("Activity").classes("text-h6")
            self._chain = ui.label().classes("text-body2").mark("chain")
            self._table = NumberTable(ACTIVITY_COLUMNS, "no activity yet")
            self._table.mark("activity")

    async def refresh(self) -> None:
        """Show the newest records, newest first, and the state of the chain."""
        page = self._admin.newest_activity(ACTIVITY_LIMIT)
        self._chain.set_text("The log's chain is intact." if page.chain == "intact" else
                             f"The log's chain is {page.chain}")
        self._table.show([activity_record(r) for r in reversed(page.records)])


class AccessView:
    """One owner's Access page: header, a banner when the stores fail, and the four cards."""

    def __init__(self, admin: ActingAdmin) -> None:
        self._admin = admin
        with ui.header().classes("items-center bg-blue-grey-9 px-6 gap-4"):
            ui.label("MMBox").classes("text-h6")
            ui.label("Access").classes("text-subtitle1 text-blue-grey-2")
            ui.link("Dashboard", "/").classes("text-white")
            ui.space()
            ui.label(f"{admin.identity.name} ({admin.identity.role})").classes("text-body2")
            ui.html(LOGOUT_FORM)
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4"):
            self._banner = Banner("storage")
            self._users = UsersCard(admin)
            self._tokens = TokensCard(admin)
            self._allowlist = AllowlistCard(admin, self._cidrs())
            self._activity = ActivityCard(admin)

    async def refresh(self) -> None:
        """Show access as it stands now, and what cannot be read."""
        problems = []
        for card in (self._users, self._tokens, self._allowlist, self._activity):
            try:
                await card.refresh()
            except AccessRefused as exc:
                problems.append(exc.message)
        if problems:
            self._banner.show("Access cannot all be shown: " + "; ".join(problems))
        else:
            self._banner.hide()

    def _cidrs(self) -> list[str]:
        try:
            return self._admin.allowlist()
        except AccessRefused:
            return []  # the banner says why on the first refresh


def add_access(panel: Panel) -> None:
    """Serve the Access page at '/access': only to an owner's session, as the guard made sure."""

    @ui.page("/access")
    def access_page(request: Request) -> None:
        identity = request.state.identity
        if not isinstance(identity, Identity) or identity.session is None:
            raise RuntimeError("the access page was reached without a session")
        if not identity.is_owner:
            ui.label("Only an owner may manage access; log in with an owner's key.")
            return
        panel.watch.attach(identity.session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        view = AccessView(ActingAdmin(panel, identity, client_address(request.scope)))
        ui.timer(REFRESH_SECONDS, view.refresh)
