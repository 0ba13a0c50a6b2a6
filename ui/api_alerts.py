"""Where alerts go: the alert settings, and the two alert secrets (the Telegram bot token, the
webhook's signing key), read from appliance.db and changed through the supervisor.

`AlertsAdmin` reads and changes them once, for the REST routes below and the Alerts page alike;
`ActingAlertsAdmin` is what the page acts through: its buttons act over NiceGUI's socket, which
the auth guard does not see, so it checks the owner and records each change in the activity log.
Anyone logged in may read the settings; only an owner may change them (the auth guard sees to
it on the REST routes). A secret is write-only: it goes to the supervisor inside one request,
is never answered back, and the activity log names which secret changed, never its value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, Secret, StringConstraints

from appliance.alerts.validate import AlertSettings, load_settings
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from
from ui.access_admin import Form
from ui.acting import record
from ui.api import ERROR_STATUS, GUARDED, RequestRefused, body_of, errors, identity_of, json_body
from ui.api_exchanges import answering_refusals
from ui.auth.guard import Identity
from ui.exchange_admin import SECRET_SCHEMA
from ui.panel import Panel

ALERTS_ERRORS = {**ERROR_STATUS, "bad_args": 422, "unavailable": 503, "locked": 503}
"""The HTTP status of each refusal of the supervisor's alert ops; any other is a 409."""

_Answer = TypeVar("_Answer")

SecretName = Literal["telegram", "webhook"]
SECRET_NAMES: tuple[str, ...] = get_args(SecretName)
SECRET_MAX = 512
"""The longest secret the supervisor takes."""

WHICH = {"name": "which", "in": "path", "required": True,
         "schema": {"type": "string", "enum": list(SECRET_NAMES)},
         "description": "telegram: the bot token; webhook: the key that signs each POST"}


class AlertsView(BaseModel):
    """The alert settings (a setting that is not valid at its default) and what is wrong."""

    settings: AlertSettings
    problems: list[str] = Field(description="each stored setting that is not valid, and what "
                                "to set it to; it counts as its default until it is fixed")


def answer_of(view: AlertsView) -> dict[str, Any]:
    """Return the settings as the API answers them: the chats in order, so an answer is the same
    for the same settings."""
    answer = view.model_dump(mode="json")
    answer["settings"]["telegram_chats"].sort()
    return answer


class SecretValue(Form):
    """A new alert secret: the Telegram bot token as @BotFather gave it, or the webhook key."""

    value: Secret[Annotated[str, StringConstraints(min_length=1, max_length=SECRET_MAX)]] = \
        Field(json_schema_extra=SECRET_SCHEMA, description="the secret, sent once; it is "
              "never shown again")


class SecretChanged(BaseModel):
    """Which alert secret was replaced or forgotten, and its label in the box's token."""

    which: SecretName
    label: str


class AlertsRefused(RequestRefused):
    """A read or change of the alert settings that could not be done: its HTTP status, code and
    a message saying what to do (never holding a secret)."""


def secret_name(text: str) -> SecretName:
    """Return the alert secret a path names, or raise AlertsRefused."""
    if text == "telegram":
        return "telegram"
    if text == "webhook":
        return "webhook"
    raise AlertsRefused(404, "unknown_secret", f"there is no alert secret {text[:40]!r}; use "
                        f"one of {', '.join(SECRET_NAMES)}")


def settings_detail(settings: AlertSettings) -> dict[str, Any]:
    """Return what the activity log says of new settings: the webhook's host only (its path
    may hold a receiver's secret)."""
    url = settings.webhook_url
    return {"telegram_chats": sorted(settings.telegram_chats),
            "webhook": None if url is None else urlsplit(str(url)).hostname,
            "telegram_activate": settings.telegram_activate}


