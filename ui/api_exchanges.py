"""The REST routes of exchange accounts and pairs: the exchanges the box can trade on, each bot's
accounts, and adding or removing accounts and pairs.

Anyone logged in may read them; only an owner may test credentials or change anything (the auth
guard sees to it). Each route does its work through `ExchangeAdmin` (`ui.exchange_admin`), as the
Exchanges page does, and answers its refusals in the API's error shape.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ui.api import (
    BOT_NAME,
    GUARDED,
    RequestRefused,
    body_of,
    error_response,
    errors,
    identity_of,
    json_body,
)
from ui.api_config import PAIR_PATH
from ui.exchange_admin import (
    AccountAdded,
    AccountPath,
    AccountRemoved,
    Accounts,
    Asked,
    Choice,
    ConnectionTest,
    ExchangeAdmin,
    KeyMade,
    NewAccount,
    NewKey,
    NewPair,
    PairAdded,
    PairPath,
    PairRemoved,
    TestAnswer,
    form_of,
)
from ui.panel import Panel

CHANGE = errors(*GUARDED, 404, 409, 422, 502, 503)
"""What a route that asks the supervisor for a change may refuse."""
WITH_BODY = CHANGE | errors(415)
"""...and one that reads a JSON body too."""

Route = Callable[[Request], Awaitable[JSONResponse]]


def answering_refusals(route: Route) -> Route:
    """Return `route` answering a refusal (of its body, of the box) in the API's error shape."""

    @functools.wraps(route)
    async def answering(request: Request) -> JSONResponse:
        try:
            return await route(request)
        except RequestRefused as exc:
            return error_response(exc.status, exc.code, exc.message)

    return answering


def exchanges_router(panel: Panel) -> APIRouter:
    """Return the /api routes of exchange accounts and pairs."""
    router = APIRouter(prefix="/api")
    admin = ExchangeAdmin(panel)

    async def answer(request: Request, asked: Asked, status: int = 200) -> JSONResponse:
        request.state.activity = {"action": asked.op, "detail": asked.detail}
        found = await admin.ask(asked, identity_of(request))
        return JSONResponse(found, status_code=status)

    @router.get("/exchanges/catalog", response_model=list[Choice], responses=errors(*GUARDED))
    async def exchange_catalog() -> JSONResponse:
        """Return the exchanges an account can be opened on, the simulator first."""
        return JSONResponse([c.model_dump(mode="json") for c in await admin.catalog()])

    @router.get("/exchanges", response_model=Accounts, responses=errors(*GUARDED, 503))
    @answering_refusals
    async def list_accounts(request: Request) -> JSONResponse:
        """Return every exchange account: per bot, its key's public id and its pairs."""
        return JSONResponse(Accounts(accounts=admin.accounts()).model_dump(mode="json"))

    @router.post("/exchanges/test", response_model=TestAnswer, responses=WITH_BODY,
                 openapi_extra=json_body(ConnectionTest))
    @answering_refusals
    async def test_account(request: Request) -> JSONResponse:
        """Test credentials: markets, balances and the key's rights; a key that can withdraw
        is refused. Nothing is kept."""
        return await answer(request, (await body_of(request, ConnectionTest)).asked())

    @router.post("/exchanges", status_code=201, response_model=AccountAdded,
                 responses=WITH_BODY, openapi_extra=json_body(NewAccount))
    @answering_refusals
    async def add_account(request: Request) -> JSONResponse:
        """Add a bot's account once it passes the test; its secret goes into the token."""
        return await answer(request, (await body_of(request, NewAccount)).asked(), 201)

    @router.post("/exchanges/keys", response_model=KeyMade, responses=WITH_BODY,
                 openapi_extra=json_body(NewKey))
    @answering_refusals
    async def make_key(request: Request) -> JSONResponse:
        """Make an Ed25519 key on the token for an account; register its public key at the
        exchange, then add the account with kind ed25519."""
        return await answer(request, (await body_of(request, NewKey)).asked())

    @router.delete("/exchanges/{name}/{bot}", response_model=AccountRemoved, responses=CHANGE,
                   openapi_extra={"parameters": [
                       {"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string"}, "description": "the account's name"},
                       {**BOT_NAME, "name": "bot"}]})
    @answering_refusals
    async def remove_account(request: Request) -> JSONResponse:
        """Remove a bot's account and destroy its keys; refused while a pair uses it."""
        params = request.path_params
        path = form_of(AccountPath, {"name": params["name"], "bot": params["bot"]})
        return await answer(request, path.asked())

    @router.post("/bots/{name}/pairs", status_code=201, response_model=PairAdded,
                 responses=WITH_BODY,
                 openapi_extra=json_body(NewPair) | {"parameters": [BOT_NAME]})
    @answering_refusals
    async def add_pair(request: Request) -> JSONResponse:
        """Add a pair of the box's asset to a bot; a running bot starts quoting it at once."""
        form = await body_of(request, NewPair)
        return await answer(request, form.asked(request.path_params["name"]), 201)

    @router.delete("/bots/{name}/pairs/{exchange}/{base}/{quote}", response_model=PairRemoved,
                   responses=CHANGE, openapi_extra={"parameters": PAIR_PATH})
    @answering_refusals
    async def remove_pair(request: Request) -> JSONResponse:
        """Remove a pair: its bot cancels the pair's orders first, then it is forgotten."""
        params = request.path_params
        path = form_of(PairPath, {"bot": params["name"], "exchange": params["exchange"],
                                  "symbol": f"{params['base']}/{params['quote']}"})
        return await answer(request, path.asked())

    return router
