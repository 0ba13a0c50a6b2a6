"""Add the browser's security headers to every HTTP answer of the panel.

A pure ASGI middleware, like the IP guard, so that answers the app never sees (the guard's
403, a 404) carry them too. A header the app already set is left as the app set it.

The Content-Security-Policy allows what NiceGUI 3.18's pages need and nothing else; each
relaxation below was found by loading the dashboard in Chromium with the policy on:

- script-src 'unsafe-inline': NiceGUI writes each page's start-up (its import map and the
  module that creates the Vue app with the page's elements) as inline scripts, and the
  largest one differs at every load, so neither a hash nor a fixed nonce can allow them.
- script-src 'unsafe-eval': NiceGUI ships Vue's full build, which compiles the elements'
  templates in the browser ("Evaluating a string as JavaScript" is refused without it).
- style-src 'unsafe-inline': NiceGUI's page has inline `<style>` blocks, and Quasar and Vue
  set `style` attributes at run time.

Everything else (fonts, icons, images, the socket.io websocket) comes from the panel itself,
which 'self' allows; nothing may frame the panel, and it posts forms only to itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS: Final = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=()",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


class SecurityHeaders:
    """Add SECURITY_HEADERS to every HTTP response that does not set them already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(name.lower().encode(), value.encode())
                        for name, value in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the start of its HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self.added_to(message.get("headers", ()))}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def added_to(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """Return headers with each security header they lack."""
        given = list(headers)
        present = {name.lower() for name, _ in given}
        return [*given, *((name, value) for name, value in self.headers if name not in present)]