class AlertsAdmin:
    """The alert settings as the REST routes and the page read and change them."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    def view(self) -> AlertsView:
        """Return the settings as appliance.db holds them, or raise AlertsRefused."""
        try:
            stored = read_from(self.panel.accounts.path, appliance_db.settings)
        except StoreUnavailable as exc:
            raise AlertsRefused(503, "store_unavailable", str(exc)) from None
        settings, problems = load_settings(stored)
        return AlertsView(settings=settings, problems=problems)

    async def configure(self, settings: AlertSettings, identity: Identity) -> AlertsView:
        """Store new settings for `identity`; return them as stored."""
        await self._ask(identity, "alerts_configure", **settings.model_dump(mode="json"))
        return self.view()

    async def replace(self, which: SecretName, secret: SecretValue, identity: Identity
                      ) -> SecretChanged:
        """Put a new alert secret into the token, over the old one."""
        answer = await self._ask(identity, "alerts_secret", which=which,
                                 value=secret.value.get_secret_value())
        return SecretChanged.model_validate(answer)

    async def forget(self, which: SecretName, identity: Identity) -> SecretChanged:
        """Destroy an alert secret in the token."""
        return SecretChanged.model_validate(await self._ask(identity, "alerts_forget",
                                                            which=which))

    async def _ask(self, identity: Identity, op: str, **args: Any) -> dict[str, Any]:
        try:
            return await self.panel.supervisor.ask(op, **args, actor=identity.name,
                                                   fingerprint=identity.fingerprint)
        except IpcError as exc:
            raise AlertsRefused(ALERTS_ERRORS.get(exc.code, 409), exc.code, exc.message
                                ) from None


class ActingAlertsAdmin(AlertsAdmin):
    """The alert settings changed from a page by `identity`, connected from `address`: only an
    owner may, and each change, with its outcome, goes to the activity log."""

    def __init__(self, panel: Panel, identity: Identity, address: str) -> None:
        super().__init__(panel)
        self.identity = identity
        self.address = address

    async def save(self, settings: AlertSettings) -> AlertsView:
        """Store new settings, as this owner."""
        return await self._as_owner("alerts_configure", settings_detail(settings),
                                    lambda: self.configure(settings, self.identity))

    async def replace_secret(self, which: SecretName, secret: SecretValue) -> SecretChanged:
        """Put a new alert secret into the token, as this owner."""
        return await self._as_owner("alerts_secret", {"which": which},
                                    lambda: self.replace(which, secret, self.identity))

    async def forget_secret(self, which: SecretName) -> SecretChanged:
        """Destroy an alert secret in the token, as this owner."""
        return await self._as_owner("alerts_forget", {"which": which},
                                    lambda: self.forget(which, self.identity))

    async def _as_owner(self, action: str, detail: dict[str, Any],
                        change: Callable[[], Awaitable[_Answer]]) -> _Answer:
        if not self.identity.is_owner:
            await self._note(action, "refused", detail)
            raise AlertsRefused(403, "forbidden", "only an owner may do this; log in with an "
                                "owner's key")
        try:
            answer = await change()
        except AlertsRefused as exc:
            await self._note(action, exc.code, detail)
            raise
        await self._note(action, "ok", detail)
        return answer

    async def _note(self, action: str, outcome: str, detail: dict[str, Any]) -> None:
        await record(self.panel.supervisor, self.identity, self.address, action, outcome,
                     detail)


CHANGE = errors(*GUARDED, 409, 422, 503)
"""What a route that asks the supervisor for a change may refuse."""


def alerts_router(panel: Panel) -> APIRouter:
    """Return the /api routes of the alert settings and secrets."""
    router = APIRouter(prefix="/api")
    admin = AlertsAdmin(panel)

    def noted(request: Request, action: str, detail: dict[str, Any]) -> None:
        request.state.activity = {"action": action, "detail": detail}

    @router.get("/alerts", response_model=AlertsView, responses=errors(*GUARDED, 503))
    @answering_refusals
    async def read_alerts(request: Request) -> JSONResponse:
        """Return where alerts go, and each stored setting that is not valid."""
        return JSONResponse(answer_of(admin.view()))

    @router.put("/alerts", response_model=AlertsView, responses=CHANGE | errors(415),
                openapi_extra=json_body(AlertSettings))
    @answering_refusals
    async def configure_alerts(request: Request) -> JSONResponse:
        """Set the Telegram chats that get alerts, the webhook URL, and whether an enrolled
        chat may /activate a pair; every setting at once."""
        settings = await body_of(request, AlertSettings)
        noted(request, "alerts_configure", settings_detail(settings))
        view = await admin.configure(settings, identity_of(request))
        return JSONResponse(answer_of(view))

    @router.put("/alerts/secrets/{which}", response_model=SecretChanged,
                responses=CHANGE | errors(404, 415),
                openapi_extra=json_body(SecretValue) | {"parameters": [WHICH]})
    @answering_refusals
    async def replace_secret(request: Request) -> JSONResponse:
        """Put the Telegram bot token or the webhook key into the box's token, over any old
        one; the alerts process reads a first one within 15 s, a replaced one at its next
        start."""
        which = secret_name(request.path_params["which"])
        noted(request, "alerts_secret", {"which": which})
        secret = await body_of(request, SecretValue)
        changed = await admin.replace(which, secret, identity_of(request))
        return JSONResponse(changed.model_dump(mode="json"))

    @router.delete("/alerts/secrets/{which}", response_model=SecretChanged,
                   responses=CHANGE | errors(404), openapi_extra={"parameters": [WHICH]})
    @answering_refusals
    async def forget_secret(request: Request) -> JSONResponse:
        """Destroy the Telegram bot token or the webhook key in the box's token."""
        which = secret_name(request.path_params["which"])
        noted(request, "alerts_forget", {"which": which})
        changed = await admin.forget(which, identity_of(request))
        return JSONResponse(changed.model_dump(mode="json"))

    return router
