"""The owner's work on exchange accounts and pairs: the exchanges the box can trade on, each
bot's accounts, and adding or removing accounts and pairs.

`ExchangeAdmin` reads and changes them once, for the REST routes (`ui.api_exchanges`) and the
pages alike: it reads appliance.db and asks the supervisor (`exchange_*` and `pair_*` ops) for
each change, with a form checked by the models below first. `ActingExchangeAdmin` is what a page
acts through: it checks the owner and records each change in the activity log. A secret (an API
secret, a passphrase) goes to the supervisor inside that one request and nowhere else: a refusal
names the field, never its value, and the activity log records which account, never its
credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import sqlite_utils
from pydantic import BaseModel, Field, Secret, StringConstraints, ValidationError
from pydantic.config import JsonDict

from appliance.config.pair import PairSettings
from appliance.exchanges.catalog import (
    ACCOUNT_NAME,
    ACCOUNT_RULE,
    CREDENTIAL_MAX,
    SYMBOL,
    catalog,
)
from appliance.ipc import IpcError
from appliance.store import appliance_db
from appliance.store.database import StoreUnavailable, read_from
from ui.access_admin import Form, problems_of
from ui.acting import record
from ui.api import ERROR_STATUS, RequestRefused
from ui.auth.guard import Identity
from ui.panel import Panel

EXCHANGE_ERRORS = {
    **ERROR_STATUS, "bad_args": 422, "not_found": 404, "conflict": 409, "limit": 409,
    "asset_locked": 422, "withdraw_enabled": 422, "connection_failed": 502,
    "not_supported": 422, "unavailable": 503}
"""The HTTP status of each refusal of the supervisor's exchange ops; any other is a 409."""

_Form = TypeVar("_Form", bound=Form)
_Read = TypeVar("_Read")

AccountName = Annotated[str, Field(pattern=f"^{ACCOUNT_NAME.pattern}$", examples=["binance-main"],
                                   description=ACCOUNT_RULE)]
"""The name of a new account, as the supervisor takes it."""
AccountRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$",
                                  description="an account's name, as GET /api/exchanges lists it")]
"""The name of an existing account (older boxes may have named theirs more freely)."""
BotName = Literal["bot-1", "bot-2"]
ChoiceId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$", examples=["simulator"],
                                description="an id of GET /api/exchanges/catalog")]
ApiUrl = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=200,
                              examples=["http://127.0.0.1:9100"])]
Symbol = Annotated[str, Field(pattern=f"^{SYMBOL.pattern}$", examples=["MTS/USDT"],
                              description="BASE/QUOTE in capitals; the base is the box's asset")]
SymbolRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,20}/[A-Za-z0-9._-]{1,20}$")]
Credential = Annotated[str, StringConstraints(min_length=1, max_length=CREDENTIAL_MAX)]
SECRET_SCHEMA: JsonDict = {"format": "password", "writeOnly": True}
"""How the schema marks a secret: a browser hides it, a client never gets it back."""


class Credentials(Form):
    """An account's credentials as ccxt names them: only those the exchange asks for."""

    apiKey: Credential | None = Field(
        default=None, description="the API key: its public id at the exchange")
    secret: Secret[Credential] | None = Field(
        default=None, json_schema_extra=SECRET_SCHEMA, description="the API secret")
    password: Secret[Credential] | None = Field(
        default=None, json_schema_extra=SECRET_SCHEMA,
        description="the API passphrase, where the exchange asks for one")
    uid: Credential | None = Field(
        default=None, description="the account's user id, where the exchange asks for one")

    def revealed(self) -> dict[str, str]:
        """Return the credentials given, secrets in clear, for the supervisor alone."""
        given = {"apiKey": self.apiKey, "uid": self.uid,
                 "secret": self.secret.get_secret_value() if self.secret else None,
                 "password": self.password.get_secret_value() if self.password else None}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class Asked:
    """One supervisor op to ask, what the activity log says of it, and the answer's model."""

    op: str
    args: dict[str, Any] = field(repr=False)
    detail: dict[str, Any]
    answer: type[BaseModel]
    changes: bool = True
    """Whether it changes the box: then the supervisor is told who asked."""


class ConnectionTest(Form):
    """Credentials to test on an exchange, kept nowhere."""

    exchange: ChoiceId
    api_url: ApiUrl | None = Field(default=None, description="the simulator's address; for "
                                   "the simulator only")
    sandbox: bool = Field(default=False, description="use the exchange's sandbox or testnet, "
                          "where the catalog says it has one")
    credentials: Credentials

    def asked(self) -> Asked:
        """Return the supervisor's test of these credentials."""
        return Asked("exchange_test", self._connection(), {"exchange": self.exchange},
                     TestAnswer, changes=False)

    def _connection(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "api_url": self.api_url, "sandbox": self.sandbox,
                "credentials": self.credentials.revealed()}


