"""``cxpulse import PATH [--format jsonl|csv]``: past events into the archive.

Every line is validated as live input is (``archive.importfile``); a bad line is reported
with its number and reason and nothing of it is stored. Valid events go to the archive in
chunks, de-duplicated by (location, id) against what it holds. Where they go:

- a deployment is running (its NATS answers and an archive writer leads): the chunks are
  sent to the writer (``ArchiveService.import_events``); events newer than the live
  retention (``[core] retention_days``) are *also* published to live input
  (``Nats-Msg-Id`` ``{location}:{id}``), so today's metrics count them; the archive has
  them already and skips the stream's copy. Older events go to the archive only.
- nothing is running: the archive file is opened directly (DuckDB locks it, so this fails
  while another process holds it) and every event goes to the archive only.

A summary ends the run; on a terminal a progress line is redrawn in place.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archive.importfile import Format, Line, Summary, read_lines, validate
from archive.service import ArchiveService, ArchiveUnavailable, import_limits
from archive.store import ArchiveStore
from cxpulse.config import Config, load_config
from cxpulse.connections import connect_as
from stream.clock import wall_ms
from stream.events import InputEvent, Rejection
from stream.subjects import Subjects
from stream.windows import DAY_MS

CHUNK_ROWS = 20_000
CHUNK_BYTES = 700_000  # one forwarded request stays under NATS's 1 MB payload limit
MAX_REPORTED = 100
Item = tuple[Line, tuple[InputEvent, int]]


class Counting(io.RawIOBase):
    """A file that counts the bytes read from it (for the progress line)."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.raw, self.done = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer) or 0
        self.done += n
        return n


