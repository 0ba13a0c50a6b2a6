"""Build the panel on NiceGUI's app and run it."""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from nicegui import app, background_tasks, ui

from appliance.datadir import DataDir
from ui.api import api_router, error_response
from ui.api_access import access_router
from ui.api_alerts import alerts_router
from ui.api_config import config_router
from ui.api_exchanges import exchanges_router
from ui.api_logs import logs_router
from ui.api_performance import performance_router
from ui.auth.guard import AuthGuard
from ui.headers import SecurityHeaders
from ui.ip_guard import Allowlist, IpGuard
from ui.metrics import metrics_router
from ui.pages.access import add_access
from ui.pages.account import add_account
from ui.pages.alerts import add_alerts
from ui.pages.dashboard import add_dashboard
from ui.pages.exchanges import add_exchanges
from ui.pages.login import login_router
from ui.pages.logs import add_logs
from ui.pages.performance import add_performance
from ui.pages.settings import add_settings
from ui.pages.setup import add_setup
from ui.pages.system import add_system
from ui.panel import Panel
from ui.performance import shared_reader

OPENAPI_URL = "/api/openapi.json"
"""The REST API's OpenAPI schema: under /api, so a script may fetch it with its token."""

DOCS_URL = "/docs"
"""The interactive docs page (Swagger UI), a page of the panel like any other."""

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
              "favicon.png": "image/png"}
"""Swagger UI's files, served by the box itself: it reaches no CDN, and its CSP allows 'self'."""


class NoPanelCertificate(FileNotFoundError):
    """The box has no TLS key or certificate, and the panel never serves plain HTTP."""


def build_panel(datadir: DataDir, *, development: bool = False) -> Panel:
    """Add the guards, the security headers, the REST API and the pages to NiceGUI's app.

    From the outside in: the security headers, the IP guard, then the auth guard, so nobody
    off the allowlist reaches the login page and every answer carries the headers. The panel is
    kept in `app.state.panel` for whatever is added to the app later.
    """
    panel = Panel.of(datadir, development=development)
    app.state.panel = panel
    app.add_middleware(AuthGuard, sessions=panel.sessions, tokens=panel.accounts.token,
                       record=panel.supervisor.record_activity)
    app.add_middleware(IpGuard, allowlist=Allowlist(datadir.appliance_db))
    app.add_middleware(SecurityHeaders)
    include(login_router(panel), api_router(panel), access_router(panel),
            config_router(panel), exchanges_router(panel), alerts_router(panel), docs_router(),
            metrics_router(panel, datadir), logs_router(datadir))
    include(performance_router(datadir))
    add_dashboard(panel)
    add_system(panel, datadir)
    add_access(panel)
    add_account(panel)
    add_exchanges(panel)
    add_alerts(panel)
    add_settings(panel)
    add_logs(panel, datadir)
    add_performance(panel, datadir)
    add_setup(panel, datadir)
    app.on_startup(lambda: background_tasks.create(panel.watch.run(), name="session watch"))
    app.on_startup(lambda: background_tasks.create(
        asyncio.to_thread(shared_reader(datadir.root).warm), name="performance warm-up"))
    return panel


def include(*routers: APIRouter) -> None:
    """Add routers' routes to the app, keeping the app's own lifespan.

    FastAPI wraps the app's lifespan in each included router's; ours have none, and a test
    that builds the panel again on NiceGUI's one app would otherwise start it one wrapper
    deeper every time.
    """
    lifespan = app.router.lifespan_context
    for router in routers:
        app.include_router(router)
    app.router.lifespan_context = lifespan


def docs_router() -> APIRouter:
    """Return the routes that publish the REST API: its OpenAPI schema and its docs page.

    NiceGUI turns FastAPI's own off, and FastAPI's docs page would load Swagger UI from a CDN.
    The auth guard asks these for a session or token, as it asks every route not public.
    """
    router = APIRouter(include_in_schema=False)
    app.title, app.version = "MMBox panel", version("mmbox")
    app.description = ("The panel's REST API. Send `Authorization: Bearer <token>`, or use "
                       "a USB-key login's session; every refusal is `{\"error\": {\"code\", "
                       "\"message\"}}`.")

    @router.get(OPENAPI_URL)
    async def openapi() -> JSONResponse:
        """Return the OpenAPI schema of the REST API."""
        return JSONResponse(app.openapi())

    @router.get(DOCS_URL)
    async def docs() -> HTMLResponse:
        """Return Swagger UI's page, with its files from the box."""
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL, title=f"{app.title} API",
            swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None})

    @router.get(DOCS_URL + "/{name}")
    async def docs_file(name: str) -> Response:
        """Return one of Swagger UI's files."""
        kind = DOCS_FILES.get(name)
        if kind is None:
            return error_response(404, "not_found", f"the docs page has no file {name!r}")
        return FileResponse(DOCS_ASSETS / name, media_type=kind)

    return router


def check_certificate(datadir: DataDir) -> None:
    """Raise NoPanelCertificate unless the box's TLS key and certificate are in place."""
    for path in (datadir.panel_cert, datadir.panel_key):
        if not path.is_file():
            raise NoPanelCertificate(
                f"{path} is missing: the panel serves HTTPS only, with the certificate made "
                "when the box is provisioned; provision the box (a development box: "
                "python -m provisioning.devbox provision)")


def run_panel(datadir: DataDir, host: str, port: int, *, development: bool = False) -> None:
    """Serve the panel over HTTPS on host:port until the process is told to stop."""
    check_certificate(datadir)
    build_panel(datadir, development=development)
    ui.run(
        host=host, port=port, proxy_headers=False, reload=False, show=False, title="MMBox",
        ssl_certfile=str(datadir.panel_cert), ssl_keyfile=str(datadir.panel_key),
    )