class NewAccount(ConnectionTest):
    """A bot's account to add on an exchange; the supervisor tests it first."""

    name: AccountName
    bot: BotName
    kind: Literal["hmac", "ed25519"] = Field(
        default="hmac", description="hmac: the exchange's secret goes into the token; ed25519: "
        "the key POST /api/exchanges/keys made, with credentials.apiKey its id at the exchange")

    def asked(self) -> Asked:
        """Return the supervisor's op that adds this account."""
        return Asked("exchange_add", {**self._connection(), "name": self.name, "bot": self.bot,
                                      "kind": self.kind},
                     {"account": self.name, "bot": self.bot, "exchange": self.exchange,
                      "kind": self.kind}, AccountAdded)


class NewKey(Form):
    """An account that will sign with an Ed25519 key made on the token."""

    name: AccountName
    bot: BotName

    def asked(self) -> Asked:
        """Return the supervisor's op that makes the key."""
        return Asked("exchange_keygen", {"name": self.name, "bot": self.bot},
                     {"account": self.name, "bot": self.bot}, KeyMade)


class AccountPath(Form):
    """The account a route's path names."""

    name: AccountRef
    bot: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")]

    def asked(self) -> Asked:
        """Return the supervisor's op that removes this account."""
        return Asked("exchange_remove", {"name": self.name, "bot": self.bot},
                     {"account": self.name, "bot": self.bot}, AccountRemoved)


class NewPair(Form):
    """A pair for a bot to quote on one of its accounts."""

    exchange: AccountRef
    symbol: Symbol
    settings: PairSettings | None = Field(
        default=None, description="the pair's settings; without them, safe defaults in shadow "
        "mode, sized from the market's minimum order")

    def asked(self, bot: str) -> Asked:
        """Return the supervisor's op that adds this pair to `bot`."""
        settings = None if self.settings is None else self.settings.model_dump(mode="json")
        return Asked("pair_add", {"bot": bot, "exchange": self.exchange, "symbol": self.symbol,
                                  **({} if settings is None else {"settings": settings})},
                     {"bot": bot, "exchange": self.exchange, "symbol": self.symbol}, PairAdded)


class PairPath(Form):
    """The pair a route's path names."""

    bot: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")]
    exchange: AccountRef
    symbol: SymbolRef

    def asked(self) -> Asked:
        """Return the supervisor's op that removes this pair, its orders cancelled first."""
        where = {"bot": self.bot, "exchange": self.exchange, "symbol": self.symbol}
        return Asked("pair_remove", where, where, PairRemoved)


class Choice(BaseModel):
    """An exchange an account can be opened on, and what its form asks for."""

    id: str
    name: str
    credentials: list[str] = Field(description="of apiKey, secret, password, uid: those the "
                                   "exchange asks for")
    sandbox: bool = Field(description="whether it has a sandbox or testnet")
    supported: bool
    missing: str | None = Field(description="why the box cannot trade there yet")


class Account(BaseModel):
    """A bot's account on an exchange: its public key id, never a secret."""

    name: str
    exchange: str = Field(description="ccxt's id of the exchange")
    api_url: str | None
    sandbox: bool
    bot: str | None = Field(description="whose key it is; null for an exchange without keys")
    kind: str | None = Field(description="hmac or ed25519")
    api_key: str | None = Field(description="the key's public id at the exchange")
    pairs: list[str] = Field(description="the pairs the bot quotes on it")


class Accounts(BaseModel):
    """Every exchange account of the box."""

    accounts: list[Account]


class Permissions(BaseModel):
    """What the exchange says the key may do; null where it does not say."""

    reported: bool
    trade: bool | None = None
    withdraw: bool | None = None


class TestAnswer(BaseModel):
    """What a test of credentials found on the exchange."""

    markets: int
    balances: dict[str, str] = Field(description="non-zero totals as decimal strings")
    permissions: Permissions
    asset_markets: list[str] = Field(description="the box's asset's markets there")


class AccountAdded(BaseModel):
    """An account added: the token key its bot signs with."""

    name: str
    bot: str
    exchange: str
    kind: str
    label: str


class KeyMade(BaseModel):
    """An Ed25519 key made on the token: register its public key at the exchange."""

    name: str
    bot: str
    label: str
    public_key_pem: str


class AccountRemoved(BaseModel):
    """An account removed, and the token keys destroyed with it."""

    name: str
    bot: str
    destroyed: list[str]


class PairAdded(BaseModel):
    """A pair added: its settings' version, and whether a running bot started it."""

    bot: str
    exchange: str
    symbol: str
    version: int | None
    started: bool


class PairRemoved(BaseModel):
    """A pair removed once its bot cancelled its orders."""

    bot: str
    exchange: str
    symbol: str
    cancelled: int


class ExchangeRefused(RequestRefused):
    """A read or change of exchange accounts that could not be done: its HTTP status, code and
    a message saying what to do (never holding a secret)."""


