"""The browser pages' rendering, and the loyalty display (``/display/{location}``).

HTML, CSS and JS are package files under ``server/web/``, inlined into one response: no
framework, no external assets, and a CSP that allows exactly that inline script and style
by hash (``server.headers``). The display is opened once with ``?token=``: the token is
exchanged for the page session cookie and the browser is redirected to the same URL
without it (``server.sessions``); the page and its websocket then use the cookie. The QR
survey's pages are in ``server.survey_pages``.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect

from server.context import ServerContext, read
from server.errors import ApiError
from server.headers import page_headers
from server.i18n import STRINGS, language
from server.payloads import Reads, display_data
from server.sessions import COOKIE
from stream.access import Principal, hash_token, token_from

DISPLAY_STALE_AFTER_S = 60


@functools.cache
def asset(name: str) -> str:
    return resources.files("server").joinpath("web", name).read_text(encoding="utf-8")


def render(template: str, **values: str) -> str:
    """Fill ``{{key}}`` placeholders; values must already be escaped for their context."""
    out = asset(template)
    for key, value in values.items():
        out = out.replace("{{" + key + "}}", value)
    return out


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<`` at all (``\\u003c`` in
    strings), so neither ``</script>`` nor ``<!--<script>`` can change the HTML parser's
    state, whatever a configured name contains."""
    return msgspec.json.encode(data).decode().replace("<", "\\u003c")


def html_response(text: str, script: str, style: str, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response[str]:
    """A page whose inline ``script`` and ``style`` are the only ones its CSP allows."""
    return Response(text, status_code=status, media_type=MediaType.HTML,
                    headers={**page_headers(script, style), **(headers or {})})


def message_page(lang: str, key: str, status: int,
                 headers: dict[str, str] | None = None) -> Response[str]:
    s = STRINGS[lang]
    body = f'<section class="done"><h2>{html.escape(s[key])}</h2></section>'
    style = asset("survey.css")
    page = render("survey.html", lang=lang, title=html.escape(s["survey_title"]), place="",
                  style=style, body=body, config="{}", script="")
    return html_response(page, "", style, status, headers)


def _without_token(request: Request[Any, Any, Any]) -> str:
    """The request's path and query without ``token`` (where the exchange redirects to)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


async def _exchange(request: Request[Any, Any, Any], ctx: ServerContext,
                    principal: Principal | None) -> Response[Any]:
    """``?token=`` in a page URL: a redirect to the URL without it, with a session cookie
    when the token is valid (a wrong one leaves the history too: it may be a near miss)."""
    presented = token_from(request.headers, request.query_params)
    if not ctx.auth_enabled or principal is None or presented is None:
        return Redirect(_without_token(request), status_code=303,
                        headers={"Cache-Control": "no-store"})
    sid = await ctx.sessions.open(hash_token(presented), request.cookies.get(COOKIE))
    cookie = ctx.sessions.cookie(sid, secure=request.url.scheme == "https")
    return Redirect(_without_token(request), status_code=303, cookies=[cookie],
                    headers={"Cache-Control": "no-store"})


@get("/display/{location:str}", include_in_schema=False)
async def display_page(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                       location: FromPath[str]) -> Response[Any]:
    lang = language(ctx.cfg, location, request.query_params.get("lang"))
    try:
        principal = await ctx.caller(request, page=True)
    except ApiError as exc:  # throttled for wrong tokens
        return message_page(lang, "rate_limited", exc.status, exc.headers)
    if "token" in request.query_params:
        return await _exchange(request, ctx, principal)
    try:
        ctx.authorize(principal, "display", location)
    except ApiError as exc:
        return message_page(lang, "unauthorized" if exc.status == 401 else "forbidden", exc.status)
    if ctx.geo.kind(location) != "location" or not ctx.core.known_scope(location):
        return message_page(lang, "not_found", 404)
    s = STRINGS[lang]
    config = {"location": location, "ws_path": "/ws", "strings": s,
              "heartbeat_s": ctx.cfg.server.ws_heartbeat_s,
              "stale_after_s": max(DISPLAY_STALE_AFTER_S, 3 * ctx.cfg.server.ws_heartbeat_s),
              "initial": await read(ctx.core, lambda: display_data(Reads(ctx.core), ctx.cfg,
                                                                   location))}
    script, style = asset("display.js"), asset("display.css")
    page = render("display.html", lang=lang, title=html.escape(s["display_title"]),
                  style=style, script=script, config=script_json(config))
    return html_response(page, script, style)


ROUTES = [display_page]
