"""What runs around the core in ``cxpulse run``: alerts, archive, cases, voice, the HTTP
server, the wall.

The composition order is fixed here, in one place. When the wall runs in this process and
no ``[dashboards] token`` is configured, it gets a fresh random admin token for this run
only (its sha256 is added to the server's token list in memory, never written anywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator

import msgspec

from alerting.service import AlertService
from archive.comments import TextHooks
from archive.service import ArchiveService
from cases.service import CaseService
from cxpulse.config import Config
from cxpulse.connections import ServerCore, connection
from cxpulse.digest import start_digests
from dashboards.serve import serve_dashboards
from server.app import create_app, serve
from stream.access import TokenConfig
from stream.core import Core
from stream.natscreds import Login
from stream.remote import RemoteReader
from stream.tasks import cancel_all
from voice.asr_worker import AsrWorker
from voice.worker import VoiceWorker

log = logging.getLogger("cxpulse.run")
INTERNAL_TOKEN_NAME = "wall (this process)"


def with_internal_wall_token(cfg: Config) -> Config:
    """Config whose dashboards hold a token the server accepts (generated if none is set)."""
    if cfg.dashboards.token:
        return with_wall_delegate(cfg)
    token = secrets.token_urlsafe(32)
    internal = TokenConfig(name=INTERNAL_TOKEN_NAME, role="admin",
                           sha256=hashlib.sha256(token.encode()).hexdigest())
    return with_wall_delegate(msgspec.structs.replace(
        cfg, auth=msgspec.structs.replace(cfg.auth, tokens=(*cfg.auth.tokens, internal)),
        dashboards=msgspec.structs.replace(cfg.dashboards, token=token)))


# -- cases (issue 17) ------------------------------------------------------------------------

def with_wall_delegate(cfg: Config) -> Config:
    """The wall's token may act on behalf of its viewers (``server/cases_api.py``): its
    name joins ``[cases] delegates``."""
    digest = hashlib.sha256(cfg.dashboards.token.encode()).hexdigest()
    names = [t.name for t in cfg.auth.tokens if t.sha256 == digest]
    if not names or names[0] in cfg.cases.delegates:
        return cfg
    return msgspec.structs.replace(cfg, cases=msgspec.structs.replace(
        cfg.cases, delegates=(*cfg.cases.delegates, names[0])))


async def start_cases(cfg: Config, core: Core | RemoteReader,
                      conns: contextlib.AsyncExitStack, url: str,
                      logins: dict[str, Login]) -> CaseService | None:
    """The case rules and escalation (``[cases] enabled``) on its own connection as the
    ``cases`` user: one instance leads."""
    if not cfg.cases.enabled:
        return None
    nc = await conns.enter_async_context(connection(cfg, url, "cases", "cxpulse-cases",
                                                    logins))
    cases = CaseService(cfg, nc, core)
    await cases.start()
    return cases

# -- end cases -------------------------------------------------------------------------------


async def start_voice(cfg: Config, conns: contextlib.AsyncExitStack, url: str,
                      logins: dict[str, Login]) -> list[object]:
    """The voice worker (live microphones) and one speech-recognition worker, each on its
    own connection as its own user. They talk to the rest only over NATS (the alert
    service reads ``cx.voice`` and ``cx.mic``), exactly as when ``cxpulse voice`` and
    ``cxpulse asr`` run elsewhere."""
    workers: list[object] = []
    if not cfg.voice.enabled:
        return workers
    nc = await conns.enter_async_context(connection(cfg, url, "voice", "cxpulse-voice", logins))
    voice = VoiceWorker(cfg, nc, nc.jetstream())
    await voice.start()
    workers.append(voice)
    if cfg.voice.asr_enabled:
        asr_nc = await conns.enter_async_context(connection(cfg, url, "asr", "cxpulse-asr",
                                                            logins))
        asr = AsrWorker(cfg, asr_nc)
        await asr.start()
        workers.append(asr)
    return workers


async def start_archive(cfg: Config, conns: contextlib.AsyncExitStack, url: str,
                        logins: dict[str, Login]) -> ArchiveService | None:
    """The archive (``[archive] enabled``) on its own connection as the ``archive`` user:
    writer where this instance holds the lease, forwarding queries otherwise. Comments are
    masked and tagged by the text package."""
    if not cfg.archive.enabled:
        return None
    nc = await conns.enter_async_context(
        connection(cfg, url, "archive", "cxpulse-archive", logins))
    archive = ArchiveService(cfg, nc, hooks=TextHooks.default(cfg.comments))
    await archive.start()
    return archive


@contextlib.asynccontextmanager
async def run_components(cfg: Config, core: Core | RemoteReader, url: str,
                         logins: dict[str, Login], *,
                         dashboards: bool = True) -> AsyncIterator[None]:
    """Start alerts -> archive -> digests -> cases -> server -> wall -> voice around a
    running core, each service on its own NATS connection as its own user
    (``cxpulse.connections``); stop them in reverse."""
    wall = dashboards and cfg.dashboards.enabled
    if wall:
        cfg = with_internal_wall_token(cfg)
    tasks: list[asyncio.Task[None]] = []
    conns = contextlib.AsyncExitStack()
    alerts_nc = await conns.enter_async_context(
        connection(cfg, url, "alerts", "cxpulse-alerts", logins))
    alerts = AlertService(cfg, alerts_nc, core)
    await alerts.start()
    archive = await start_archive(cfg, conns, url, logins)
    digests = await start_digests(cfg, core, archive, conns, url, logins)
    cases = await start_cases(cfg, core, conns, url, logins)
    workers: list[object] = []
    try:
        server_nc = await conns.enter_async_context(
            connection(cfg, url, "server", "cxpulse-server", logins))
        reporters = {name: svc.status for name, svc in (("digests", digests), ("cases", cases))
                     if svc is not None}
        app = create_app(cfg, ServerCore(core, server_nc), alerts, archive, reporters)
        tasks.append(asyncio.create_task(serve(app, cfg.server.host, cfg.server.port)))
        log.info("server: http://%s:%d", cfg.server.host, cfg.server.port)
        if wall:
            tasks.append(asyncio.create_task(serve_dashboards(cfg)))
            log.info("wall: http://%s:%d/wall", cfg.server.host, cfg.dashboards.port)
        # last: warming the voice kernels up takes seconds (minutes on a cold numba cache);
        # the server and the wall answer meanwhile
        workers += await start_voice(cfg, conns, url, logins)
        yield
    finally:
        await cancel_all(tasks)
        for worker in reversed(workers):
            with contextlib.suppress(Exception):
                await worker.stop()  # type: ignore[attr-defined]
        if cases is not None:
            await cases.stop()
        if digests is not None:
            await digests.stop()
        if archive is not None:
            await archive.stop()
        await alerts.stop()
        await conns.aclose()
