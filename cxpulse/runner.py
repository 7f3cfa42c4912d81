"""``cxpulse run``: the whole system in one process tree.

Start order: embedded nats-server (when ``[nats] url`` is empty) -> core (replays to the
present) -> alert service -> HTTP/WebSocket server -> dashboards -> optional simulator
(a child process, like any device). Stop is the reverse, on Ctrl-C or SIGTERM; children
get SIGTERM if this process dies, so nothing is left orphaned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from cxpulse.config import Config, load_config
from stream.core import Core
from stream.nats_io import connect, ensure_streams, stop_on_signals
from stream.nats_server import EmbeddedNats, _die_with_parent
from stream.remote import RemoteReader

log = logging.getLogger("cxpulse.run")


def start_embedded_nats(cfg: Config) -> EmbeddedNats:
    store = Path(cfg.core.data_dir) / "jetstream"
    server = EmbeddedNats(store, cfg.nats.embedded_host, cfg.nats.embedded_port).start()
    log.info("embedded nats-server on %s (JetStream in %s)", server.url, store)
    return server


def start_simulator(config_path: str, scenario: str, nats_url: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "cxpulse.cli", "simulate", "--config", config_path,
           "--scenario", scenario, "--nats-url", nats_url]
    log.info("simulator: %s", " ".join(cmd[2:]))
    return subprocess.Popen(cmd, preexec_fn=_die_with_parent, start_new_session=True)


async def _serve(cfg: Config, args: argparse.Namespace, url: str,
                 embedded: EmbeddedNats | None = None) -> None:
    stop = stop_on_signals()
    supervisor = asyncio.create_task(embedded.supervise()) if embedded else None
    from cxpulse.components import run_components  # panel & co. only for `run`, not `core`

    stack = contextlib.AsyncExitStack()
    sim = None
    try:
        core = await stack.enter_async_context(_reader(cfg, url))
        await stack.enter_async_context(run_components(cfg, core, dashboards=not args.no_dashboards))
        if args.simulate:
            sim = start_simulator(args.config, args.simulate, url)
        await stop.wait()
        log.info("stopping")
    finally:
        if sim and sim.poll() is None:
            sim.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sim.wait(5)
        await stack.aclose()
        if supervisor is not None:
            supervisor.cancel()


@contextlib.asynccontextmanager
async def _reader(cfg: Config, url: str) -> AsyncIterator[Core | RemoteReader]:
    """The core in this process, or, with ``[scale] workers > 1``, the roll-up of the
    partitioned core workers running elsewhere (``cxpulse core``)."""
    if cfg.scale.workers > 1:
        nc = await connect(cfg.nats, url, "cxpulse-readers")
        await ensure_streams(nc.jetstream(), cfg)
        remote = RemoteReader(cfg, nc)
        await remote.start()
        log.info("reading the roll-up of %d core workers", cfg.scale.workers)
        try:
            yield remote
        finally:
            await remote.stop()
            await nc.close()
        return
    async with _local_core(cfg, url) as core:
        yield core


@contextlib.asynccontextmanager
async def _local_core(cfg: Config, url: str) -> AsyncIterator[Core]:
    """The streaming core in this process, started (snapshot + replay) and stopped."""
    core = Core(cfg, url)
    await core.start()
    log.info("core: replayed to seq %d, consuming from %s", core.engine.last_seq, url)
    try:
        yield core
    finally:
        await core.stop()


async def _core_only(cfg: Config, url: str) -> None:
    stop = stop_on_signals()
    async with _local_core(cfg, url):
        await stop.wait()


def run_core(args: argparse.Namespace) -> int:
    """``cxpulse core``: only the streaming core, against an existing NATS."""
    cfg = load_config(args.config)
    url = args.nats_url or cfg.nats.url
    if not url:
        raise SystemExit("cxpulse core: needs --nats-url or [nats] url")
    asyncio.run(_core_only(cfg, url))
    return 0


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    embedded = None
    url = cfg.nats.url
    if not url:
        embedded = start_embedded_nats(cfg)
        url = embedded.url
    try:
        asyncio.run(_serve(cfg, args, url, embedded))
    finally:
        if embedded:
            embedded.stop()
    return 0
