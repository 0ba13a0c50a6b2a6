"""The login page, logout and the box's unlock page: plain HTML forms, no script and no socket.

They are served before anyone is known, so they hold nothing but the keys plugged in and a PIN
field: the NiceGUI socket stays closed to every visitor without a session. A PIN is posted once
over HTTPS, handed to the signer and dropped; it is never echoed back, logged or stored.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from appliance.ipc import UNREACHABLE, IpcError
from appliance.store.access import User
from appliance.store.database import StoreUnavailable
from ui.auth.guard import LOGIN_PATH, SESSION_COOKIE, Identity
from ui.panel import Panel
from ui.signer import PluggedKey

log = logging.getLogger(__name__)

STYLE = Path(__file__).with_name("login.css")
MAX_FORM_BYTES = 4096
"""The largest login or unlock form the panel reads."""

MAX_PIN = 64
"""The longest PIN a form may carry."""

DEV_KEY_PATH = "/login/dev-key"
"""Where a development box's login page plugs a software key in."""

REFUSED_CODES = {"wrong_pin", "locked_out", "bad_signature", "key_absent", "key_removed",
                 "key_unusable", "challenge_unknown", "challenge_expired"}
"""Signer refusals that count as a failed login of the address and key."""


def login_router(panel: Panel) -> APIRouter:
    """Return the routes of the login page, logout and unlock."""
    router = APIRouter()

    @router.get("/login/style.css", include_in_schema=False)
    async def style() -> FileResponse:
        return FileResponse(STYLE, media_type="text/css")

    @router.get(LOGIN_PATH, include_in_schema=False)
    async def login_page(request: Request) -> Response:
        if _identity(request) is not None:
            return RedirectResponse("/", status_code=303)
        return await _login_page(panel, "")

    @router.post(LOGIN_PATH, include_in_schema=False)
    async def log_in(request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return await _login_page(panel, "The login form could not be read; reload the "
                                     "page and try again.", 400)
        device, pin = form.get("device", ""), form.get("pin", "")
        address = request.client.host if request.client else ""
        if not device or not pin or len(pin) > MAX_PIN:
            return await _login_page(panel, f"Pick your key and type its PIN (at most {MAX_PIN} "
                                     "characters).", 400)
        try:
            keys = await panel.signer.plugged_keys()
        except IpcError as exc:
            return await _login_page(panel, _signer_trouble(exc), 503)
        key = next((k for k in keys if k.device == device), None)
        if key is None:
            return await _login_page(panel, "That key is no longer plugged in; plug it in and "
                                     "pick it again.", 400)
        wait = panel.throttle.wait(address, key.serial)
        if wait > 0:
            _note(request, "login_failed", "throttled", None, key)
            return await _login_page(panel, "Too many failed logins from this address or with "
                                     f"this key; try again in {math.ceil(wait)} s.", 429)
        try:
            user = panel.accounts.user_of_key(key.serial)
        except StoreUnavailable as exc:
            return await _login_page(panel, f"The box's users cannot be read: {exc}", 503)
        if user is None:
            panel.throttle.failed(address, key.serial)
            _note(request, "login_failed", "not_enrolled", None, key)
            return await _login_page(panel, "This key is not enrolled on this box; ask an "
                                     "owner to enrol it.", 401)
        try:
            login = await panel.signer.log_in(key.device, pin, user)
        except IpcError as exc:
            return await _refused(panel, request, exc, address, key, user)
        del pin
        panel.throttle.succeeded(address, key.serial)
        session = panel.sessions.open(login.session, user, key.device, address)
        _note(request, "login", "ok", user, key)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session.id, path="/", secure=True, httponly=True,
                            samesite="strict")
        return response

    if panel.development:

        @router.post(DEV_KEY_PATH, include_in_schema=False)
        async def plug_dev_key(request: Request) -> Response:
            form = await read_form(request)
            device = form.get("device", "") if form is not None else ""
            try:
                await panel.signer.switch_dev_key(device, True)
            except IpcError as exc:
                return await _login_page(panel, f"The software key stays out: {exc.message}",
                                         400)
            request.state.activity = {"action": "dev_key_plug", "detail": {"device": device}}
            return RedirectResponse(LOGIN_PATH, status_code=303)

    @router.post("/logout", include_in_schema=False)
    async def log_out(request: Request) -> Response:
        identity = _identity(request)
        if identity is not None and identity.session is not None:
            await panel.watch.end(identity.session, "logged out")
            _note(request, "logout", "ok", identity.session.user, None)
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                               samesite="strict")
        return response

    @router.get("/unlock", include_in_schema=False)
    async def unlock_page(request: Request) -> Response:
        return await _unlock_page(panel, "")

    @router.post("/unlock", include_in_schema=False)
    async def unlock(request: Request) -> Response:
        form = await read_form(request)
        pin = form.get("pin", "") if form is not None else ""
        if not pin or len(pin) > MAX_PIN:
            return await _unlock_page(panel, "Type the box token's PIN (at most "
                                      f"{MAX_PIN} characters).", 400)
        try:
            await panel.signer.unlock(pin)
        except IpcError as exc:
            del pin
            _note(request, "unlock", exc.code, None, None)
            status = 429 if exc.code == "locked_out" else 503 if exc.code == UNREACHABLE else 401
            return await _unlock_page(panel, f"The box stays locked: {exc.message}", status)
        del pin
        _note(request, "unlock", "ok", None, None)
        return RedirectResponse("/", status_code=303)

    return router


