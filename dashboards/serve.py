"""Serve the walls: a Panel (Bokeh/Tornado) server on ``[dashboards] port`` inside the
caller's asyncio loop, plus the process's one shared ``Feed``.

    await serve_dashboards(cfg)        # until cancelled (``cxpulse run`` runs it as a task)

Pages: ``/wall?scope=<network|region|location>&lang=<ru|en>&who=<name>``,
``/case?location=..&incident=..`` (one case's card, ``dashboards.casepage``), ``/`` (an
index of the scopes the viewer may see), ``/login`` and ``/logout`` (``dashboards.login``:
a URL ``token=`` is exchanged once for an HttpOnly cookie) and ``/stats`` (JSON for an
admin token). Sessions are signed with the deployment's secret (``dashboards.keys``), the
websocket accepts only the configured origins, and every response carries the security
headers of ``dashboards.headers``. Panel's session reconnect is on, so a browser that
loses the dashboard's websocket for a moment gets its session back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from html import escape
from typing import Any

import panel as pn
from bokeh.server.contexts import BokehSessionContext
from panel.io.application import build_applications

from dashboards.access import Gate
from dashboards.casepage import CasePage
from dashboards.config import WILDCARD_HOSTS, WallSettings, check_public_origins, origin_host
from dashboards.feed import Feed
from dashboards.headers import add_security_headers
from dashboards.i18n import pick_lang, t
from dashboards.keys import dashboards_token, derived, secret_key
from dashboards.login import ViewerClaim, WallAuth, viewer_of
from dashboards.render_live import banner, wall_link
from dashboards.stats import StatsHandler
from dashboards.theme import CSS, PAGE_CSS
from dashboards.wall import Wall, WallContext
from stream.access import Principal
from stream.config import ConfigError
from stream.ids import NETWORK, is_id

log = logging.getLogger("cxpulse.dashboards")
_CONTEXT: dict[str, WallContext] = {}
SESSION_TOKEN_S = 300  # a page must open its websocket within this (Bokeh's default)


def _arg(name: str) -> str | None:
    values = pn.state.session_args.get(name)
    return values[0].decode("utf-8", "replace") if values else None


def _page() -> tuple[WallContext, str, Principal | None]:
    """The shared context, the page's language and its viewer (from the session token's
    signed claim, ``dashboards.login``)."""
    ctx = _CONTEXT["ctx"]
    context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    payload = context.token_payload if isinstance(context, BokehSessionContext) else {}
    return ctx, pick_lang(_arg("lang"), ctx.cfg.core.language), viewer_of(payload, ctx.gate)


def refused(text: str) -> pn.pane.HTML:
    """What a page without a viewer, or outside its viewer's scope, shows: no data."""
    return pn.pane.HTML(banner(text), stylesheets=[CSS], sizing_mode="stretch_width", margin=20)


def wall_page() -> Wall | pn.pane.HTML:
    ctx, lang, viewer = _page()
    if viewer is None:
        return refused(t(lang, "need_token"))
    scope = _arg("scope") or ctx.gate.home(viewer)
    if not is_id(scope):
        return refused(f'{t(lang, "bad_scope")}: {scope}')
    why = ctx.gate.refusal(viewer, scope)
    if why is not None:
        return refused(f'{t(lang, "forbidden_viewer")}: {why}')
    return Wall(ctx, scope, lang, who=_arg("who") or "", viewer=viewer.name)


def case_page() -> CasePage | pn.pane.HTML:
    """``/case?location=..&incident=..``: one case's card, acted on for the viewer (the
    wall's own token acts, naming the viewer: ``dashboards.caseclient``)."""
    ctx, lang, viewer = _page()
    if viewer is None:
        return refused(t(lang, "need_token"))
    location, incident = _arg("location") or "", _arg("incident") or ""
    if not is_id(location):
        return refused(f'{t(lang, "bad_scope")}: {location}')
    why = ctx.gate.refusal(viewer, location)
    if why is not None:
        return refused(f'{t(lang, "forbidden_viewer")}: {why}')
    own = ctx.gate.viewer(dashboards_token(ctx.cfg))
    on_behalf = None if own is not None and own.name == viewer.name else viewer.name
    back = _arg("scope") or location
    return CasePage(ctx, location, incident, lang, viewer=on_behalf,
                    back=back if is_id(back) else location)


