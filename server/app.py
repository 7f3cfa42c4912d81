"""The Litestar application and its in-process uvicorn runner.

    app = create_app(cfg, core, alerts)          # core: a started stream.core.Core
    await serve(app, cfg.server.host, cfg.server.port)   # until cancelled; graceful stop

``create_app`` wires the JSON API, ``/ws``, the display and survey pages, and ``/api/alerts``
when an alert service is given; ``cx.voice.>`` on NATS feeds the ``voice:`` topics. The hub
starts and stops with the app (lifespan); the core and the alert service belong to the
caller. Every response carries the security headers (``server.headers``); request bodies
are refused (413) beyond the contract's 64 KiB before they are read; page sessions live
under ``{[core] data_dir}/server/sessions`` (``server.sessions``).
``cx.comment.*`` feeds the ``comments:`` topics when there is an archive
(``server.commentfeed``). ``app.state.ctx.hub.publish(topic, payload)``
is the hook other in-process producers (the voice worker) push through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide

from server import (
    alerts_api,
    api,
    cases_api,
    comments,
    history,
    pages,
    records,
    survey_pages,
    survey_review,
)
from server.alerts import AlertsAdapter
from server.commentfeed import CommentBridge, archive_loader
from server.config import ServerSettings
from server.context import LiveCore, ServerContext, warn_if_open
from server.errors import EXCEPTION_HANDLERS
from server.headers import add_security_headers, refuse_oversize
from server.hub import Hub
from server.limits import Strikes
from server.openapi import StructSchema, openapi_config
from server.sessions import PageSessions
from server.survey_guard import SurveyGuard
from server.voicefeed import VoiceBridge
from server.wire import WS_PROTOCOL
from server.ws import ws_endpoint
from stream.access import Geo, TokenTable
from stream.events import MAX_PAYLOAD_BYTES
from stream.tasks import within

log = logging.getLogger("cxpulse.server")


def _context(cfg: ServerSettings, core: LiveCore, adapter: AlertsAdapter | None
             ) -> ServerContext:
    """What every handler reads: the core, the hub, tokens, page sessions, the survey guard,
    the wrong-token throttle."""
    tokens = TokenTable(cfg.auth.tokens)
    sessions = PageSessions(Path(cfg.core.data_dir) / "server" / "sessions", tokens,
                            cfg.server.session_days * 86400)
    return ServerContext(cfg=cfg, core=core, hub=Hub(cfg, core, adapter), alerts=adapter,
                         tokens=tokens, geo=Geo.from_config(cfg),
                         survey=SurveyGuard(cfg, os.urandom(32)), sessions=sessions,
                         strikes=Strikes(cfg.server.auth_failures_per_min))


def create_app(cfg: ServerSettings, core: LiveCore, alerts: Any | None = None,
               archive: Any | None = None,
               reporters: Mapping[str, Callable[[], Mapping[str, object]]] | None = None,
               ) -> Litestar:
    """The HTTP/WebSocket app over a running core (and optionally an ``AlertService`` and
    an ``ArchiveService``: history, records and export). ``reporters``: the status of the
    process's other services by name (digests, cases), shown to admins in ``/api/health``."""
    warn_if_open(cfg)
    adapter = AlertsAdapter(alerts) if alerts is not None else None
    ctx = _context(cfg, core, adapter)
    hub, sessions = ctx.hub, ctx.sessions

    voice = VoiceBridge(getattr(core, "nc", None), core.subjects, hub)
    if archive is not None:  # comments: the archive's latest, then its writer's live notes
        hub.comments.loader = archive_loader(archive)
    live_comments = CommentBridge(getattr(core, "nc", None), core.subjects, hub)

    @contextlib.asynccontextmanager
    async def run_hub(_: Litestar) -> AsyncIterator[None]:
        await sessions.sweep()
        await hub.start()
        await voice.start()
        await live_comments.start()
        try:
            yield
        finally:
            await within(live_comments.stop(), 10, "stopping the live comments feed")
            await within(voice.stop(), 10, "stopping the voice bridge")
            await within(hub.stop(), 10, "stopping the hub")

    routes: list[Any] = [*api.ROUTES, ws_endpoint, *pages.ROUTES, *survey_pages.ROUTES,
                         *survey_review.ROUTES, *cases_api.ROUTES]
    if adapter is not None:
        routes += alerts_api.ROUTES
    ctx.extra["reporters"] = dict(reporters or {})
    if archive is not None:
        ctx.extra["archive"] = archive
        routes += history.ROUTES + records.ROUTES + comments.ROUTES
    cors = None
    if cfg.server.cors_origins:
        cors = CORSConfig(allow_origins=list(cfg.server.cors_origins),
                          allow_headers=["Authorization", "Content-Type"])

    def provide_ctx() -> ServerContext:
        return ctx

    app = Litestar(
        route_handlers=routes,
        dependencies={"ctx": Provide(provide_ctx, sync_to_thread=False, use_cache=True),
                      "principal": Provide(api.provide_principal)},
        lifespan=[run_hub], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=cors, openapi_config=openapi_config(), logging_config=None,
        plugins=[StructSchema()], before_send=[add_security_headers],
        before_request=refuse_oversize,
        request_max_body_size=MAX_PAYLOAD_BYTES,  # 413 before reading (Content-Length)
    )
    app.state.ctx = ctx
    return app


class _TokenRedactor(logging.Filter):
    """Keeps ``?token=...`` out of uvicorn's connection and access logs."""

    _TOKEN = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


_REDACTOR = _TokenRedactor()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller owns the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: Litestar, host: str, port: int, *, started: asyncio.Event | None = None,
                graceful_timeout_s: int = 5, direct_frames: bool = True) -> None:
    """Run ``app`` under uvicorn in this event loop until cancelled, then shut down
    gracefully (open websockets get close code 1012 and may reconnect elsewhere).
    ``started`` is set once the socket listens. ``direct_frames=False`` sends websocket
    frames through ASGI only (``server/wire.py`` explains the direct path)."""
    proxies = app.state.ctx.cfg.server.trusted_proxies
    for name in ("uvicorn.error", "uvicorn.access"):
        if _REDACTOR not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_REDACTOR)
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", log_config=None, access_log=False,
        timeout_graceful_shutdown=graceful_timeout_s, ws_max_size=64 * 1024,
        ws_per_message_deflate=False,  # one frame to N clients would be compressed N times
        ws=WS_PROTOCOL if direct_frames else "auto",  # + the hub's direct frame path
        server_header=False,
        # X-Forwarded-For/-Proto only from [server] trusted_proxies (the survey's rate limit
        # keys on the client address); none listed: the headers are ignored
        proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies) or None,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{host}:{port}")
    try:
        while started is not None and not server.started and not task.done():
            await asyncio.sleep(0.01)
        if started is not None and server.started:
            started.set()
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        # uvicorn bounds the connections' shutdown, not the lifespan's: bound the whole
        if not await within(asyncio.shield(task), graceful_timeout_s + 15, "the HTTP shutdown"):
            task.cancel()
        raise
