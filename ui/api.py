"""The panel's REST API under /api: JSON views of the snapshot, and bot control relayed.

Every route declares what it answers, so the published OpenAPI schema is the API's contract. A
route that reads its own body or query (to answer junk in the API's error shape, not FastAPI's)
declares them with `json_body` and `query_int`, and reads a JSON body with `body_of`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    Field,
    JsonValue,
    PlainSerializer,
    RootModel,
    ValidationError,
    WithJsonSchema,
)

from appliance.config.pair import problems
from appliance.ipc import UNREACHABLE, IpcError
from appliance.risk.const import SymbolState
from appliance.store.database import StoreUnavailable
from ui.account import BotAccounts, read_accounts
from ui.api_log import ApiLogView
from ui.auth.guard import Identity
from ui.const import API_LOG_LIMIT, API_LOG_MAX_LIMIT, SymbolAction
from ui.panel import Panel
from ui.snapshot import BotSnapshot, PairView, UnknownBot

ERROR_STATUS = {UNREACHABLE: 503, "unknown_bot": 404, "unknown_symbol": 404}
"""The HTTP status of a supervisor error code; any other refusal is a 409."""

MAX_SYMBOL = 40
"""The longest pair name a request may carry (ccxt's are far shorter)."""

SYMBOL_BODY_EXAMPLE = '{"symbol": "MTS/USDT"}'
"""The body a symbol action wants, as its error messages show it."""

MAX_BODY = 65_536
"""The largest JSON body a route reads; every body the API takes is far smaller."""


ERRORS = {
    400: "the path names nothing the route knows", 401: "no session and no valid API token",
    403: "outside the allowlist, from another site, or not allowed to this caller",
    404: "no such bot, pair, user, token or key", 409: "the box refused it; the message says why",
    415: "the body is not JSON", 422: "the body, path or query is not what the route takes",
    502: "the exchange could not be reached, or refused the key; the message says what it "
         "answered",
    503: "the supervisor, the signer or appliance.db cannot be reached",
}
"""What each error status of the REST API means."""

GUARDED = (401, 403)
"""The auth guard's refusals, which every route but the health check may answer."""

_Body = TypeVar("_Body", bound=BaseModel)

StateName = Annotated[SymbolState, PlainSerializer(lambda state: state.name),
                      WithJsonSchema({"type": "string", "enum": [s.name for s in SymbolState]})]
"""A pair's trading state as the API names it: upper case, as the bots answer symbol actions."""


class SymbolRequest(BaseModel):
    """The body of a symbol action: which of the bot's pairs it is about."""

    symbol: str = Field(min_length=1, max_length=MAX_SYMBOL)


class ErrorDetail(BaseModel):
    """What went wrong: a code a script may test, and a message that says what to do."""

    code: str
    message: str


class ErrorAnswer(BaseModel):
    """Every refusal of the REST API, the guards' included."""

    error: ErrorDetail


class JsonDocument(RootModel[JsonValue]):
    """Any JSON document: the body of a route that validates what it holds itself."""


class RequestRefused(Exception):
    """A request the API refuses: its HTTP status, a code a script may test, and a message
    saying what to do (never repeating what was sent, which may hold a secret)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Health(BaseModel):
    """Whether the panel can read the box."""

    status: Literal["ok", "unavailable"]


@dataclass(frozen=True)
class PairAnswer(PairView):
    """One market a bot quotes, its state named as the API names it."""

    state: StateName


@dataclass(frozen=True)
class BotAnswer(BotSnapshot):
    """Everything the panel shows of one bot, decimals as exact strings."""

    pairs: tuple[PairAnswer, ...]


class BoxAnswer(BaseModel):
    """The box's locked asset and every bot by name."""

    asset: str
    bots: dict[str, BotAnswer]


@dataclass(frozen=True)
class BotApiLog(ApiLogView):
    """A bot's newest exchange requests, newest first, and the last minute's summary."""

    bot: str


class BotEnabled(BaseModel):
    """The supervisor's answer to start or stop: whether the bot is now enabled."""

    bot: str
    enabled: bool


class SymbolMoved(BaseModel):
    """The supervisor's answer to a symbol action: the pair's new state."""

    bot: str
    symbol: str
    state: StateName


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` of a route that may refuse with these statuses."""
    return {status: {"model": ErrorAnswer, "description": ERRORS[status]} for status in statuses}


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a model's JSON schema with its `$defs` (enums, here) written in where used."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """Return the `openapi_extra=` of a route that reads a JSON body of `model` itself."""
    schema = inlined(model.model_json_schema())
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


BOT_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "the bot's name"}
"""The bot a route is about, declared by hand: a route that takes it as a parameter gets FastAPI's
422, which it never answers."""


def query_int(name: str, low: int, high: int, default: int, description: str
              ) -> dict[str, Any]:
    """Return one query parameter of the schema: a whole number a route checks itself."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default}}


def as_json(value: Any) -> Any:
    """Return a value as JSON data, every Decimal an exact string, every pair state its name.

    Pair states are upper-case names ("PAUSED") on the API, as the bots answer symbol actions.
    """
    return jsonable_encoder(value, custom_encoder={Decimal: lambda d: format(d, "f"),
                                                   SymbolState: lambda s: s.name})


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """Return an error in the shape the supervisor uses."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def relay(answer: Awaitable[dict[str, Any]]) -> JSONResponse:
    """Pass the supervisor's answer to one command back, or its refusal."""
    try:
        return JSONResponse(as_json(await answer))
    except IpcError as exc:
        return error_response(ERROR_STATUS.get(exc.code, 409), exc.code, exc.message)


def identity_of(request: Request) -> Identity:
    """Return who is asking (the guard let the request through, so someone is)."""
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        raise RuntimeError("a route was reached without the auth guard")
    return identity


def symbol_action_of(text: str) -> SymbolAction | None:
    """Return the symbol action a path names, or None for any other word."""
    try:
        return SymbolAction(text)
    except ValueError:
        return None


def whole_number(text: str | None, low: int, high: int, default: int) -> int | None:
    """Return the number a query parameter asks for, `default` without one, None unless it
    is written in ASCII digits from `low` to `high`."""
    if text is None:
        return default
    number = int(text) if text.isascii() and text.isdecimal() and len(text) <= len(str(high)) \
        else None
    return number if number is not None and low <= number <= high else None


def limit_of(text: str | None) -> int | None:
    """Return the number of requests `?limit=` asks for, the default without one, else None."""
    return whole_number(text, 1, API_LOG_MAX_LIMIT, API_LOG_LIMIT)


async def symbol_of(request: Request) -> str | None:
    """Return the symbol a request's JSON body names, or None if the body is not that."""
    try:
        return SymbolRequest.model_validate_json(await request.body()).symbol
    except ValidationError:
        return None


async def body_of(request: Request, model: type[_Body], limit: int = MAX_BODY) -> _Body:
    """Return a request's JSON body as `model`, or raise RequestRefused saying what to send: 415
    for another content type, 422 for a body over `limit` bytes, not JSON, or not `model`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise RequestRefused(415, "unsupported_media_type",
                             "send the body as JSON with 'Content-Type: application/json'")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestRefused(422, "invalid_body",
                                 f"the body is over {limit} bytes; send at most {limit} bytes")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        (first, *_) = exc.errors(include_url=False)
        if first["type"] == "json_invalid":  # then it is the only error
            raise RequestRefused(422, "invalid_body", f"{first['msg']}; send the body as JSON, "
                                 "as the schema at /api/openapi.json describes it") from None
        raise RequestRefused(422, "invalid_body", problems(exc, "body")) from None


def api_router(panel: Panel) -> APIRouter:
    """Return the /api routes of a panel."""
    router = APIRouter(prefix="/api")

    @router.get("/health", response_model=Health, responses={
        403: errors(403)[403], 503: {"model": Health, "description": "appliance.db is unreadable"}})
    async def health() -> JSONResponse:
        """Say whether the panel can read the box: open to anyone, so it tells nothing more."""
        try:
            panel.reader.health()
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/bots", response_model=BoxAnswer, responses=errors(*GUARDED, 503))
    async def list_bots() -> JSONResponse:
        """Return every bot's state, pairs with their trading states, positions, orders, fills."""
        try:
            box = panel.reader.snapshot()
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse(as_json({"asset": box.asset, "bots": {b.name: b for b in box.bots}}))

    @router.get("/bots/{name}/api-log", response_model=BotApiLog,
                responses=errors(*GUARDED, 404, 422, 503), openapi_extra={"parameters": [
                    query_int("limit", 1, API_LOG_MAX_LIMIT, API_LOG_LIMIT,
                              "how many of the newest requests to return")]})
    async def api_log(
        name: str, limit: Annotated[str | None, Query(include_in_schema=False)] = None
    ) -> JSONResponse:
        """Return a bot's newest exchange requests, newest first, and the last minute's summary."""
        count = limit_of(limit)
        if count is None:
            return error_response(422, "invalid_limit", f"limit must be a whole number from 1 to"
                                  f" {API_LOG_MAX_LIMIT}, like ?limit={API_LOG_LIMIT}")
        try:
            view = panel.reader.requests(name, count)
        except UnknownBot as exc:
            return error_response(404, "unknown_bot", str(exc))
        except StoreUnavailable as exc:
            return error_response(503, "store_unavailable", str(exc))
        return JSONResponse({"bot": name, **as_json(view)})

    @router.get("/bots/{name}/account", response_model=BotAccounts,
                responses=errors(*GUARDED, 404, 409, 502, 503),
                openapi_extra={"parameters": [BOT_NAME]})
    async def account(request: Request) -> JSONResponse:
        """Return a bot's exchange accounts as the exchange reports them (balances, open
        orders, recent trades) beside the bot's own view, with what differs."""
        try:
            found = await read_accounts(panel.supervisor, request.path_params["name"])
        except IpcError as exc:
            status = 502 if exc.code == "exchange_unavailable" else ERROR_STATUS.get(exc.code, 409)
            return error_response(status, exc.code, exc.message)
        except ValidationError:
            return error_response(503, "bad_answer", "the bot's answer is not what the panel "
                                  "reads; update the box so both are of one version")
        return JSONResponse(found.model_dump(mode="json"))

    relayed: dict[str, Any] = {"response_model": BotEnabled, "openapi_extra": {
        "parameters": [BOT_NAME]}, "responses": errors(*GUARDED, 404, 409, 503)}

    @router.post("/bots/{name}/start", **relayed)
    async def start_bot(request: Request) -> JSONResponse:
        """Ask the supervisor to start a bot."""
        return await relay(panel.supervisor.start_bot(request.path_params["name"]))

    @router.post("/bots/{name}/stop", **relayed)
    async def stop_bot(request: Request) -> JSONResponse:
        """Ask the supervisor to stop a bot."""
        return await relay(panel.supervisor.stop_bot(request.path_params["name"]))

    @router.post("/bots/{name}/symbols/{action}", response_model=SymbolMoved,
                 responses=errors(400, *GUARDED, 404, 409, 422, 503),
                 openapi_extra=json_body(SymbolRequest) | {"parameters": [{
                     "name": "action", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": [a.value for a in SymbolAction]}}]})
    async def symbol_action(
        name: str, action: Annotated[str, Path(include_in_schema=False)], request: Request
    ) -> JSONResponse:
        """Ask the supervisor to activate, pause or clear the halt of one of a bot's pairs."""
        chosen = symbol_action_of(action)
        if chosen is None:
            allowed = ", ".join(SymbolAction)
            return error_response(400, "unknown_action",
                                  f"there is no symbol action '{action}'; use one of {allowed}")
        symbol = await symbol_of(request)
        if symbol is None:
            return error_response(422, "invalid_body",
                                  f"send a JSON body naming the pair, like {SYMBOL_BODY_EXAMPLE}")
        identity = identity_of(request)
        return await relay(panel.supervisor.symbol_action(
            name, symbol, chosen, actor=identity.name, fingerprint=identity.fingerprint))

    return router
