"""What runs around the core in ``cxpulse run``: alerts, the HTTP server, the dashboards.

Each piece is optional until it exists in this tree, so the runner composes whatever is
installed; the composition order is fixed here, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import AsyncIterator

from stream.config import Config
from stream.core import Core

log = logging.getLogger("cxpulse.run")


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@contextlib.asynccontextmanager
async def run_components(cfg: Config, core: Core, *, dashboards: bool = True) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    alerts = None
    try:
        if _have("stream.alerting.service"):
            from stream.alerting.service import AlertService

            alerts = AlertService(cfg, core.nc, core)
            await alerts.start()
        if _have("server.app"):
            from server.app import create_app, serve

            app = create_app(cfg, core, alerts)
            tasks.append(asyncio.create_task(serve(app, cfg.server.host, cfg.server.port)))
            log.info("server: http://%s:%d", cfg.server.host, cfg.server.port)
        if dashboards and cfg.dashboards.enabled and _have("dashboards.serve"):
            from dashboards.serve import serve_dashboards

            tasks.append(asyncio.create_task(serve_dashboards(cfg)))
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if alerts is not None:
            await alerts.stop()
