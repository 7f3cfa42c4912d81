"""``ArchiveService``: the archive in a ``cxpulse run`` process.

    archive = ArchiveService(cfg, nc, hooks=TextHooks.default())   # nc None: alone
    await archive.start()    # takes the lease or follows; the writer consumes and serves
    await archive.history(HistoryQuery(...)); archive.export(...); await archive.erase(...)
    await archive.stop()     # hands the lease back

One instance per deployment *leads* through a lease in the ``{P}_ARCHIVE`` KV bucket (as
the alert service does, ``stream.lease``): it owns the DuckDB file, runs the writer
(``archive.writer``), refreshes rollups, prunes daily, and answers queries, its own and
those other instances forward over ``{prefix}.archive.query`` (``archive.protocol``). A
follower holds no file; when it takes the lease over it opens the archive under its own
data dir and resumes from the sequences stored there (share the data dir between the
instances that may lead, or the new leader's archive only has what the streams retain).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from archive import protocol as proto
from archive.comments import TextHooks
from archive.config import ArchiveSettings
from archive.db import archive_path
from archive.history import HistoryQuery, HistoryResult, history
from archive.live import CommentPublisher
from archive.metricpath import MetricError
from archive.records import FeedbackPage, FeedbackQuery, copy, export_query, feedback_page, tail
from archive.retag import RetagPage, RetagRequest
from archive.retag import serve as serve_retag
from archive.store import ArchiveStore
from archive.topics import TopicsQuery, TopicsResult, topic_counts
from archive.writer import ArchiveWriter
from stream.clock import wall_ms
from stream.events import Limits, Rejection, validate_event
from stream.lease import LeaseKeeper, instance_name, keep_lease
from stream.nats_io import ensure_kv, stream_names
from stream.subjects import Subjects
from stream.tasks import cancel_all, within

ROLLUP_MAX_DEFER_S = 60.0  # the longest a backlog postpones the periodic rollup refresh
log = logging.getLogger("cxpulse.archive")
T = TypeVar("T")
EXPIRE_EVERY_S = 3600.0


class ArchiveUnavailable(RuntimeError):
    """No archive writer leads right now (or the archive is disabled)."""


class ArchiveError(ValueError):
    """A bad query: ``status`` is the HTTP status (400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def lease_bucket(prefix: str) -> str:
    """The KV bucket of the writer lease: ``{P}_ARCHIVE``."""
    return stream_names(prefix)["input"].removesuffix("_INPUT") + "_ARCHIVE"


def import_limits(cfg: ArchiveSettings) -> Limits:
    """Event-time limits of ``cxpulse import``: the archive's retention, not the live one."""
    return Limits(int(cfg.core.max_clock_skew_s * 1000), cfg.archive.retention_days * 86_400_000)


class ArchiveService:
    def __init__(self, cfg: ArchiveSettings, nc: NATS | None, *, hooks: TextHooks | None = None,
                 clock: Callable[[], int] = wall_ms, path: str | Path | None = None,
                 live_comments: bool = True) -> None:
        """``live_comments``: the writer publishes each new comment (``archive.live``)."""
        self.cfg = cfg
        self.live_comments = live_comments
        self.nc = nc
        self.hooks = hooks
        self.clock = clock
        self.path = Path(path) if path else archive_path(cfg.core.data_dir, cfg.archive.path)
        self.subject = proto.subject(cfg.nats.prefix)
        self.me = instance_name()
        self.leading = False
        self.store: ArchiveStore | None = None
        self.writer: ArchiveWriter | None = None
        self._lease: LeaseKeeper | None = None
        self._sub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lead_tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self.nc is None:
            await self._lead()
            return
        kv = await ensure_kv(self.nc.jetstream(), lease_bucket(self.cfg.nats.prefix),
                             replicas=self.cfg.nats.replicas,
                             description="cxpulse archive writer lease")
        self._lease = LeaseKeeper(kv, self.me, int(self.cfg.archive.lease_s * 1000), self.clock)
        if await self._lease.tick():
            await self._lead()
        self._tasks = [asyncio.create_task(self._keep_lease(), name="archive-lease")]
        log.info("archive: %s", f"leading, file {self.path}" if self.leading
                 else f"following {self._lease.holder}")

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        await self._follow()
        if self._lease is not None:
            await within(self._lease.release(), 5, "releasing the archive lease")

    async def _keep_lease(self) -> None:
        assert self._lease is not None
        await keep_lease(self._lease, self.cfg.archive.lease_s / 3, "archive", lambda: self.leading,
                         self._lead, self._follow)

    async def _lead(self) -> None:
        """Open the file (migrations run here), start the writer and serve queries."""
        store = ArchiveStore(self.cfg, self.path, hooks=self.hooks or TextHooks.default(),
                             memory_limit_mb=self.cfg.archive.memory_limit_mb,
                             threads=self.cfg.archive.threads)
        started = time.monotonic()
        await asyncio.to_thread(store.open, self.clock())
        self.store = store
        if self.nc is not None:
            live = (CommentPublisher(self.nc, Subjects(self.cfg.nats.prefix))
                    if self.live_comments else None)
            self.writer = ArchiveWriter(self.cfg, self.nc, store, clock=self.clock, comments=live)
            await self.writer.start()
            self._sub = await self.nc.subscribe(self.subject, cb=self._on_request)
        self.leading = True
        self._lead_tasks = [asyncio.create_task(self._housekeeping(), name="archive-house")]
        log.info("archive: file %s open in %.2f s (applied %s)", self.path,
                 time.monotonic() - started, store.applied)

    async def _follow(self) -> None:
        self.leading = False
        await cancel_all(self._lead_tasks)
        self._lead_tasks = []
        if self._sub is not None:
            await within(self._sub.unsubscribe(), 5, "unsubscribing from archive queries")
            self._sub = None
        if self.writer is not None:
            await within(self.writer.stop(), 30, "stopping the archive writer")
            self.writer = None
        if self.store is not None:
            store, self.store = self.store, None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(store.refresh)
            await asyncio.to_thread(store.close)

    async def _housekeeping(self) -> None:
        last_expire = last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self.cfg.archive.rollup_interval_s)
            store = self.store
            if store is None:
                return
            if self._defer_rollups(last_refresh):
                continue
            try:
                last_refresh = time.monotonic()
                await asyncio.to_thread(store.refresh)
                if time.monotonic() - last_expire > EXPIRE_EVERY_S:
                    last_expire = time.monotonic()
                    await asyncio.to_thread(store.expire, self.clock())
                await self._prune_if_due(store)
            except Exception:
                log.exception("archive: housekeeping failed")

    def _defer_rollups(self, last_refresh: float) -> bool:
        """Catch up first: while the writer drains a backlog (full batches), the periodic
        refresh would stall its writes for the rollups of days still being filled. It waits,
        at most ``ROLLUP_MAX_DEFER_S`` after the last one; a history query refreshes before
        it reads anyway."""
        behind = self.writer is not None and self.writer.behind
        return behind and time.monotonic() - last_refresh < ROLLUP_MAX_DEFER_S

    async def _prune_if_due(self, store: ArchiveStore) -> None:
        now = dt.datetime.fromtimestamp(self.clock() / 1000,
                                        ZoneInfo(self.cfg.core.default_timezone))
        if (store.applied.get("pruned") == now.date().toordinal()
                or now.strftime("%H:%M") < self.cfg.archive.prune_at):
            return  # done today (by this or an earlier process), or not yet time
        deleted = await asyncio.to_thread(store.prune, self.clock(),
                                          self.cfg.archive.retention_days, now.date())
        log.info("archive: pruned rows older than %d days: %s", self.cfg.archive.retention_days,
                 deleted)

    # ---- serving (leader) -----------------------------------------------------------------

    def _execute(self, req: Any) -> bytes:
        """Run one request against the local store (in a worker thread)."""
        store = self.store
        if store is None:
            raise ArchiveUnavailable("this instance does not hold the archive")
        try:
            if isinstance(req, proto.HistoryRequest):
                store.refresh()
                return proto.ENCODER.encode(history(store.reader(), self.cfg, store.geo,
                                                    req.query, req.now_ms))
            if isinstance(req, proto.FeedbackRequest):
                return proto.ENCODER.encode(feedback_page(store.reader(), store.geo, req.query,
                                                          req.now_ms))
            if isinstance(req, proto.EraseRequest):
                return proto.ENCODER.encode(store.erase(req.who, self.clock(),
                                                        location=req.location,
                                                        session=req.session, event_id=req.id))
            if isinstance(req, proto.ImportRequest):
                return proto.ENCODER.encode(self._import(store, req))
            if isinstance(req, proto.TopicsRequest):
                return proto.ENCODER.encode(topic_counts(store.reader(), store.geo, req.query,
                                                         store.hooks.topic_ids))
            if isinstance(req, RetagRequest):
                return proto.ENCODER.encode(serve_retag(store, req))
            return proto.ENCODER.encode(self._status(store))
        except MetricError as exc:
            raise ArchiveError(str(exc)) from exc
        except LookupError as exc:
            raise ArchiveError(str(exc).strip("'\""), 404) from exc
        except ValueError as exc:  # a bad period of a topics query
            raise ArchiveError(str(exc)) from exc

    def _import(self, store: ArchiveStore, req: proto.ImportRequest) -> proto.ImportReply:
        limits = import_limits(self.cfg)
        items: list[tuple[Any, int]] = []
        rejected: dict[str, int] = {}
        for kind, location, payload in req.events:
            result = validate_event(kind, location, payload, req.now_ms, limits)
            if isinstance(result, Rejection):
                rejected[result.code] = rejected.get(result.code, 0) + 1
            else:
                items.append(result)
        written = store.import_events(items, req.now_ms)
        return proto.ImportReply(written.stored, written.duplicates, rejected)

    def _status(self, store: ArchiveStore) -> dict[str, object]:
        size = self.path.stat().st_size if self.path.exists() else 0
        out: dict[str, object] = {"role": "writer", "instance": self.me, "file_bytes": size,
                                  "applied": dict(store.applied), "rows": store.counts()}
        if self.writer is not None:
            out["skipped"] = dict(self.writer.skipped)
        return out

    async def _on_request(self, msg: Msg) -> None:
        try:
            req = proto.REQUESTS.decode(msg.data)
        except msgspec.DecodeError as exc:
            await msg.respond(proto.ENCODER.encode(proto.Reply(error=f"bad request: {exc}",
                                                               status=400)))
            return
        if isinstance(req, proto.ExportRequest):
            await self._stream_export(req, msg.reply)
            return
        try:
            reply = proto.Reply(result=await asyncio.to_thread(self._execute, req))
        except ArchiveError as exc:
            reply = proto.Reply(error=str(exc), status=exc.status)
        except Exception as exc:
            log.exception("archive: forwarded request failed")
            reply = proto.Reply(error=f"archive failed: {exc}", status=503)
        with contextlib.suppress(Exception):
            await msg.respond(proto.ENCODER.encode(reply))

    async def _stream_export(self, req: proto.ExportRequest, inbox: str) -> None:
        assert self.nc is not None
        try:
            async for chunk in self._export_local(req):
                await self.nc.publish(inbox, chunk)
            await self.nc.publish(inbox, b"", headers={proto.END_HEADER: "done"})
        except Exception as exc:  # noqa: BLE001 - reported to the asker
            await self.nc.publish(inbox, b"", headers={proto.ERROR_HEADER: str(exc)[:500]})

    async def _export_local(self, req: proto.ExportRequest) -> AsyncIterator[bytes]:
        """Rows as DuckDB writes them: a CSV is streamed while it is being written, a
        Parquet file once complete (its footer comes last)."""
        store = self.store
        if store is None:
            raise ArchiveUnavailable("this instance does not hold the archive")
        try:
            sql, args = export_query(req.kind, req.scope, store.geo, req.first, req.last)
        except ValueError as exc:
            raise ArchiveError(str(exc)) from exc
        tmp = self.path.parent / "exports" / f"{uuid.uuid4().hex}.{req.format}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        writing = asyncio.create_task(asyncio.to_thread(copy, store.reader(), sql, args, tmp,
                                                        req.format))
        try:
            if req.format == "parquet":
                await writing
            async for chunk in tail(tmp, writing, proto.CHUNK_BYTES):
                yield chunk
            await writing
        finally:
            if not writing.done():
                with contextlib.suppress(BaseException):
                    await writing
            tmp.unlink(missing_ok=True)

    # ---- API (any instance) ---------------------------------------------------------------

    async def _call(self, req: Any, decode: type[T]) -> T:
        if self.leading:
            raw = await asyncio.to_thread(self._execute, req)
        else:
            raw = await self._forward(req)
        return msgspec.msgpack.decode(raw, type=decode)

    async def _forward(self, req: Any) -> bytes:
        if self.nc is None:
            raise ArchiveUnavailable("the archive is not open")
        try:
            msg = await self.nc.request(self.subject, proto.ENCODER.encode(req),
                                        timeout=self.cfg.archive.query_timeout_s)
        except (NoRespondersError, NatsTimeout) as exc:
            raise ArchiveUnavailable("no archive writer answers right now; retry in a few "
                                     "seconds") from exc
        reply = proto.REPLIES.decode(msg.data)
        if reply.error:
            if reply.status >= 500:
                raise ArchiveUnavailable(reply.error)
            raise ArchiveError(reply.error, reply.status)
        return reply.result

    async def history(self, query: HistoryQuery) -> HistoryResult:
        return await self._call(proto.HistoryRequest(query, self.clock()), HistoryResult)

    async def feedback(self, query: FeedbackQuery) -> FeedbackPage:
        return await self._call(proto.FeedbackRequest(query, self.clock()), FeedbackPage)

    async def erase(self, who: str, *, location: str | None = None, session: str | None = None,
                    event_id: str | None = None) -> int:
        return await self._call(proto.EraseRequest(who, location, session, event_id), int)

    async def import_events(self, events: list[tuple[str, str, bytes]]) -> proto.ImportReply:
        return await self._call(proto.ImportRequest(events, self.clock()), proto.ImportReply)

    async def topics(self, query: TopicsQuery) -> TopicsResult:
        return await self._call(proto.TopicsRequest(query), TopicsResult)

    async def retag(self, req: RetagRequest) -> RetagPage:
        return await self._call(req, RetagPage)

    async def status(self) -> dict[str, Any]:
        return await self._call(proto.StatusRequest(), dict)

    def export(self, kind: str, scope: str, first: dt.date | None, last: dt.date | None,
               fmt: Literal["csv", "parquet"] = "csv") -> AsyncIterator[bytes]:
        """The export's bytes, as they are produced."""
        req = proto.ExportRequest(kind, scope, first, last, fmt)
        return self._export_local(req) if self.leading else self._export_remote(req)

    async def _export_remote(self, req: proto.ExportRequest) -> AsyncIterator[bytes]:
        if self.nc is None:
            raise ArchiveUnavailable("the archive is not open")
        queue: asyncio.Queue[Msg] = asyncio.Queue()

        async def on_chunk(msg: Msg) -> None:
            await queue.put(msg)

        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox, cb=on_chunk, pending_msgs_limit=-1,
                                      pending_bytes_limit=-1)
        try:
            await self.nc.publish(self.subject, proto.ENCODER.encode(req), reply=inbox)
            while True:
                try:
                    msg = await asyncio.wait_for(queue.get(), self.cfg.archive.query_timeout_s)
                except TimeoutError as exc:
                    raise ArchiveUnavailable("the archive writer stopped answering") from exc
                headers = msg.headers or {}
                if proto.ERROR_HEADER in headers:
                    raise ArchiveError(headers[proto.ERROR_HEADER])
                if proto.END_HEADER in headers:
                    return
                yield msg.data
        finally:
            await sub.unsubscribe()
