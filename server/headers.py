"""Security headers on every HTTP response (pages, API, errors, redirects, 413s), and the
request-body limit on every route, also those that never read a body.

``add_security_headers`` is a Litestar ``before_send`` hook: it sees every response the
app sends, also those made outside the route handlers (unknown routes, exception
handlers, the body-size limit), where Litestar's ``response_headers`` and middleware do
not reach. A header a handler has set (a page's own CSP) is kept.

The API's CSP forbids everything (a JSON body is never a document). A page's CSP allows
exactly its inline script and style by their sha256 (``page_csp``): no ``'unsafe-inline'``,
no other host, websockets to this origin only (``'self'`` covers ws/wss of the same host).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
COMMON = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def page_csp(script: str, style: str) -> str:
    """The CSP of a page whose only inline script and style are these texts."""
    return (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


def page_headers(script: str, style: str) -> dict[str, str]:
    return {"Content-Security-Policy": page_csp(script, style), "Cache-Control": "no-store",
            **COMMON}


async def add_security_headers(message: Any, _scope: Any) -> None:
    """Litestar ``before_send`` hook: ``COMMON`` and the API's CSP on each HTTP response
    start that lacks them."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in (*COMMON.items(), ("Content-Security-Policy", API_CSP)):
        if name not in headers:
            headers[name] = value


async def refuse_oversize(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request`` hook: 413 when ``Content-Length`` exceeds the route's
    ``request_max_body_size``, before anything is read. Litestar applies that limit when a
    handler reads the body; this also covers handlers that take none."""
    length = request.headers.get("content-length", "")
    limit = request.route_handler.resolve_request_max_body_size()
    if limit is None or not (length.isascii() and length.isdigit()):
        return  # no limit, or no usable length: Litestar counts while reading
    if len(length) > 18 or int(length) > limit:
        raise RequestEntityTooLarge