async def read_form(request: Request) -> dict[str, str] | None:
    """Return an url-encoded form's fields (the first of each), or None for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items() if values}


def _identity(request: Request) -> Identity | None:
    identity = getattr(request.state, "identity", None)
    return identity if isinstance(identity, Identity) else None


def _note(request: Request, action: str, outcome: str, user: User | None,
          key: PluggedKey | None) -> None:
    """Name this request's line of the user-activity log (the guard writes it)."""
    detail: dict[str, Any] = {}
    if key is not None:
        detail["key_serial"] = key.serial
    activity: dict[str, Any] = {"action": action, "outcome": outcome, "detail": detail}
    if user is not None:
        activity |= {"actor": user.name, "fingerprint": user.fingerprint}
    request.state.activity = activity


async def _refused(panel: Panel, request: Request, exc: IpcError, address: str,
                   key: PluggedKey, user: User) -> Response:
    """Answer a login the signer refused, counting it when it was the caller's failure."""
    if exc.code in REFUSED_CODES:
        panel.throttle.failed(address, key.serial)
    _note(request, "login_failed", exc.code, user, key)
    if exc.code == "locked_out":
        return await _login_page(panel, exc.message, 429)
    if exc.code == UNREACHABLE:
        return await _login_page(panel, _signer_trouble(exc), 503)
    return await _login_page(panel, f"Login refused: {exc.message}", 401)


def _signer_trouble(exc: IpcError) -> str:
    return f"The box's signer is not answering, so nobody can log in now: {exc.message}"


async def _login_page(panel: Panel, message: str, status: int = 200) -> HTMLResponse:
    """Return the login page: the keys plugged in, a PIN field, and `message` if any."""
    try:
        keys = await panel.signer.plugged_keys()
        trouble = ""
    except IpcError as exc:
        keys, trouble = [], _signer_trouble(exc)
    try:
        users = {u.usb_serial: u for u in panel.accounts.users()}
    except StoreUnavailable:
        users = {}
    body = [f'<p class="message">{html.escape(m)}</p>' for m in (message, trouble) if m]
    if keys:
        body.append('<form method="post" action="/login"><fieldset><legend>Operator key'
                    "</legend>")
        body.extend(_key_choice(key, users.get(key.serial), first=i == 0)
                    for i, key in enumerate(keys))
        body.append(f'</fieldset><label>PIN <input type="password" name="pin" '
                    f'autocomplete="off" required maxlength="{MAX_PIN}" autofocus></label>'
                    '<button type="submit">Log in</button></form>')
    else:
        body.append('<p>No operator key is plugged in. Plug in your key, then '
                    '<a href="/login">reload this page</a>.</p>')
    if panel.development:
        body.append(await _dev_switch(panel))
    return HTMLResponse(_page("Log in", "".join(body)), status_code=status,
                        headers={"cache-control": "no-store"})


async def _dev_switch(panel: Panel) -> str:
    """Return, on a development box, a button per software key that is pulled out."""
    try:
        pulled = [device for device, plugged in (await panel.signer.dev_keys()).items()
                  if not plugged]
    except IpcError:
        return ""
    forms = "".join(
        f'<form method="post" action="{DEV_KEY_PATH}" class="dev">'
        f'<input type="hidden" name="device" value="{html.escape(device)}">'
        f'<button type="submit">Plug in {html.escape(device)}</button></form>'
        for device in pulled)
    return (f'<section class="dev"><h3>Development box</h3><p>Its operator keys are software '
            f'keys; plug one in as you would a USB key.</p>{forms}</section>') if forms else ""


def _key_choice(key: PluggedKey, user: User | None, *, first: bool) -> str:
    who = f"{user.name} ({user.role})" if user is not None else "not enrolled on this box"
    checked = " checked" if first else ""
    return (f'<label class="key"><input type="radio" name="device" '
            f'value="{html.escape(key.device)}"{checked}> <strong>{html.escape(who)}</strong>'
            f' <span>{html.escape(key.product)} · serial {html.escape(key.serial)}</span>'
            "</label>")


async def _unlock_page(panel: Panel, message: str, status: int = 200) -> HTMLResponse:
    """Return the unlock page: a field for the box token's PIN."""
    try:
        locked = bool((await panel.signer.status()).get("locked"))
    except IpcError as exc:
        locked, message = True, message or _signer_trouble(exc)
    parts = [f'<p class="message">{html.escape(message)}</p>'] if message else []
    if locked:
        parts.append('<p>The box is locked: its token holds the exchange keys and opens only '
                     'with its PIN, which the box never stores.</p>'
                     '<form method="post" action="/unlock"><label>Box token PIN '
                     f'<input type="password" name="pin" autocomplete="off" required '
                     f'maxlength="{MAX_PIN}" autofocus></label>'
                     '<button type="submit">Unlock the box</button></form>')
    else:
        parts.append('<p>The box is unlocked.</p>')
    parts.append('<p><a href="/">Back to the dashboard</a></p>')
    return HTMLResponse(_page("Unlock the box", "".join(parts)), status_code=status,
                        headers={"cache-control": "no-store"})


def _page(title: str, body: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>MMBox · {html.escape(title)}</title>"
            '<link rel="stylesheet" href="/login/style.css"></head>'
            f'<body><main><h1>MMBox</h1><h2>{html.escape(title)}</h2>{body}</main></body>'
            "</html>")

