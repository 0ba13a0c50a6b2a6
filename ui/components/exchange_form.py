"""The form that adds an exchange account, on the Exchanges page and in the first-run wizard.

The owner picks the exchange from the catalog (the simulator first; one the box cannot trade on
is listed, disabled, with the reason), the bot and the account's name, and types only the
credentials that exchange asks for. "Test connection" shows what the exchange reports (markets,
balances, the key's rights) or why it refused; "Save" adds the account once a test passed with
these very inputs. With an Ed25519 key, the box makes the key on its token and shows the public
key to register at the exchange, which gives the key id to enter; saving tests it first.

Secret inputs never show what they hold, and are cleared after every save and every failure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from appliance.exchanges.catalog import CREDENTIAL_MAX, SIMULATOR
from ui.exchange_admin import (
    ActingExchangeAdmin,
    Choice,
    ConnectionTest,
    ExchangeRefused,
    NewAccount,
    NewKey,
    form_of,
)

CREDENTIAL_LABELS = {"apiKey": "API key", "secret": "API secret", "password": "Passphrase",
                     "uid": "User id"}
SECRETS = ("secret", "password")
KINDS = {"hmac": "Secret from the exchange (HMAC)", "ed25519": "Key made on this box (Ed25519)"}
SIMULATOR_URL = "http://127.0.0.1:9100"
"""Where the development box runs the simulator: the URL field's starting value."""


@dataclass(frozen=True)
class SavedAccount:
    """An account the form added: the supervisor's answer, and the markets of the box's asset
    its test found (none when the account was saved with an Ed25519 key)."""

    answer: dict[str, Any]
    asset_markets: list[str]


OnSaved = Callable[[SavedAccount], Awaitable[None]]


def option_label(choice: Choice) -> str:
    """Return how the exchange picker lists a choice: with the reason when it is not offered."""
    return choice.name if choice.supported else f"{choice.name} (not supported: {choice.missing})"


def offers_ed25519(choice: Choice) -> bool:
    """Return whether an account there may sign with a key made on the box instead of a secret."""
    return {"apiKey", "secret"} <= set(choice.credentials)


def shown_credentials(choice: Choice, kind: str) -> tuple[str, ...]:
    """Return the credentials the form asks for: with Ed25519, only the exchange's key id."""
    return ("apiKey",) if kind == "ed25519" else tuple(choice.credentials)


def findings(answer: dict[str, Any]) -> list[str]:
    """Return what a passing test found, a line each: markets, balances, the key's rights."""
    markets = ", ".join(answer["asset_markets"]) or "none"
    balances = ", ".join(f"{asset} {total}" for asset, total in answer["balances"].items())
    return [f"Connected: {answer['markets']} markets; the box's asset trades on {markets}.",
            f"Balances: {balances or 'none'}.", rights_line(answer["permissions"])]


def rights_line(rights: dict[str, Any]) -> str:
    """Return what the exchange says the key may do."""
    if not rights["reported"] or rights.get("withdraw") is None:
        return "The exchange does not say what this key may do; make sure it cannot withdraw."
    trade = {True: "may trade and ", False: "may not trade (allow spot trading for it) and ",
             None: ""}[rights.get("trade")]
    return f"The key {trade}cannot withdraw."


