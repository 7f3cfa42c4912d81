"""Security headers on every response of the wall's Tornado server (a Tornado output
transform, so Bokeh's and Panel's own handlers get them too): no referrer (a page's address
never travels on), no framing (no click-jacking of the acknowledge button), no MIME
sniffing, and a Content-Security-Policy that allows only this server.

What Bokeh 3.9 / Panel 1.9 need (checked in headless Chromium, whose console reports every
violation; the browser tests fail on one): the page bootstraps its session with inline
scripts (their session tokens differ per page and Bokeh has no nonce hook), Bokeh builds
its render script with ``new Function`` (``'unsafe-eval'``), Panel loads one script from a
``blob:`` URL, and panes set inline styles. So the escaping of every text put into HTML is
what stops injected markup (``dashboards.render_live.banner``); the policy still forbids
every other origin for scripts, connections, frames, forms and plugins.
"""

from __future__ import annotations

from typing import Any

from tornado.httputil import HTTPHeaders
from tornado.web import OutputTransform

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


class SecurityHeaders(OutputTransform):
    """Adds ``HEADERS`` to a response that does not set them itself."""

    def transform_first_chunk(self, status_code: int, headers: HTTPHeaders, chunk: bytes,
                              finishing: bool) -> tuple[int, HTTPHeaders, bytes]:
        for name, value in HEADERS.items():
            if name not in headers:
                headers[name] = value
        return status_code, headers, chunk


def add_security_headers(app: Any) -> None:
    """Install on a ``tornado.web.Application`` (Bokeh's ``BokehTornado``)."""
    app.add_transform(SecurityHeaders)
