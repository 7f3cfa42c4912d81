"""``cxpulse archive``: only the archive (writer or follower) against an existing NATS.

For a dedicated archive node, or to run the writer apart from ``cxpulse run``. It takes
the writer lease like any instance, so it can stand beside ``cxpulse run`` processes.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from archive.comments import TextHooks
from archive.service import ArchiveService
from cxpulse.config import Config, load_config
from cxpulse.connections import connect_as
from stream.nats_io import ensure_streams, serve_until, stop_on_signals


async def _archive_only(cfg: Config, url: str) -> None:
    stop = stop_on_signals()
    nc = await connect_as(cfg, url, "archive", "cxpulse-archive")
    await ensure_streams(nc.jetstream(), cfg)
    service = ArchiveService(cfg, nc, hooks=TextHooks.default(cfg.comments))
    await service.start()
    await serve_until(stop, service, nc)


def run_archive(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    url = args.nats_url or cfg.nats.url
    if not url:
        raise SystemExit("cxpulse archive: needs --nats-url or [nats] url")
    asyncio.run(_archive_only(cfg, url))
    return 0


def add_parser(sub: Any) -> None:
    arc = sub.add_parser("archive", help="run only the archive writer against an existing NATS")
    arc.add_argument("--config", default="config.toml")
    arc.add_argument("--nats-url", default=None)
    arc.set_defaults(func=run_archive)
