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
from cxpulse.connections import connect_as, embedded_auth, nats_logins
from stream.core import Core
from stream.nats_io import ensure_streams, stop_on_signals
from stream.nats_server import EmbeddedNats, _die_with_parent
from stream.natscreds import Login, login_for
from stream.remote import RemoteReader

log = logging.getLogger("cxpulse.run")


def start_embedded_nats(cfg: Config) -> EmbeddedNats:
    """The embedded nats-server with its generated users (``cxpulse.connections``): no
    anonymous client gets in, each service and device only does its own job."""
    store = Path(cfg.core.data_dir) / "jetstream"
    auth_conf, _ = embedded_auth(cfg)
    server = EmbeddedNats(store, cfg.nats.embedded_host, cfg.nats.embedded_port,
                          auth_conf=auth_conf).start()
    log.info("embedded nats-server on %s (JetStream in %s, users in %s; device credentials: "
             "`cxpulse nats-user device`)", server.url, store, auth_conf.parent)
    return server


def start_simulator(config_path: str, scenario: str, nats_url: str) -> subprocess.Popen[bytes]:
    """``cxpulse simulate`` as a child process; it connects as the device user, like any
    terminal (it finds the login in the data dir itself)."""
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
    logins = nats_logins(cfg)
    try:
        core = await stack.enter_async_context(_reader(cfg, url, logins))
        await stack.enter_async_context(run_components(cfg, core, url, logins,
                                                       dashboards=not args.no_dashboards))
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
async def _reader(cfg: Config, url: str,
                  logins: dict[str, Login]) -> AsyncIterator[Core | RemoteReader]:
    """The core in this process, or, with ``[scale] workers > 1``, the roll-up of the
    partitioned core workers running elsewhere (``cxpulse core``; read as the ``server``
    user, which may query them)."""
    if cfg.scale.workers > 1:
        nc = await connect_as(cfg, url, "server", "cxpulse-readers", logins)
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
    async with _local_core(cfg, url, logins) as core:
        yield core


@contextlib.asynccontextmanager
async def _local_core(cfg: Config, url: str, logins: dict[str, Login]) -> AsyncIterator[Core]:
    """The streaming core in this process, started (snapshot + replay) and stopped."""
    core = Core(cfg, url, login=login_for(logins, "core"))
    await core.start()
    log.info("core: replayed to seq %d, consuming from %s", core.engine.last_seq, url)
    try:
        yield core
    finally:
        await core.stop()


async def _core_only(cfg: Config, url: str) -> None:
    stop = stop_on_signals()
    async with _local_core(cfg, url, nats_logins(cfg)):
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
