"""The REST routes of settings: each pair's strategy and settings, each bot's risk limits, and
their history with "restore this version".

Anyone logged in may read them; only an owner may change them (the auth guard sees to it). A
change is validated here with the same models the supervisor and the bots use, so a bad value
is refused with its field and allowed range before anything is asked; the supervisor stores it
with its version and hands it to the running bot, which quotes by it from its next cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from appliance.config import history
from appliance.config.pair import PairSettings, SettingsError, pair_settings, problems, settings_of
from appliance.ipc import IpcError
from appliance.risk.limits import RiskLimits
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from
from ui.api import (
    BOT_NAME,
    ERROR_STATUS,
    GUARDED,
    JsonDocument,
    RequestRefused,
    as_json,
    body_of,
    error_response,
    errors,
    json_body,
)
from ui.auth.guard import Identity
from ui.panel import Panel

T = TypeVar("T")

PAIR_PATH = [BOT_NAME, *({"name": name, "in": "path", "required": True,
                          "schema": {"type": "string"}, "description": meaning}
                         for name, meaning in (("exchange", "the exchange account's name"),
                                               ("base", "the pair's base asset"),
                                               ("quote", "the pair's quote asset")))]
"""The pair a route is about: a bot, an exchange account and the pair as BASE/QUOTE."""

CONFIG_ERRORS = {"bad_args": 422, "not_found": 404, "conflict": 409, **ERROR_STATUS}


class PairEntry(BaseModel):
    """One pair of a bot and its settings (None, with the problem, when they are not valid)."""

    exchange: str
    symbol: str
    settings: PairSettings | None
    problem: str | None = None


class BotPairs(BaseModel):
    """A bot's pairs with their settings."""

    bot: str
    pairs: list[PairEntry]


class BotRisk(BaseModel):
    """A bot's risk limits (None, with the problem, when the stored ones are not valid)."""

    bot: str
    risk: RiskLimits | None
    problem: str | None = None


class SettingChange(BaseModel):
    """One setting a version changed; null where it did not exist."""

    path: str
    before: Any = None
    after: Any = None


class ConfigChanged(BaseModel):
    """What a change did: its version (null when nothing changed) and whether a running bot
    already took it (a stopped one reads it at its next start)."""

    version: int | None
    applied: bool
    changes: list[SettingChange]


class VersionEntry(BaseModel):
    """One version in a history: who set it, when, and what it changed from the one before."""

    id: int
    ts: float = Field(description="seconds since the epoch")
    actor: str
    changes: list[SettingChange]


class History(BaseModel):
    """Every version of a pair's settings or a bot's risk limits, oldest first."""

    target: str
    versions: list[VersionEntry]