class ExchangeForm(ui.column):
    """Add a bot's exchange account, tested first, as the owner `admin` acts for."""

    def __init__(self, admin: ActingExchangeAdmin, choices: list[Choice], bots: list[str],
                 on_saved: OnSaved) -> None:
        super().__init__()
        self.classes("w-full gap-2").mark("exchange-form")
        self._admin = admin
        self._choices = {c.id: c for c in choices}
        self._on_saved = on_saved
        self._passed: list[str] | None = None
        """The asset's markets the last passing test found; None until one passed."""
        self._key_made = False
        with self:
            with ui.row().classes("items-end gap-4"):
                disabled = [i for i, c in enumerate(choices) if not c.supported]
                self._exchange = ui.select(
                    {c.id: option_label(c) for c in choices}, label="Exchange", with_input=True,
                    value=choices[0].id if choices else None, on_change=self._picked,
                ).classes("min-w-72").props(
                    f':option-disable="(option) => {json.dumps(disabled)}.includes(option.value)"')
                self._bot = ui.select(bots, label="Bot", value=bots[0] if bots else None,
                                      on_change=self._renamed)
                self._name = ui.input("Account name", on_change=self._renamed).props(
                    "maxlength=24")
            self._missing = ui.label().classes("text-negative")
            with ui.row().classes("items-end gap-4"):
                self._url = ui.input("Simulator URL", value=SIMULATOR_URL,
                                     on_change=self._changed).classes("min-w-72")
                self._sandbox = ui.switch("Sandbox / testnet", on_change=self._changed)
                self._kind = ui.radio(KINDS, value="hmac", on_change=self._picked).props("inline")
            with ui.column().classes("gap-1") as self._keygen:
                ui.button("Generate key", on_click=self._generate).props("outline")
                self._pem = ui.label().classes("font-mono whitespace-pre bg-grey-2 q-pa-sm")
                self._copy = ui.button("Copy public key", on_click=lambda: ui.clipboard.write(
                    self._pem.text)).props("flat")
                self._pem_note = ui.label(
                    "Register this public key at the exchange as an Ed25519 API key with "
                    "reading and spot trading only, then enter the key id it gives.")
            with ui.row().classes("items-end gap-4"):
                self._credentials = {name: self._credential(name, label)
                                     for name, label in CREDENTIAL_LABELS.items()}
            with ui.row().classes("gap-2"):
                self._test = ui.button("Test connection", on_click=self._run_test)
                self._save = ui.button("Save", on_click=self._run_save)
            self._result = ui.column().classes("gap-0")
        self._picked()

    def _credential(self, name: str, label: str) -> ui.input:
        """Return a credential's input: a secret's shows dots, and no browser fills it in."""
        secret = name in SECRETS
        return ui.input(label, password=secret, on_change=self._changed).props(
            f"maxlength={CREDENTIAL_MAX} autocomplete={'new-password' if secret else 'off'}")

    def _choice(self) -> Choice | None:
        return self._choices.get(self._exchange.value)

    def _picked(self) -> None:
        """Show the inputs the chosen exchange and kind of key ask for."""
        choice = self._choice()
        offered = choice is not None and choice.supported
        self._missing.set_text("" if choice is None or choice.supported else
                               f"The box cannot trade there: {choice.missing}")
        simulator = choice is not None and choice.id == SIMULATOR
        self._url.set_visibility(simulator)
        self._sandbox.set_visibility(choice is not None and choice.sandbox)
        if choice is None or not choice.sandbox:
            self._sandbox.set_value(False)
        if choice is None or not offers_ed25519(choice):
            self._kind.set_value("hmac")
        self._kind.set_visibility(choice is not None and offers_ed25519(choice))
        shown = shown_credentials(choice, self._kind.value) if choice else ()
        for name, field in self._credentials.items():
            field.set_visibility(name in shown)
            if name not in shown:
                field.set_value("")
        self._credentials["apiKey"].props(
            f'label="{"API key id" if self._kind.value == "ed25519" else "API key"}"')
        self._keygen.set_visibility(self._kind.value == "ed25519")
        self._test.set_visibility(self._kind.value == "hmac")
        self._test.set_enabled(offered)
        self._changed()

    def _renamed(self) -> None:
        """A key made for another name or bot is not this account's: make it again."""
        self._key_made = False
        self._pem.set_text("")
        self._show_ready()

    def _changed(self) -> None:
        """Any change to what was tested asks for a new test before saving."""
        self._passed = None
        self._show_ready()

    def _show_ready(self) -> None:
        ed25519 = self._kind.value == "ed25519"
        self._pem.set_visibility(self._key_made)
        self._copy.set_visibility(self._key_made)
        self._pem_note.set_visibility(self._key_made)
        choice = self._choice()
        self._save.set_enabled(choice is not None and choice.supported
                               and (self._key_made if ed25519 else self._passed is not None))

    def _connection(self) -> dict[str, Any]:
        choice = self._choice()
        shown = shown_credentials(choice, self._kind.value) if choice else ()
        return {
            "exchange": self._exchange.value or "",
            "api_url": (self._url.value or None) if choice and choice.id == SIMULATOR else None,
            "sandbox": bool(self._sandbox.value),
            "credentials": {name: self._credentials[name].value or None for name in shown}}

    async def _run_test(self) -> None:
        self._result.clear()
        try:
            form = form_of(ConnectionTest, self._connection())
            answer = await self._admin.act(form.asked())
        except ExchangeRefused as exc:
            self._failed(exc)
            return
        self._passed = list(answer["asset_markets"])
        with self._result:
            for line in findings(answer):
                ui.label(line)
        self._show_ready()

    async def _generate(self) -> None:
        try:
            form = form_of(NewKey, {"name": self._name.value, "bot": self._bot.value})
            made = await self._admin.act(form.asked())
        except ExchangeRefused as exc:
            ui.notify(exc.message, type="negative", multi_line=True)
            return
        self._pem.set_text(made["public_key_pem"])
        self._key_made = True
        self._show_ready()

    async def _run_save(self) -> None:
        markets = self._passed or []
        try:
            form = form_of(NewAccount, {**self._connection(), "name": self._name.value,
                                        "bot": self._bot.value, "kind": self._kind.value})
            added = await self._admin.act(form.asked())
        except ExchangeRefused as exc:
            self._failed(exc)
            return
        self._clear_secrets()
        self._name.set_value("")
        self._credentials["apiKey"].set_value("")
        self._result.clear()
        ui.notify(f"Account {added['name']} of {added['bot']} is added", type="positive")
        await self._on_saved(SavedAccount(added, markets))

    def _failed(self, exc: ExchangeRefused) -> None:
        """Show why, and clear the secrets: they are typed again for the next try."""
        self._clear_secrets()
        self._result.clear()
        with self._result:
            ui.label(exc.message).classes("text-negative")

    def _clear_secrets(self) -> None:
        for name in SECRETS:
            self._credentials[name].set_value("")
        self._changed()
