"""Who is looking at a wall, through Bokeh's own authentication hooks (``AuthProvider``):

1. A page opened as ``/wall?scope=msk&token=T`` is "not logged in" while ``token=`` is in
   its address, so Bokeh sends it to ``/login?next=...``. ``LoginHandler`` checks the token
   against ``[auth]`` (``stream.access``), sets a signed, HttpOnly, SameSite=Lax cookie
   holding the token's digest (Tornado's signed cookies) and redirects to the same address
   without ``token=``. A missing or wrong token gets a notice (401) and no cookie.
2. Every page and websocket then needs that cookie (``WallAuth.user``). A page or a
   websocket naming an existing Bokeh session (``bokeh-session-id``) is refused outright,
   and a websocket is accepted only from the viewer its (signed) session token was issued
   to, so knowing another viewer's session id or token opens nothing.
3. ``ViewerClaim`` writes the viewer's name into the session token (Bokeh signs it, with
   ``sign_sessions``), where the page reads it (``viewer_of``); the cookie itself never
   reaches the page's scripts.

Lax, not Strict: a wall link opened from mail or chat is a cross-site navigation, and a
Strict cookie would be missing on it (and on the redirect after the exchange).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from bokeh.application.handlers.handler import Handler
from bokeh.document import Document
from bokeh.server.auth_provider import AuthProvider
from bokeh.util.token import get_token_payload
from tornado.httputil import HTTPServerRequest
from tornado.web import HTTPError, RequestHandler, decode_signed_value

from dashboards.access import Gate
from dashboards.i18n import pick_lang, t
from dashboards.theme import BAD, BG, FONT, TEXT
from stream.access import Principal, hash_token

COOKIE = "cxpulse_wall"
VIEWER_CLAIM = "cxpulse_viewer"
LOGIN_URL, LOGOUT_URL = "/login", "/logout"
PAGES = ("/wall", "/case", "/")  # where a login may lead back to


def safe_next(target: str) -> tuple[str, list[tuple[str, str]]]:
    """The page (one of ours, never another site) and the query of a ``next`` address."""
    parts = urlsplit(target)
    path = parts.path if parts.path in PAGES and not parts.netloc and not parts.scheme \
        else PAGES[0]
    return path, parse_qsl(parts.query, keep_blank_values=True)


def notice_page(lang: str, text: str) -> str:
    """A whole page with one notice (no data, no script)."""
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<title>cxpulse</title><style>body {{ background: {BG}; color: {TEXT}; '
            f'font-family: {FONT}; margin: 20px; }} .banner {{ background: rgba(255,82,82,.22);'
            f' color: {BAD}; font-size: 24px; padding: 10px 16px; border-radius: 8px; }}'
            f'</style></head><body><div class="banner">{escape(text)}</div></body></html>')


class WallAuth(AuthProvider):
    """Bokeh's authentication hooks for the wall (see the module docstring)."""

    def __init__(self, gate: Gate, cookie_days: float, language: str) -> None:
        self.gate, self.cookie_days, self.language = gate, cookie_days, language
        super().__init__()

    @property
    def get_user(self) -> Callable[[Any], Any]:  # Bokeh calls it with the request handler
        return self.user

    @property
    def get_user_async(self) -> None:
        return None

    @property
    def login_url(self) -> str:
        return LOGIN_URL

    @property
    def get_login_url(self) -> None:
        return None

    @property
    def login_handler(self) -> type[RequestHandler]:
        return LoginHandler

    @property
    def logout_url(self) -> str:
        return LOGOUT_URL

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return LogoutHandler

    def principal(self, request: HTTPServerRequest, secret: str) -> Principal | None:
        """The viewer of a request's cookie (anyone is an admin with ``[auth]`` off)."""
        if not self.gate.enabled:
            return self.gate.viewer(None)
        morsel = request.cookies.get(COOKIE)
        if morsel is None:
            return None
        digest = decode_signed_value(secret, COOKIE, morsel.value,
                                     max_age_days=self.cookie_days)
        return self.gate.by_digest(digest.decode("ascii", "replace")) if digest else None

    def user(self, handler: RequestHandler) -> str | None:
        """Bokeh's ``get_user``: the viewer's name, or None (-> the login page, or 403 for a
        websocket)."""
        request = handler.request
        if "bokeh-session-id" in request.arguments or "Bokeh-Session-Id" in request.headers:
            raise HTTPError(403, reason="session ids are not accepted")
        if self.gate.enabled and "token" in request.query_arguments:
            return None  # exchange the URL token for the cookie first
        viewer = self.principal(request, handler.application.settings["cookie_secret"])
        if viewer is None:
            return None
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if offered and session_viewer(offered) != viewer.name:
            return None  # a session token issued to someone else
        return viewer.name