def config_router(panel: Panel) -> APIRouter:
    """Return the /api routes of settings."""
    router = APIRouter(prefix="/api")
    db_path = panel.accounts.path

    def read(work: Callable[[Any], T]) -> T:
        return read_from(db_path, work)

    @router.get("/bots/{name}/pairs", response_model=BotPairs,
                responses=errors(*GUARDED, 404, 503), openapi_extra={"parameters": [BOT_NAME]})
    async def pairs(request: Request) -> JSONResponse:
        """Return a bot's pairs with their settings."""
        name = request.path_params["name"]
        try:
            bots, stored = read(lambda db: (appliance_db.bots(db), appliance_db.pairs(db, name)))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        if name not in {bot.name for bot in bots}:
            return error_response(404, "unknown_bot", f"there is no bot named '{name}'")
        return JSONResponse(as_json({"bot": name, "pairs": [_entry(p) for p in stored]}))

    @router.put("/bots/{name}/pairs/{exchange}/{base}/{quote}/settings",
                response_model=ConfigChanged,
                responses=errors(*GUARDED, 404, 409, 415, 422, 503),
                openapi_extra=json_body(PairSettings) | {"parameters": PAIR_PATH})
    async def configure_pair(request: Request) -> JSONResponse:
        """Set a pair's settings; the running bot quotes by them from its next cycle."""
        bot, exchange, symbol = _pair_path(request)
        try:
            settings = pair_settings((await body_of(request, JsonDocument)).root)
        except RequestRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        except SettingsError as exc:
            return error_response(422, "invalid_settings",
                                  f"the settings were not changed: {exc}")
        return await _ask(request, "pair_configure", {
            "bot": bot, "exchange": exchange, "symbol": symbol,
            "settings": settings.model_dump(mode="json")})

    @router.get("/bots/{name}/pairs/{exchange}/{base}/{quote}/history",
                response_model=History, responses=errors(*GUARDED, 503),
                openapi_extra={"parameters": PAIR_PATH})
    async def pair_history(request: Request) -> JSONResponse:
        """Return every version of a pair's settings, with what each changed."""
        return _history(read, history.pair_target(*_pair_path(request)))

    @router.get("/bots/{name}/risk", response_model=BotRisk,
                responses=errors(*GUARDED, 404, 503), openapi_extra={"parameters": [BOT_NAME]})
    async def risk(request: Request) -> JSONResponse:
        """Return a bot's risk limits."""
        name = request.path_params["name"]
        try:
            bots, stored = read(lambda db: (appliance_db.bots(db),
                                            appliance_db.bot_risk(db, name)))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        if name not in {bot.name for bot in bots}:
            return error_response(404, "unknown_bot", f"there is no bot named '{name}'")
        try:
            limits: RiskLimits | None = RiskLimits.model_validate(stored)
            problem = None
        except ValidationError as exc:
            limits, problem = None, problems(exc)
        return JSONResponse(as_json(BotRisk(bot=name, risk=limits, problem=problem)
                                    .model_dump(mode="json")))

    @router.put("/bots/{name}/risk", response_model=ConfigChanged,
                responses=errors(*GUARDED, 404, 409, 415, 422, 503),
                openapi_extra=json_body(RiskLimits) | {"parameters": [BOT_NAME]})
    async def configure_risk(request: Request) -> JSONResponse:
        """Set a bot's risk limits; its symbols are held to them from their next order."""
        try:
            limits = RiskLimits.model_validate((await body_of(request, JsonDocument)).root)
        except RequestRefused as exc:
            return error_response(exc.status, exc.code, exc.message)
        except ValidationError as exc:
            return error_response(422, "invalid_settings",
                                  f"the risk limits were not changed: {problems(exc)}")
        return await _ask(request, "risk_configure", {
            "bot": request.path_params["name"], "risk": limits.model_dump(mode="json")})

    @router.get("/bots/{name}/risk/history", response_model=History,
                responses=errors(*GUARDED, 503), openapi_extra={"parameters": [BOT_NAME]})
    async def risk_history(request: Request) -> JSONResponse:
        """Return every version of a bot's risk limits, with what each changed."""
        return _history(read, history.risk_target(request.path_params["name"]))

    @router.post("/config/versions/{version_id}/restore", response_model=ConfigChanged,
                 responses=errors(*GUARDED, 404, 409, 422, 503),
                 openapi_extra={"parameters": [{
                     "name": "version_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 1},
                     "description": "the id of a version in a history"}]})
    async def restore(request: Request) -> JSONResponse:
        """Set an earlier version again, as a new version."""
        text = request.path_params["version_id"]
        if not (text.isascii() and text.isdecimal() and 0 < len(text) <= 12):
            return error_response(422, "invalid_version",
                                  f"'{text[:40]}' is not a version id; take one from a history")
        return await _ask(request, "config_restore", {"id": int(text)})

    async def _ask(request: Request, op: str, args: dict[str, Any]) -> JSONResponse:
        identity = request.state.identity
        who = ({"actor": identity.name, "fingerprint": identity.fingerprint}
               if isinstance(identity, Identity) else {})
        request.state.activity = {"action": op}
        try:
            answer = await panel.supervisor.ask(op, **args, **who)
        except IpcError as exc:
            return error_response(CONFIG_ERRORS.get(exc.code, 409), exc.code, exc.message)
        request.state.activity = {"action": op, "detail": {
            "changed": [change["path"] for change in answer.get("changes", [])][:20]}}
        return JSONResponse(as_json(answer))

    return router


def _entry(pair: appliance_db.Pair) -> dict[str, Any]:
    try:
        settings: PairSettings | None = settings_of(pair)
        problem = None
    except SettingsError as exc:
        settings, problem = None, str(exc)
    return PairEntry(exchange=pair.exchange, symbol=pair.symbol, settings=settings,
                     problem=problem).model_dump(mode="json")


def _pair_path(request: Request) -> tuple[str, str, str]:
    params = request.path_params
    return params["name"], params["exchange"], f"{params['base']}/{params['quote']}"


def _history(read: Callable[[Callable[[Any], Any]], Any], target: str) -> JSONResponse:
    try:
        versions = read(lambda db: history.versions(db, target))
    except StoreUnavailable as exc:
        return error_response(503, "store_unavailable", str(exc))
    entries: list[VersionEntry] = []
    before: dict[str, Any] = {}
    for version in versions:
        entries.append(VersionEntry(
            id=version.id, ts=version.ts, actor=version.actor,
            changes=[SettingChange(path=c.path, before=c.before, after=c.after)
                     for c in history.diff(before, version.settings)]))
        before = version.settings
    return JSONResponse(History(target=target, versions=entries).model_dump(mode="json"))