@dataclass(frozen=True)
class ExchangesView:
    """The box's asset, bots, exchange accounts and pairs, as the Exchanges page shows them."""

    asset: str
    bots: list[str]
    accounts: list[Account]
    pairs: list[appliance_db.Pair]


def accounts_of(db: sqlite_utils.Database) -> list[Account]:
    """Return one account per exchange and bot key, and each exchange no key is on yet."""
    exchanges = appliance_db.exchanges(db)
    keys = [k for k in appliance_db.exchange_keys(db) if k.exchange in exchanges]
    pairs = appliance_db.pairs(db)
    keyed = {k.exchange for k in keys}
    found = [_account(exchanges[k.exchange], k, pairs) for k in keys]
    found += [_account(e, None, pairs) for name, e in exchanges.items() if name not in keyed]
    return sorted(found, key=lambda a: (a.name, a.bot or ""))


def _account(exchange: appliance_db.Exchange, key: appliance_db.ExchangeKey | None,
             pairs: list[appliance_db.Pair]) -> Account:
    return Account(
        name=exchange.name, exchange=exchange.ccxt_id, api_url=exchange.api_url,
        sandbox=exchange.sandbox, bot=key.bot if key else None, kind=key.kind if key else None,
        api_key=key.api_key if key else None,
        pairs=[p.symbol for p in pairs
               if p.exchange == exchange.name and (key is None or p.bot == key.bot)])


def view_of(db: sqlite_utils.Database) -> ExchangesView:
    """Return what the Exchanges page shows."""
    return ExchangesView(appliance_db.settings(db).get("asset", ""),
                         [b.name for b in appliance_db.bots(db)], accounts_of(db),
                         appliance_db.pairs(db))


def form_of(model: type[_Form], fields: dict[str, Any]) -> _Form:
    """Return fields as `model`, or raise ExchangeRefused naming each bad field (never its
    value: a secret typed in the wrong place must not come back)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise ExchangeRefused(422, "invalid_input", problems_of(exc)) from None


class ExchangeAdmin:
    """The box's exchange accounts and pairs, as the REST routes and the pages read and change
    them: reads from appliance.db, changes asked of the supervisor."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    async def catalog(self) -> list[Choice]:
        """Return the exchanges an account can be opened on, the simulator first."""
        choices = await asyncio.to_thread(catalog)  # ccxt builds each exchange's class once
        return [Choice(id=c.id, name=c.name, credentials=list(c.credentials), sandbox=c.sandbox,
                       supported=c.supported, missing=c.missing) for c in choices]

    def accounts(self) -> list[Account]:
        """Return every exchange account."""
        return self._read(accounts_of)

    def view(self) -> ExchangesView:
        """Return the asset, the bots, their accounts and pairs."""
        return self._read(view_of)

    async def ask(self, asked: Asked, identity: Identity) -> dict[str, Any]:
        """Return the supervisor's answer to `asked` for `identity`, or raise ExchangeRefused."""
        who = {"actor": identity.name, "fingerprint": identity.fingerprint} if asked.changes \
            else {}
        try:
            answer = await self.panel.supervisor.ask(asked.op, **asked.args, **who)
        except IpcError as exc:
            raise ExchangeRefused(EXCHANGE_ERRORS.get(exc.code, 409), exc.code,
                                  exc.message) from None
        try:
            return asked.answer.model_validate(answer).model_dump(mode="json")
        except ValidationError as exc:
            raise ExchangeRefused(503, "bad_answer", f"the supervisor's answer to {asked.op} "
                                  f"is not what the panel reads ({problems_of(exc)}); update "
                                  "the box so both are of one version") from None

    def _read(self, work: Callable[[sqlite_utils.Database], _Read]) -> _Read:
        try:
            return read_from(self.panel.accounts.path, work)
        except StoreUnavailable as exc:
            raise ExchangeRefused(503, "store_unavailable", str(exc)) from None


class ActingExchangeAdmin(ExchangeAdmin):
    """Exchange accounts and pairs changed from a page by `identity`, connected from `address`.

    A page's buttons act over its socket, which the auth guard does not see: this checks that
    the user is an owner and records each change, with its outcome, in the activity log.
    """

    def __init__(self, panel: Panel, identity: Identity, address: str) -> None:
        super().__init__(panel)
        self.identity = identity
        self.address = address

    async def act(self, asked: Asked) -> dict[str, Any]:
        """Return the supervisor's answer to `asked`, asked as this owner, or raise
        ExchangeRefused."""
        if not self.identity.is_owner:
            await self._note(asked, "refused")
            raise ExchangeRefused(403, "forbidden", "only an owner may do this; log in with an "
                                  "owner's key")
        try:
            answer = await self.ask(asked, self.identity)
        except ExchangeRefused as exc:
            await self._note(asked, exc.code)
            raise
        await self._note(asked, "ok")
        return answer

    async def _note(self, asked: Asked, outcome: str) -> None:
        await record(self.panel.supervisor, self.identity, self.address, asked.op, outcome,
                     asked.detail)