def session_viewer(offered: str) -> str | None:
    """The viewer a websocket's Bokeh token (``Sec-WebSocket-Protocol: bokeh, TOKEN``) was
    issued to, unverified (Bokeh checks its signature when it opens the session)."""
    parts = [p.strip() for p in offered.split(",")]
    if len(parts) != 2 or parts[0] != "bokeh":
        return None
    try:
        claim = get_token_payload(parts[1]).get(VIEWER_CLAIM)
    except Exception:  # noqa: BLE001 - any malformed token is simply nobody's
        return None
    return claim if isinstance(claim, str) else None


class LoginHandler(RequestHandler):
    """``GET /login?next=/wall?...&token=T``: the one place a URL token is read."""

    def get(self) -> None:
        auth: WallAuth = self.application.auth_provider  # type: ignore[attr-defined]
        path, query = safe_next(self.get_query_argument("next", PAGES[0]))
        tokens = [v for k, v in query if k == "token"]
        rest = [(k, v) for k, v in query if k != "token"]
        lang = pick_lang(dict(rest).get("lang"), auth.language)
        viewer = auth.gate.viewer(tokens[-1] if tokens else None)
        if viewer is None:
            self.set_status(401)
            self.set_header("Cache-Control", "no-store")
            self.finish(notice_page(lang, t(lang, "need_token" if not tokens else "bad_token")))
            return
        if auth.gate.enabled:
            self.set_signed_cookie(COOKIE, hash_token(tokens[-1]), expires_days=auth.cookie_days,
                                   httponly=True, samesite="Lax", path="/",
                                   secure=self.request.protocol == "https")
        self.redirect(path + (f"?{urlencode(rest)}" if rest else ""), status=303)


class LogoutHandler(RequestHandler):
    """``GET /logout``: forget the cookie (a shared screen changing hands)."""

    def get(self) -> None:
        auth: WallAuth = self.application.auth_provider  # type: ignore[attr-defined]
        lang = pick_lang(self.get_query_argument("lang", None), auth.language)
        self.clear_cookie(COOKIE, path="/")
        self.set_header("Cache-Control", "no-store")
        self.finish(notice_page(lang, t(lang, "signed_out")))


class ViewerClaim(Handler):
    """Adds the viewer's name to every session token of an application (Bokeh's
    ``process_request`` hook); the token is signed, so the page can trust it."""

    def __init__(self, auth: WallAuth, cookie_secret: str) -> None:
        super().__init__()
        self.auth, self.cookie_secret = auth, cookie_secret

    def modify_document(self, doc: Document) -> None:
        pass

    def process_request(self, request: HTTPServerRequest) -> dict[str, Any]:
        viewer = self.auth.principal(request, self.cookie_secret)
        return {VIEWER_CLAIM: viewer.name} if viewer is not None else {}


def viewer_of(payload: dict[str, Any], gate: Gate) -> Principal | None:
    """The viewer a session was opened for (from its signed token's payload)."""
    claim = payload.get(VIEWER_CLAIM)
    return gate.by_name(claim) if isinstance(claim, str) else None
