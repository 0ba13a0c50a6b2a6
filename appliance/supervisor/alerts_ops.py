"""Say where alerts go, on the owner's behalf: the supervisor's alert ops.

Ops (each `async (args) -> result`; the supervisor has already checked the caller is the panel):
  alerts_configure  {telegram_chats, webhook_url, telegram_activate, telegram_api, actor,
                     fingerprint}
                                          -> {settings}
  alerts_secret     {which: telegram|webhook, value, actor, fingerprint} -> {which, label}
  alerts_forget     {which, actor, fingerprint} -> {which, label}

The settings are validated by the model the alerts process reads them with, and written in one
transaction. The Telegram bot token and the webhook's signing key are secrets: they go into the
token at once, granted to the alerts process's uid, and are never written, logged or repeated.
The alerts process is restarted to read them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlite_utils
from pydantic import ValidationError

from appliance.alerts.const import TELEGRAM_TOKEN_LABEL, WEBHOOK_SECRET_LABEL
from appliance.alerts.validate import KEYS, AlertSettings
from appliance.config.pair import problems
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.store.access import transaction
from appliance.supervisor.config_ops import ConfigOp
from hsm.client import SignerClient, SignerError

log = logging.getLogger(__name__)

SECRETS = {"telegram": TELEGRAM_TOKEN_LABEL, "webhook": WEBHOOK_SECRET_LABEL}
"""Each alert secret's token label."""
SECRET_MAX = 512


class AlertsOps:
    """Store the alert settings and put the alert secrets into the token."""

    def __init__(self, db: sqlite_utils.Database, signer: SignerClient,
                 alerts_uid: Callable[[], int | None],
                 reread: Callable[[], Awaitable[None]] | None = None) -> None:
        self._db = db
        self._signer = signer
        self._alerts_uid = alerts_uid
        self._reread = reread
        """Have the alerts process read its secrets again (it reads them once, at start)."""

    def table(self) -> dict[str, ConfigOp]:
        """Return the ops by name."""
        return {"alerts_configure": self.alerts_configure, "alerts_secret": self.alerts_secret,
                "alerts_forget": self.alerts_forget}

    async def alerts_configure(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set where alerts go and whether an enrolled chat may activate a pair."""
        unknown = sorted(set(args) - set(KEYS) - {"actor", "fingerprint"})
        if unknown:
            raise IpcError("bad_args", f"there is no alert setting {', '.join(unknown)}; the "
                           f"settings are {', '.join(KEYS)}")
        fields = {name: args[name] for name in KEYS if name in args}
        try:
            settings = AlertSettings.model_validate(fields)
        except ValidationError as exc:
            raise IpcError("bad_args", f"the alert settings were not changed: {problems(exc)}"
                           ) from None
        api = KEYS["telegram_api"]
        before = appliance_db.settings(self._db).get(api, "")
        form = stored_form(settings)
        with transaction(self._db):
            for name, value in form.items():
                appliance_db.put_setting(self._db, name, value)
        log.info("alert settings changed by %s", args.get("actor") or "the owner")
        if form[api] != before and self._reread is not None:
            await self._reread()  # the alerts process picks its Bot API server at start
        return {"settings": settings.model_dump(mode="json")}

    async def alerts_secret(self, args: dict[str, Any]) -> dict[str, Any]:
        """Put the Telegram bot token or the webhook's key into the token, replacing any."""
        which, label = _which(args)
        value = args.get("value")
        if not isinstance(value, str) or not value.strip() or len(value) > SECRET_MAX \
                or not value.isprintable():
            raise IpcError("bad_args", f"'value' must be the {which} secret: printable, 1 to "
                           f"{SECRET_MAX} characters; paste it again")
        encoded = base64.b64encode(value.strip().encode()).decode()
        await self._forget(label)
        try:
            await asyncio.to_thread(self._signer.call, "import_credential", label=label,
                                    value_b64=encoded)
            uid = self._alerts_uid()
            if uid is not None:
                await asyncio.to_thread(self._signer.call, "grant", uid=uid, label=label)
        except SignerError as exc:
            raise IpcError("unavailable" if exc.code == "locked" else exc.code,
                           f"the signer refused: {exc.message}") from None
        log.info("alert secret %s replaced by %s", which, args.get("actor") or "the owner")
        if self._reread is not None:
            await self._reread()
        return {"which": which, "label": label}

    async def alerts_forget(self, args: dict[str, Any]) -> dict[str, Any]:
        """Destroy the Telegram bot token or the webhook's key in the token."""
        which, label = _which(args)
        await self._forget(label)
        if self._reread is not None:
            await self._reread()
        return {"which": which, "label": label}

    async def _forget(self, label: str) -> None:
        try:
            await asyncio.to_thread(self._signer.delete_key, label)
        except SignerError as exc:
            if exc.code != "unknown_key":
                raise IpcError(exc.code, f"the signer refused: {exc.message}") from None


def stored_form(settings: AlertSettings) -> dict[str, str]:
    """Return alert settings as appliance.db's settings keep them (`load_settings` reads them)."""
    chats = sorted(settings.telegram_chats)
    form = {KEYS["telegram_chats"]: json.dumps(chats),
            KEYS["webhook_url"]: "" if settings.webhook_url is None else str(settings.webhook_url),
            KEYS["telegram_activate"]: "1" if settings.telegram_activate else "0",
            KEYS["telegram_api"]: "" if settings.telegram_api is None
            else str(settings.telegram_api)}
    return form


def _which(args: dict[str, Any]) -> tuple[str, str]:
    which = args.get("which")
    if not isinstance(which, str) or which not in SECRETS:
        raise IpcError("bad_args", f"'which' must be one of {', '.join(SECRETS)}")
    return which, SECRETS[which]
