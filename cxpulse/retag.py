"""``cxpulse comments retag [--since DATE]``: recompute the tags of archived comments with
the ``[comments]`` configuration of ``--config``, so a topic added or changed applies to
the past too (``archive.retag``).

Run it after changing the topics and restarting (new comments are then tagged the new way
already). Where it writes, as ``cxpulse import`` does:

- a deployment is running (its NATS answers and an archive writer leads): pages of
  comments are read from the writer and their new tags sent back; tagging runs in this
  process, never in the server beside the live core;
- nothing is running: the archive file is opened directly (``--direct`` forces it; DuckDB
  locks the file, so this fails while another process holds it).

On a terminal a progress line is redrawn in place (``\\r``); a summary ends the run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from archive.comments import TextHooks
from archive.retag import Call, RetagRequest, RetagSummary, retag_all
from archive.retag import serve as serve_retag
from archive.service import ArchiveService
from archive.store import ArchiveStore
from cxpulse.config import Config, load_config
from cxpulse.connections import connect_as
from stream.clock import wall_ms


class Progress:
    """``[#####     ]  42.0%  8,400 of 20,000 comments  1,930/s  changed 312`` on a tty."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out, self.enabled = out, enabled
        self.started = self.last = time.monotonic()

    def __call__(self, s: RetagSummary, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        frac = min(s.read / s.total, 1.0) if s.total else 1.0
        rate = s.read / max(now - self.started, 1e-6)
        self.out.write(f"\r[{'#' * int(frac * 30):<30}] {frac:6.1%}  {s.read:,} of "
                       f"{s.total:,} comments  {rate:,.0f}/s  changed {s.changed:,} ")
        if final:
            self.out.write("\n")
        self.out.flush()


def since_ms(text: str | None, cfg: Config) -> int:
    """``--since YYYY-MM-DD``: midnight of that day in ``[core] default_timezone``."""
    if not text:
        return 0
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"cxpulse comments retag: --since {text!r} is not YYYY-MM-DD") from None
    zone = ZoneInfo(cfg.core.default_timezone)
    return int(dt.datetime.combine(day, dt.time(), zone).timestamp() * 1000)


@asynccontextmanager
async def _target(cfg: Config, args: argparse.Namespace) -> AsyncIterator[tuple[Call, str]]:
    """The running writer when one answers (see the module docstring), else the file."""
    url = "" if args.direct else (args.nats_url or cfg.nats.url or
                                  f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}")
    nc: Any = None
    if url:
        try:
            nc = await connect_as(cfg, url, "admin", "cxpulse-retag", attempts=1)
            service = ArchiveService(cfg, nc)  # never started: it only forwards
            await service.status()
        except Exception:  # noqa: BLE001 - no NATS, or no writer answers: the file
            if nc is not None:
                await nc.close()
            nc = None
    if nc is not None:
        try:
            yield service.retag, "the running archive writer"
        finally:
            await nc.drain()
        return
    from archive.db import archive_path

    path = args.archive or archive_path(cfg.core.data_dir, cfg.archive.path)
    store = ArchiveStore(cfg, path, memory_limit_mb=cfg.archive.memory_limit_mb,
                         threads=cfg.archive.threads)
    store.open(wall_ms())

    async def local(req: RetagRequest) -> Any:
        return await asyncio.to_thread(serve_retag, store, req)

    try:
        yield local, f"the archive file {path}"
    finally:
        store.close()


async def retag(cfg: Config, args: argparse.Namespace, out: TextIO = sys.stderr) -> RetagSummary:
    tag = TextHooks.default(cfg.comments).tag
    progress = Progress(out, out.isatty())
    async with _target(cfg, args) as (call, where):
        print(f"cxpulse comments retag: {len(cfg.comments.topics)} topics, comments since "
              f"{args.since or 'the beginning'}, in {where}", file=out)
        summary = await retag_all(call, tag, since_ms(args.since, cfg), progress=progress)
    progress(summary, final=True)
    return summary


def run_retag(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    summary = asyncio.run(retag(cfg, args))
    print(f"comments: {summary.read:,} read, {summary.changed:,} re-tagged "
          f"({summary.read - summary.changed:,} unchanged)")
    return 0


def add_parser(sub: Any) -> None:
    com = sub.add_parser("comments", help="comment tools (`cxpulse comments retag -h`)")
    tools = com.add_subparsers(dest="tool", required=True)
    ret = tools.add_parser("retag", help="recompute the topics, sentiment and urgency of "
                                         "archived comments with the current [comments] config")
    ret.add_argument("--since", default=None, metavar="YYYY-MM-DD",
                     help="only comments from this local day on (default: all)")
    ret.add_argument("--config", default="config.toml")
    ret.add_argument("--nats-url", default=None, help="the deployment's NATS (default: config)")
    ret.add_argument("--direct", action="store_true",
                     help="write the archive file directly (no deployment may be running)")
    ret.add_argument("--archive", default=None, help="archive file (default: from config)")
    ret.set_defaults(func=run_retag)