class Progress:
    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total, self.enabled = max(total_bytes, 1), enabled
        self.started = self.last = time.monotonic()

    def show(self, done_bytes: int, summary: Summary, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        frac = min(done_bytes / self.total, 1.0)
        bar = "#" * int(frac * 30)
        rate = summary.read / max(now - self.started, 1e-6)
        sys.stderr.write(f"\r[{bar:<30}] {frac:6.1%}  {summary.read:,} rows  {rate:,.0f} rows/s ")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


class Sink:
    """Where valid chunks go: the running writer (over NATS) or the file itself."""

    published_live = False

    async def store(self, items: Sequence[Item], summary: Summary) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class DirectSink(Sink):
    def __init__(self, cfg: Config, now_ms: int, path: str | None) -> None:
        self.store_ = ArchiveStore(cfg, path or _path(cfg),
                                   memory_limit_mb=cfg.archive.memory_limit_mb,
                                   threads=cfg.archive.threads)
        self.store_.open(now_ms)
        self.now_ms = now_ms

    async def store(self, items: Sequence[Item], summary: Summary) -> None:
        result = await asyncio.to_thread(self.store_.import_events, [i for _, i in items],
                                         self.now_ms)
        summary.stored += result.stored
        summary.duplicates += result.duplicates

    async def close(self) -> None:
        from archive import rollup

        await asyncio.to_thread(self.store_.refresh)
        await asyncio.to_thread(rollup.compact, self.store_.con)
        self.store_.close()


class ForwardSink(Sink):
    published_live = True

    def __init__(self, cfg: Config, nc: Any, service: ArchiveService, live_after_ms: int) -> None:
        self.nc, self.service, self.live_after_ms = nc, service, live_after_ms
        self.js = nc.jetstream()
        self.subjects = Subjects(cfg.nats.prefix)

    async def store(self, items: Sequence[Item], summary: Summary) -> None:
        part: list[tuple[str, str, bytes]] = []
        size = 0
        for line, _ in items:
            if part and size + len(line.payload) > CHUNK_BYTES:
                await self._send(part, summary)
                part, size = [], 0
            part.append((line.kind, line.location, line.payload))
            size += len(line.payload) + 32
        if part:
            await self._send(part, summary)
        for line, (ev, ts) in items:  # the live core sees the recent ones too
            if ts >= self.live_after_ms:
                await self.js.publish_async(self.subjects.input(line.kind, ev.location),
                                            line.payload,
                                            headers={"Nats-Msg-Id": f"{ev.location}:{ev.id}"})
                summary.published += 1
        await self.js.publish_async_completed()

    async def _send(self, part: list[tuple[str, str, bytes]], summary: Summary) -> None:
        reply = await self.service.import_events(part)
        summary.stored += reply.stored
        summary.duplicates += reply.duplicates
        for code, n in reply.rejected.items():
            summary.rejected[code] = summary.rejected.get(code, 0) + n

    async def close(self) -> None:
        await self.nc.drain()


def _path(cfg: Config) -> Path:
    from archive.db import archive_path

    return archive_path(cfg.core.data_dir, cfg.archive.path)


async def _sink(cfg: Config, args: argparse.Namespace, now_ms: int) -> Sink:
    """The running writer when one answers, else the file."""
    url = args.nats_url or cfg.nats.url or (
        f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}" if not args.direct else "")
    if url and not args.direct:
        try:
            # an operator's tool: the admin user (it forwards to the writer and publishes
            # recent events to live input)
            nc = await connect_as(cfg, url, "admin", "cxpulse-import", attempts=1)
        except Exception:  # noqa: BLE001 - nothing running: write the file directly
            nc = None
        if nc is not None:
            service = ArchiveService(cfg, nc)  # never started: it only forwards
            try:
                await service.status()
            except ArchiveUnavailable:
                await nc.close()
            else:
                live_after = now_ms - (cfg.core.retention_days * DAY_MS - 3_600_000)
                return ForwardSink(cfg, nc, service, live_after)
    return DirectSink(cfg, now_ms, args.archive)


async def import_file(cfg: Config, args: argparse.Namespace) -> Summary:
    path = Path(args.path)
    fmt: Format = args.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    now_ms = wall_ms()
    limits = import_limits(cfg)
    sink = await _sink(cfg, args, now_ms)
    where = "the running archive writer" if isinstance(sink, ForwardSink) else "the archive file"
    print(f"cxpulse import: {path} ({fmt}) into {where}", file=sys.stderr)
    summary = Summary()
    reported = 0
    raw = Counting(path.open("rb", buffering=0))
    progress = Progress(path.stat().st_size, sys.stderr.isatty())
    chunk: list[Item] = []
    try:
        for item in read_lines(io.BufferedReader(raw, 1 << 20), fmt):
            summary.read += 1
            result = item[1] if isinstance(item, tuple) else validate(item, now_ms, limits)
            if isinstance(result, Rejection):
                summary.reject(result.code)
                if reported < MAX_REPORTED:
                    number = item[0] if isinstance(item, tuple) else item.number
                    print(f"\nline {number}: {result.code}: {result.reason}", file=sys.stderr)
                    reported += 1
                continue
            assert isinstance(item, Line)
            chunk.append((item, result))
            if len(chunk) >= CHUNK_ROWS:
                await sink.store(chunk, summary)
                chunk = []
                progress.show(raw.done, summary)
        if chunk:
            await sink.store(chunk, summary)
    finally:
        await sink.close()
        raw.close()
    progress.show(raw.done, summary, final=True)
    if sum(summary.rejected.values()) > reported:
        print(f"({sum(summary.rejected.values()) - reported:,} more rejected lines not shown)",
              file=sys.stderr)
    return summary


def run_import(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    summary = asyncio.run(import_file(cfg, args))
    print(summary.text())
    return 0 if not summary.rejected else 1


def add_parser(sub: Any) -> None:
    imp = sub.add_parser("import", help="load past events (JSON lines or CSV) into the archive")
    imp.add_argument("path")
    imp.add_argument("--format", choices=("jsonl", "csv"), default=None,
                     help="default: csv for *.csv, else jsonl")
    imp.add_argument("--config", default="config.toml")
    imp.add_argument("--nats-url", default=None, help="the deployment's NATS (default: config)")
    imp.add_argument("--direct", action="store_true",
                     help="write the archive file directly (no deployment may be running)")
    imp.add_argument("--archive", default=None, help="archive file (default: from config)")
    imp.set_defaults(func=run_import)
