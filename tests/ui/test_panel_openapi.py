"""The REST API's published contract: its OpenAPI schema, its docs page, and that it holds.

The schema and the docs page are the panel's like any other route: a caller needs a session or
a token. Schemathesis then sends each operation of the schema generated requests, valid and
invalid, to the panel as the box runs it (`python -m ui` over HTTPS, with the supervisor's and
the signer's sockets answering), once with the control token and once with an owner's session;
no answer may be a 5xx, nor differ from what the schema declares.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nicegui.testing.user import User
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema

from appliance.datadir import DataDir
from tests.ui.panel_box import BOTS, CONTROL_TOKEN, PAIRS, ControlServer
from tests.ui.panel_server import serving_panel, trusting
from tests.ui.signer_box import OWNER_KEY, KeyedSigner
from tests.ui.test_dashboard_browser import open_dashboard
from ui.auth.guard import SESSION_COOKIE

OPENAPI = "/api/openapi.json"
DOCS = "/docs"
MAX_EXAMPLES = 25
"""Generated requests per operation and mode: enough to reach every status, short for CI."""

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OPERATIONS = {
    ("GET", "/api/health"), ("GET", "/api/bots"), ("GET", "/api/bots/{name}/api-log"),
    ("GET", "/api/bots/{name}/account"),
    ("POST", "/api/bots/{name}/start"), ("POST", "/api/bots/{name}/stop"),
    ("POST", "/api/bots/{name}/symbols/{action}"), ("GET", "/api/session"), ("GET", "/api/keys"),
    ("GET", "/api/users"), ("POST", "/api/users"), ("DELETE", "/api/users/{fingerprint}"),
    ("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/{token_id}"),
    ("GET", "/api/allowlist"), ("PUT", "/api/allowlist"), ("POST", "/api/allowlist/confirm"),
    ("GET", "/api/activity"), ("GET", "/api/bots/{name}/pairs"),
    ("PUT", "/api/bots/{name}/pairs/{exchange}/{base}/{quote}/settings"),
    ("GET", "/api/bots/{name}/pairs/{exchange}/{base}/{quote}/history"),
    ("GET", "/api/bots/{name}/risk"), ("PUT", "/api/bots/{name}/risk"),
    ("GET", "/api/bots/{name}/risk/history"), ("POST", "/api/config/versions/{version_id}/restore"),
    ("GET", "/api/exchanges/catalog"), ("GET", "/api/exchanges"), ("POST", "/api/exchanges/test"),
    ("POST", "/api/exchanges"), ("POST", "/api/exchanges/keys"),
    ("DELETE", "/api/exchanges/{name}/{bot}"), ("POST", "/api/bots/{name}/pairs"),
    ("DELETE", "/api/bots/{name}/pairs/{exchange}/{base}/{quote}"), ("GET", "/api/logs"),
    ("GET", "/api/logs/export"), ("GET", "/api/alerts"), ("PUT", "/api/alerts"),
    ("PUT", "/api/alerts/secrets/{which}"), ("DELETE", "/api/alerts/secrets/{which}"),
    ("GET", "/api/bots/{name}/performance"),
}
"""Every REST route; the login, logout and unlock forms are the browser's, not the API's."""

FILES = {("GET", "/api/logs/export", "200")}
"""Answers that are files, not JSON: the logs' export, as CSV or JSON lines."""


Operation = APIOperation[Any, Any, Any, Any]


@dataclass(frozen=True)
class Caller:
    """How a script or a browser reaches the panel: its headers, without which it is nobody."""

    name: str
    headers: dict[str, str]


@pytest.fixture
async def panel(datadir: DataDir, control: ControlServer, signer: KeyedSigner, tmp_path: Path
                ) -> AsyncIterator[str]:
    """Serve a development box's panel, its supervisor and signer answering; yield its URL."""
    async with serving_panel(datadir, tmp_path / "panel.log", "--development") as url:
        yield url


def client(url: str, datadir: DataDir, **headers: str) -> httpx.AsyncClient:
    """Return a client of the panel that trusts its certificate and sends `headers`."""
    return httpx.AsyncClient(base_url=url, verify=trusting(datadir), headers=headers)


def bearer() -> Caller:
    """Return a script holding the control token."""
    return Caller("the control token", {"authorization": f"Bearer {CONTROL_TOKEN.text}"})


async def owner(url: str, datadir: DataDir, signer: KeyedSigner) -> Caller:
    """Log in with the owner's software key, as the login form does; return the browser."""
    origin = {"origin": url}
    async with client(url, datadir, **origin) as browser:
        answer = await browser.post("/login", data={"device": OWNER_KEY, "pin": signer.key_pin})
        assert answer.status_code == 303
        session = answer.cookies[SESSION_COOKIE]
    return Caller("an owner's session", {**origin, "cookie": f"{SESSION_COOKIE}={session}"})


async def published(url: str, datadir: DataDir) -> dict[str, Any]:
    """Return the schema the panel publishes, fetched with the control token."""
    async with client(url, datadir, **bearer().headers) as script:
        answer = await script.get(OPENAPI)
    assert answer.status_code == 200
    schema: dict[str, Any] = answer.json()
    return schema


def known(operation: Operation) -> list[st.SearchStrategy[Case[Operation]]]:
    """Return requests about the box's own bots and pairs, which random names never reach."""
    if "{name}" not in operation.path:
        return []
    if "{action}" in operation.path:
        return [operation.as_strategy(path_parameters={"name": bot}, body={"symbol": PAIRS[bot]})
                for bot in BOTS]
    return [operation.as_strategy(path_parameters={"name": bot}) for bot in BOTS]


