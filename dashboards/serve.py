"""Serve the walls: a Panel (Bokeh/Tornado) server on ``[dashboards] port`` inside the
caller's asyncio loop, plus the process's one shared ``Feed``.

    await serve_dashboards(cfg)        # until cancelled (``cxpulse run`` runs it as a task)

Pages: ``/wall?scope=<network|region|location>&lang=<ru|en>&who=<name>``, ``/`` (an
index of every scope) and ``/stats`` (JSON: sessions, feed state, topic ages). Panel's own
session reconnect is on, so a browser that loses the dashboard's websocket for a moment
gets its session back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from html import escape
from typing import Any

import panel as pn

from dashboards.access import Gate
from dashboards.casepage import CasePage
from dashboards.config import WallSettings
from dashboards.feed import Feed
from dashboards.i18n import pick_lang, t
from dashboards.render_live import wall_link
from dashboards.stats import StatsHandler
from dashboards.theme import CSS, PAGE_CSS
from dashboards.wall import Wall, WallContext
from stream.ids import NETWORK

log = logging.getLogger("cxpulse.dashboards")
_CONTEXT: dict[str, WallContext] = {}


def _arg(name: str) -> str | None:
    values = pn.state.session_args.get(name)
    return values[0].decode("utf-8", "replace") if values else None


def _page() -> tuple[WallContext, str, str | None]:
    ctx = _CONTEXT["ctx"]
    return ctx, pick_lang(_arg("lang"), ctx.cfg.core.language), _arg("token")


def refused(lang: str, reason: str) -> pn.pane.HTML:
    """What a page without a valid token, or outside its token's scope, shows: no data."""
    return pn.pane.HTML(f'<div class="banner">{escape(reason)}</div>', stylesheets=[CSS],
                        sizing_mode="stretch_width", margin=20)


def wall_page() -> Wall | pn.pane.HTML:
    ctx, lang, token = _page()
    viewer = ctx.gate.viewer(token)
    if viewer is None:
        return refused(lang, t(lang, "need_token"))
    scope = _arg("scope") or ctx.gate.home(viewer)
    why = ctx.gate.refusal(viewer, scope)
    if why is not None:
        return refused(lang, f'{t(lang, "forbidden_viewer")}: {why}')
    keep = {"token": token} if token else {}
    return Wall(ctx, scope, lang, who=_arg("who") or "", viewer=viewer.name, keep=keep)


def case_page() -> CasePage | pn.pane.HTML:
    """``/case?location=..&incident=..``: one case's card, acted on for the viewer."""
    ctx, lang, token = _page()
    viewer = ctx.gate.viewer(token)
    if viewer is None:
        return refused(lang, t(lang, "need_token"))
    location, incident = _arg("location") or "", _arg("incident") or ""
    why = ctx.gate.refusal(viewer, location) if location else "no location"
    if why is not None:
        return refused(lang, f'{t(lang, "forbidden_viewer")}: {why}')
    own = ctx.gate.viewer(ctx.cfg.dashboards.token)
    on_behalf = None if own is not None and own.name == viewer.name else viewer.name
    keep = {"token": token} if token else {}
    return CasePage(ctx, location, incident, lang, viewer=on_behalf, keep=keep,
                    back=_arg("scope") or location)


def index_page() -> pn.pane.HTML:
    """Links to the walls the page's token may see."""
    ctx, lang, token = _page()
    viewer = ctx.gate.viewer(token)
    if viewer is None:
        return refused(lang, t(lang, "need_token"))
    geo, net = ctx.cache.geo, t(lang, "network")
    keep = {"token": token} if token else {}

    def item(scope: str, inner: str = "") -> str:
        if ctx.gate.refusal(viewer, scope) is not None:
            return inner
        return f"<li>{wall_link(scope, lang, geo.name(scope, net), keep)}{inner}</li>"

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


def origins(host: str, port: int) -> list[str]:
    """Browser origins allowed to open the Panel websocket."""
    if host in ("", "0.0.0.0", "::"):
        return ["*"]
    return sorted({f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"})


def build_server(cfg: WallSettings, port: int, ctx: WallContext) -> Any:
    """The Bokeh server on the running loop, not yet started. Panel installs a SIGINT
    handler of its own; the caller's is put back so Ctrl-C still stops ``cxpulse run``."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        return pn.serve({"wall": wall_page, "case": case_page, "/": index_page}, port=port,
                        address=cfg.server.host or None,
                        websocket_origin=origins(cfg.server.host, port), show=False,
                        start=False, verbose=False,
                        title={"wall": "cxpulse", "case": "cxpulse", "/": "cxpulse"},
                        extra_patterns=[(r"/stats", StatsHandler, {"cache": ctx.cache})],
                        check_unused_sessions_milliseconds=5_000,
                        unused_session_lifetime_milliseconds=15_000)
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)


async def serve_dashboards(cfg: WallSettings, *, port: int | None = None,
                           started: asyncio.Event | None = None) -> None:
    """Run the feed and the Panel server until cancelled."""
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # one line per static file
    feed = Feed(cfg)
    ctx = _CONTEXT["ctx"] = WallContext(cfg, feed, Gate.from_config(cfg))
    configure_panel()
    await feed.start()
    server = build_server(cfg, cfg.dashboards.port if port is None else port, ctx)
    server.start()
    log.info("dashboards: http://%s:%d/wall", cfg.server.host, server.port)
    if started is not None:
        started.set()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        await feed.stop()
        _CONTEXT.pop("ctx", None)
