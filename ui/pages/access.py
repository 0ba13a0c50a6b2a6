"""The owner's Access page at '/access': users, API tokens, the allowlist and the activity log.

The page does what the owner's REST routes do, through the same `AccessAdmin`, as an
`ActingAdmin` that records each change in the user-activity log: its buttons act over NiceGUI's
socket, which the auth guard does not see.
"""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from ui.access_admin import AccessRefused
from ui.acting import ActingAdmin
from ui.auth.guard import client_address, page_visitor
from ui.components.activity_card import ActivityCard
from ui.components.allowlist_card import AllowlistCard
from ui.components.banner import Banner
from ui.components.page_header import page_header
from ui.components.tokens_card import TokensCard
from ui.components.users_card import UsersCard
from ui.const import REFRESH_SECONDS
from ui.panel import Panel


class AccessView:
    """One owner's Access page: header, a banner when the stores fail, and the four cards."""

    def __init__(self, admin: ActingAdmin) -> None:
        self._admin = admin
        page_header("Access", admin.identity, (("Dashboard", "/"), ("Settings", "/settings")))
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
        identity, session = page_visitor(request, "the access page")
        if not identity.is_owner:
            ui.label("Only an owner may manage access; log in with an owner's key.")
            return
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        view = AccessView(ActingAdmin(panel, identity, client_address(request.scope)))
        ui.timer(REFRESH_SECONDS, view.refresh)
