"""The Access page's API tokens: revoking each, and creating one whose text is shown once."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from appliance.store.access import ApiToken, TokenScope
from ui.access_admin import MAX_TOKEN_DAYS, AccessRefused, TokenRequest, form_of
from ui.acting import ActingAdmin
from ui.components.access_card import AccessCard
from ui.components.change_prompts import change_confirmed, refused
from ui.components.formats import moment
from ui.components.number_table import Column
from ui.components.revoke_table import RevokeTable

TOKEN_COLUMNS = (
    Column("name", "Name"), Column("scope", "Scope"), Column("created", "Created (UTC)"),
    Column("expires", "Expires (UTC)"), Column("revoked", "Revoked (UTC)"),
)


def token_row(token: ApiToken) -> dict[str, Any]:
    """Return a token as a row of the tokens table: it has no text to show."""
    return {"key": token.id, "live": token.revoked is None, "name": token.name,
            "scope": str(token.scope), "created": moment(token.created),
            "expires": moment(token.expires), "revoked": moment(token.revoked)}


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


class TokensCard(AccessCard):
    """The API tokens, a way to revoke each, and the creation of a new one."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__(admin, "API tokens", "tokens-card")
        with self:
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
        await change_confirmed(
            f"Revoke the token {row['name']}? Scripts using it are refused from now on.",
            "Revoke token", lambda: self._admin.revoke_token(row["key"]),
            f"The token {row['name']} is revoked")
