"""The Alerts page at '/alerts': where the box's alerts go, and the two alert secrets.

Anyone logged in sees where alerts go; an owner changes it: the Telegram chats (typed as a list
of chat ids: the model form shows no lists), the webhook URL and whether an enrolled chat may
/activate (a `ModelForm` of the alert settings' other fields), and replaces or forgets the
Telegram bot token and the webhook key in write-only inputs, cleared after every try. The
buttons act over the page's socket: `ActingAlertsAdmin` checks the owner and records each change.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from nicegui import ui
from pydantic import BaseModel, ValidationError, create_model

from appliance.alerts.validate import AlertSettings
from ui.access_admin import problems_of
from ui.api_alerts import (
    SECRET_NAMES,
    ActingAlertsAdmin,
    AlertsRefused,
    AlertsView,
    SecretName,
    SecretValue,
    secret_name,
)
from ui.auth.guard import client_address, page_visitor
from ui.components.banner import Banner
from ui.components.change_prompts import confirmed
from ui.components.model_form import ModelForm
from ui.components.page_header import page_header
from ui.panel import Panel

CHATS = "telegram_chats"
CHAT_ID = re.compile(r"-?\d{1,20}")
SECRET_TITLES = {"telegram": "Telegram bot token", "webhook": "Webhook signing key"}

_OPTIONS: dict[str, Any] = {name: (info.annotation, info)
                            for name, info in AlertSettings.model_fields.items() if name != CHATS}
AlertOptions = create_model("AlertOptions", __config__=AlertSettings.model_config,
                            __doc__=AlertSettings.__doc__, **_OPTIONS)
"""The alert settings but the chats, field for field: what the model form shows."""


def chats_of(text: str) -> list[int]:
    """Return the chat ids typed, split by commas or spaces; raise ValueError saying what to
    type when one is not a whole number."""
    chats = []
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        if not CHAT_ID.fullmatch(word):
            raise ValueError(f"{word[:20]!r} is not a chat id: type whole numbers separated by "
                             "commas, like 123456789, -1001234567890")
        chats.append(int(word))
    return chats


class SecretLine(ui.row):
    """One alert secret: a write-only input, Replace and Forget."""

    def __init__(self, admin: ActingAlertsAdmin, which: SecretName) -> None:
        super().__init__(align_items="end")
        self._admin = admin
        self._which = which
        self._title = SECRET_TITLES[which]
        self.classes("gap-4").mark(f"secret-{which}")
        with self:
            self._input = ui.input(self._title, password=True).props(
                'autocomplete="off"').classes("w-96")
            ui.button("Replace", on_click=self._replace)
            ui.button("Forget", on_click=self._forget, color="negative").props("flat")

    async def _replace(self) -> None:
        typed = self._input.value or ""
        self._input.set_value("")
        try:
            secret = SecretValue.model_validate({"value": typed})
            await self._admin.replace_secret(self._which, secret)
        except ValidationError as exc:
            ui.notify(f"Not replaced: {problems_of(exc)}", type="negative")
            return
        except AlertsRefused as exc:
            ui.notify(f"Not replaced: {exc.message}", type="negative", multi_line=True)
            return
        ui.notify(f"The {self._title.lower()} is replaced in the box's token; the alerts "
                  "process restarts to read it", type="positive", multi_line=True)

    async def _forget(self) -> None:
        self._input.set_value("")
        if not await confirmed(f"Forget the {self._title.lower()}? It is destroyed in the box's "
                               "token; alerts stop going there until you paste one again.",
                               "Forget"):
            return
        try:
            await self._admin.forget_secret(self._which)
        except AlertsRefused as exc:
            ui.notify(f"Not forgotten: {exc.message}", type="negative", multi_line=True)
            return
        ui.notify(f"The {self._title.lower()} is forgotten", type="positive")


class AlertsPage:
    """One visitor's Alerts page: header, a banner for settings that are not valid, and the
    settings: a form and the secrets for an owner, a summary for anyone else."""

    def __init__(self, admin: ActingAlertsAdmin) -> None:
        self._admin = admin
        identity = admin.identity
        page_header("Alerts", identity)
        with ui.column().classes("w-full max-w-screen-md mx-auto gap-4"):
            self._banner = Banner("notifications_off")
            with ui.card().classes("w-full").mark("alerts-settings"):
                ui.label("Where alerts go").classes("text-h6")
                self._summary = ui.label().classes("text-body2 whitespace-pre-line")
                self._chats: ui.input | None = None
                self._form: ModelForm[BaseModel] | None = None
                if identity.is_owner:
                    self._chats = ui.input(
                        "Telegram chat ids", placeholder="123456789, -1001234567890").classes(
                        "w-full").props(f'hint="{AlertSettings.model_fields[CHATS].description}'
                                        '; separated by commas"')
                    self._form = ModelForm(AlertOptions, self._save)
                else:
                    ui.label("Only an owner may change where alerts go.").classes(
                        "text-body2 text-grey-8")
            if identity.is_owner:
                with ui.card().classes("w-full").mark("alert-secrets"):
                    ui.label("Alert secrets").classes("text-h6")
                    ui.label("Write-only: paste a secret to replace the one in the box's token; "
                             "it is never shown again.").classes("text-body2 text-grey-8")
                    for which in SECRET_NAMES:
                        SecretLine(admin, secret_name(which))

    def refresh(self) -> None:
        """Show the settings as appliance.db holds them now."""
        try:
            view = self._admin.view()
        except AlertsRefused as exc:
            self._banner.show(f"The alert settings cannot be read: {exc.message}")
            return
        if view.problems:
            self._banner.show("; ".join(view.problems))
        else:
            self._banner.hide()
        self._summary.set_text(summary(view))
        if self._chats is not None and self._form is not None:
            self._chats.set_value(", ".join(str(c) for c in sorted(view.settings.telegram_chats)))
            self._form.load(view.settings.model_dump(mode="json"))

    async def _save(self, options: BaseModel) -> None:
        assert self._chats is not None
        try:
            chats = chats_of(self._chats.value or "")
        except ValueError as exc:
            self._chats.error = str(exc)
            return
        self._chats.error = None
        settings = AlertSettings.model_validate({**options.model_dump(), CHATS: chats})
        try:
            await self._admin.save(settings)
        except AlertsRefused as exc:
            ui.notify(f"Not saved: {exc.message}", type="negative", multi_line=True)
            return
        ui.notify("The alert settings are saved; the alerts process follows them within a "
                  "second", type="positive")
        self.refresh()


def summary(view: AlertsView) -> str:
    """Return the settings as a few lines a person reads."""
    settings = view.settings
    chats = ", ".join(str(c) for c in sorted(settings.telegram_chats)) or "none"
    lines: dict[str, Any] = {
        "Telegram chats": chats, "Webhook": settings.webhook_url or "none",
        "/activate from Telegram": "allowed" if settings.telegram_activate else "refused"}
    return "\n".join(f"{name}: {value}" for name, value in lines.items())


def add_alerts(panel: Panel) -> None:
    """Serve the Alerts page at '/alerts': to any session, its changes to owners."""

    @ui.page("/alerts")
    def alerts_page(request: Request) -> None:
        identity, session = page_visitor(request, "the alerts page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        AlertsPage(ActingAlertsAdmin(panel, identity, client_address(request.scope))).refresh()