def index_page() -> pn.pane.HTML:
    """Links to the walls the page's viewer may see."""
    ctx, lang, viewer = _page()
    if viewer is None:
        return refused(t(lang, "need_token"))
    geo, net = ctx.cache.geo, t(lang, "network")

    def item(scope: str, inner: str = "") -> str:
        if ctx.gate.refusal(viewer, scope) is not None:
            return inner
        return f"<li>{wall_link(scope, lang, geo.name(scope, net))}{inner}</li>"

    items = [item(NETWORK)]
    for region in geo.regions():
        locs = "".join(item(loc) for loc in geo.members(region))
        items.append(item(region, f"<ul>{locs}</ul>" if locs else ""))
    body = (f'<div class="card" style="font-size:24px"><div class="h"><b>{escape(t(lang, "title"))}'
            f'</b></div><ul>{"".join(items)}</ul></div>')
    return pn.pane.HTML(body, stylesheets=[CSS, ":host li { margin: 6px 0; }"],
                        sizing_mode="stretch_width")


def configure_panel() -> None:
    """Process-wide Panel settings (the dashboards are the process's only Panel user)."""
    pn.extension(reconnect=True, notifications=True)
    pn.config.raw_css = [*[c for c in pn.config.raw_css if c != PAGE_CSS], PAGE_CSS]
    pn.config.theme = "dark"  # type: ignore[misc]  # a settable param; the stub says property


def origins(cfg: WallSettings, port: int) -> list[str]:
    """Browser origins (host[:port]) allowed to open the Panel websocket: the configured
    public ones, plus this host and loopback when it listens on one address. Never ``*``:
    a wildcard listener needs ``[dashboards] public_origins`` (ConfigError otherwise)."""
    host = cfg.server.host
    try:
        check_public_origins(cfg.dashboards, host)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    public = {origin_host(o) for o in cfg.dashboards.public_origins}
    if host in WILDCARD_HOSTS:
        return sorted(public)
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return sorted(public | {f"{shown}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})


def applications(auth: WallAuth, cookie_secret: str) -> dict[str, Any]:
    """The wall and the index as Bokeh applications whose session tokens carry the viewer."""
    apps = build_applications({"wall": wall_page, "case": case_page, "/": index_page},
                              title={"wall": "cxpulse", "case": "cxpulse", "/": "cxpulse"})
    for app in apps.values():
        app.add(ViewerClaim(auth, cookie_secret))
    return apps


def build_server(cfg: WallSettings, port: int, ctx: WallContext) -> Any:
    """The Bokeh server on the running loop, not yet started: signed sessions, the login
    cookie, the allowed origins, the security headers. Panel installs a SIGINT handler of
    its own; the caller's is put back so Ctrl-C still stops ``cxpulse run``."""
    allowed = origins(cfg, port)
    secret = secret_key(cfg)
    cookie_secret = derived(secret, "login cookie")
    auth = WallAuth(ctx.gate, cfg.dashboards.cookie_days, cfg.core.language)
    previous = signal.getsignal(signal.SIGINT)
    try:
        server = pn.serve(
            applications(auth, cookie_secret), port=port, address=cfg.server.host or None,
            websocket_origin=allowed, show=False, start=False, verbose=False,
            extra_patterns=[(r"/stats", StatsHandler, {"cache": ctx.cache, "gate": ctx.gate})],
            sign_sessions=True, secret_key=derived(secret, "bokeh sessions").encode(),
            generate_session_ids=True, session_token_expiration=SESSION_TOKEN_S,
            auth_provider=auth, cookie_secret=cookie_secret,
            include_cookies=[], exclude_headers=["Cookie", "Authorization"],
            check_unused_sessions_milliseconds=5_000,
            unused_session_lifetime_milliseconds=15_000)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)
    add_security_headers(server._tornado)
    return server


def preflight(cfg: WallSettings, port: int) -> tuple[list[str], bytes, str]:
    """What the wall needs before anything starts, each a ConfigError naming its key when
    missing: the allowed origins, the deployment's secret, the dashboards' token."""
    return origins(cfg, port), secret_key(cfg), dashboards_token(cfg)


async def serve_dashboards(cfg: WallSettings, *, port: int | None = None,
                           started: asyncio.Event | None = None) -> None:
    """Run the feed and the Panel server until cancelled. A configuration problem is logged
    and raised before anything starts."""
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # one line per static file
    port = cfg.dashboards.port if port is None else port
    try:
        preflight(cfg, port)
    except ConfigError as exc:
        log.error("dashboards not started: %s", exc)
        raise
    feed = Feed(cfg)
    ctx = _CONTEXT["ctx"] = WallContext(cfg, feed, Gate.from_config(cfg))
    configure_panel()
    server = None
    try:
        server = build_server(cfg, port, ctx)
        await feed.start()
        server.start()
        log.info("dashboards: http://%s:%d/wall", cfg.server.host, server.port)
        if started is not None:
            started.set()
        await asyncio.Event().wait()
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()
        await feed.stop()
        _CONTEXT.pop("ctx", None)