def conforms(operation: Operation, url: str, cafile: Path, caller: Caller) -> None:
    """Send generated requests to one operation; raise at the first answer that breaks the schema.

    Derandomized and unshrunk: the same requests every run. Schemathesis' report of a breach
    shows the `authorization` and `cookie` headers as [Filtered].
    """
    session = requests.Session()
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE), *known(operation))

    @settings(max_examples=2 * MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def send(case: Case[Operation]) -> None:
        response = case.call(base_url=url, session=session, headers=caller.headers,
                             verify=str(cafile))
        case.validate_response(response, checks=CHECKS, headers=caller.headers)

    try:
        send()
    finally:
        session.close()


async def conformance(url: str, datadir: DataDir, caller: Caller) -> int:
    """Run every operation of the published schema as `caller`; return how many there were."""
    schema: BaseSchema = schemathesis.openapi.from_dict(await published(url, datadir))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())

    def run() -> None:
        for operation in operations:
            conforms(operation, url, datadir.panel_cert, caller)

    # The supervisor's socket is served on this loop: the blocking run goes to a thread.
    await asyncio.to_thread(run)
    return len(operations)


async def test_the_schema_and_the_docs_page_need_a_session_or_a_token(
    panel: str, datadir: DataDir, signer: KeyedSigner
) -> None:
    async with client(panel, datadir) as stranger:
        schema = await stranger.get(OPENAPI)
        docs = await stranger.get(DOCS)
        asset = await stranger.get(f"{DOCS}/swagger-ui-bundle.js")
    session = await owner(panel, datadir, signer)
    async with client(panel, datadir, **session.headers) as browser:
        page = await browser.get(DOCS)
        script = await browser.get(f"{DOCS}/swagger-ui-bundle.js")
        missing = await browser.get(f"{DOCS}/..%2F..%2Fpyproject.toml")

    assert (schema.status_code, schema.json()["error"]["code"]) == (401, "unauthenticated")
    assert (docs.status_code, docs.headers["location"]) == (303, "/login")
    assert (asset.status_code, asset.headers["location"]) == (303, "/login")
    assert page.status_code == 200
    assert f'src="{DOCS}/swagger-ui-bundle.js"' in page.text and "https://" not in page.text
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404


async def test_the_schema_declares_every_rest_route_its_answers_and_its_errors(
    panel: str, datadir: DataDir
) -> None:
    schema = await published(panel, datadir)

    operations = {(method.upper(), path): operation
                  for path, item in schema["paths"].items() for method, operation in item.items()}
    assert set(operations) == OPERATIONS
    undeclared = [
        f"{method} {path} {status}" for (method, path), operation in operations.items()
        for status, answer in operation["responses"].items()
        if "application/json" not in answer.get("content", {})
        and (method.upper(), path, status) not in FILES]
    assert undeclared == []
    error = {"$ref": "#/components/schemas/ErrorAnswer"}
    wrong_errors = [
        f"{method} {path} {status}" for (method, path), operation in operations.items()
        for status, answer in operation["responses"].items()
        if status >= "400" and path != "/api/health"
        and answer["content"]["application/json"]["schema"] != error]
    assert wrong_errors == []
    bodies = {route for route, operation in operations.items() if "requestBody" in operation}
    assert bodies == {("POST", "/api/bots/{name}/symbols/{action}"), ("POST", "/api/users"),
                      ("POST", "/api/tokens"), ("PUT", "/api/allowlist"),
                      ("PUT", "/api/bots/{name}/pairs/{exchange}/{base}/{quote}/settings"),
                      ("PUT", "/api/bots/{name}/risk"), ("POST", "/api/exchanges/test"),
                      ("POST", "/api/exchanges"), ("POST", "/api/exchanges/keys"),
                      ("POST", "/api/bots/{name}/pairs"), ("PUT", "/api/alerts"),
                      ("PUT", "/api/alerts/secrets/{which}")}
    assert all("422" in operations[route]["responses"] for route in bodies)


async def test_every_answer_to_the_control_token_keeps_the_schema(
    panel: str, datadir: DataDir
) -> None:
    assert await conformance(panel, datadir, bearer()) == len(OPERATIONS)


async def test_every_answer_to_an_owner_keeps_the_schema(
    panel: str, datadir: DataDir, signer: KeyedSigner
) -> None:
    caller = await owner(panel, datadir, signer)

    assert await conformance(panel, datadir, caller) == len(OPERATIONS)


@pytest.mark.parametrize("query", ["after=abc", "limit=0", "limit=1e3", "after=-1"])
async def test_a_bad_activity_range_is_refused_in_the_apis_error_shape(
    user: User, query: str
) -> None:
    answer = await user.http_client.get(f"/api/activity?{query}")

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_range"


async def test_a_revoked_token_is_answered_without_its_hash(
    user: User, control: ControlServer
) -> None:
    made = (await user.http_client.post("/api/tokens", json={"name": "ci", "scope": "read"}))
    revoked = await user.http_client.delete(f"/api/tokens/{made.json()['id']}")

    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is not None and "hash" not in revoked.json()


@pytest.mark.browser
async def test_the_docs_page_shows_every_operation_under_the_panels_policy(
    panel: str, datadir: DataDir, signer: KeyedSigner
) -> None:
    async with open_dashboard(panel, datadir, signer) as page:
        await page.goto(f"{panel}{DOCS}")
        operations = page.locator(".opblock")
        await operations.first.wait_for()

        assert await operations.count() == len(OPERATIONS)
