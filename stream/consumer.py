"""The core's NATS consumer: a thin adapter that feeds the pure ``MetricsEngine``.

Order of work per batch: fetch from the durable pull consumer -> validate each message
(bad ones to the DLQ with their reason) -> apply the valid ones -> ack each message -> tell
readers which scopes changed. Acks are explicit: with ack-all, a delivery lost in transit
when a NATS node dies would be acknowledged by a later one and never come back. The state
is snapshotted to JetStream (object store + a KV manifest holding the last applied stream
sequence); on start the consumer loads the snapshot and replays the stream from the next
sequence, so a ``kill -9`` at any moment loses nothing and counts nothing twice.

Reading is not done here: ``stream.local.LocalReader`` reads the engine in this process,
``stream.rollup`` answers the roll-up queries of other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from stream import heap, snapshot
from stream.clock import Clock, wall_ms
from stream.config import StreamSettings
from stream.core_state import SnapshotStore
from stream.engine import MetricsEngine
from stream.events import InputEvent, Limits, Rejection, validate_event
from stream.nats_io import connect, ensure_streams, publish_dead_letter, publish_input, stream_names
from stream.natscreds import Login
from stream.pull import BatchPuller, delivery
from stream.readmodel import ChangeFeed
from stream.rollup import serve_queries
from stream.state import EngineSnapshot, SnapshotMismatch
from stream.subjects import Subjects
from stream.tasks import cancel_all, within

log = logging.getLogger("cxpulse.core")
CONSUMER = "core"
VOICE_CONSUMER = "core-voice"
EXPIRE_EVERY_S = 3600.0
ACK_WAIT_S = 10.0  # a delivery lost in transit (NATS node death) comes back after this
Decoded = tuple[str, str, tuple[InputEvent, int] | Rejection]  # source, subject, result


@dataclass(frozen=True)
class Feed:
    """One stream the core consumes: the input feeds, or the voice worker's utterances."""

    name: str
    stream: str
    consumer: str
    puller: BatchPuller


class CoreConsumer:
    """Consumes the input (and, on worker 0, the voice) stream into one engine."""

    def __init__(self, cfg: StreamSettings, nats_url: str, *, clock: Clock = wall_ms,
                 name: str = "cxpulse-core", login: Login | None = None) -> None:
        self.cfg = cfg
        self.url = nats_url
        self.name = name
        self.login = login
        self.clock = clock
        self.subjects = Subjects(cfg.nats.prefix)
        self.names = stream_names(cfg.nats.prefix)
        self.limits = Limits.from_config(cfg.core)
        self.engine = MetricsEngine(cfg)
        self.changes = ChangeFeed()
        scale = cfg.scale
        self.consumer = (CONSUMER if scale.workers == 1
                         else f"{CONSUMER}-{scale.worker}-of-{scale.workers}")
        self.nc: NATS | None = None  # both set by start()
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self.started_at = 0.0
        self._store: SnapshotStore | None = None
        self._feeds: list[Feed] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._query_sub: Any = None
        self._running = False
        self._busy = 0
        self._dlq_floor = 0
        self._since_snapshot = 0
        self._last_snapshot = time.monotonic()
        self._snapshot_task: asyncio.Task[None] | None = None
        self._last_expire = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, load the snapshot, bind the consumers right after it, start consuming."""
        heap.pin_thresholds()
        self.nc = await connect(self.cfg.nats, self.url, self.name, login=self.login)
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, self.cfg)
        self._store = SnapshotStore(self.js, self.names, self.cfg.nats.replicas,
                                    key=self.consumer, clock=self.clock)
        await self._store.open()
        await self._restore()
        self._dlq_floor = await self._last_dead_letter_seq()
        pull = await self._bind_consumer(self.names["input"], self.consumer,
                                         self.engine.last_seq + 1, self._filters())
        self._feeds = [Feed("input", self.names["input"], self.consumer, pull)]
        if self.cfg.scale.worker == 0:  # voice events are few: one worker aggregates them
            vpull = await self._bind_consumer(self.names["voice"], VOICE_CONSUMER,
                                              self.engine.voice_seq + 1, None)
            self._feeds.append(Feed("voice", self.names["voice"], VOICE_CONSUMER, vpull))
        self._query_sub = await serve_queries(self.nc, self.subjects, lambda: self.engine,
                                              self.cfg.scale.worker)
        self._running = True
        self.started_at = time.monotonic()
        self._tasks = [asyncio.create_task(self._consume(f), name=f"cxpulse-core-{f.name}")
                       for f in self._feeds]

    async def stop(self, *, snapshot_state: bool = True) -> None:
        """Stop consuming, store a last snapshot (unless told not to), close NATS."""
        self._running = False
        await cancel_all(self._tasks)
        if snapshot_state and self.nc and self.nc.is_connected:
            await within(self.save_snapshot(), 60, "storing the core's last snapshot")
        elif self._snapshot_task is not None:
            await cancel_all([self._snapshot_task])
        if self.nc:
            if self.nc.is_connected:
                await within(self.nc.flush(), 5, "flushing the core's connection")
            await within(self.nc.close(), 10, "closing the core's connection")

    def status(self) -> dict[str, object]:
        """Connection and consumer state, for ``/api/health``."""
        connected = bool(self.nc and self.nc.is_connected)
        running = bool(self._tasks and not self._tasks[0].done())
        return {
            "status": "ok" if connected and running else "degraded",
            "nats": "connected" if connected else "disconnected",
            "core": "running" if running else "stopped",
            "uptime_s": round(time.monotonic() - self.started_at, 1) if self.started_at else 0,
        }

    async def _restore(self) -> None:
        assert self._store is not None
        started = time.monotonic()
        blob = await self._store.load()
        if blob is None:
            return
        try:
            self.engine = await asyncio.to_thread(
                lambda: MetricsEngine.restore(self.cfg, snapshot.decode(blob)))
            log.info("core: snapshot at seq %d loaded in %.2f s", self.engine.last_seq,
                     time.monotonic() - started)
        except (SnapshotMismatch, msgspec.DecodeError, zlib.error, ValueError) as exc:
            log.warning("core: snapshot not usable (%s); replaying the stream from the start", exc)
            self.engine = MetricsEngine(self.cfg)

    def _filters(self) -> list[str] | None:
        """This worker's partitions (and, for worker 0, anything stored untransformed)."""
        scale = self.cfg.scale
        if scale.workers == 1:
            return None
        filters = [self.subjects.partition_filter(p) for p in scale.owned()]
        if scale.worker == 0:
            filters += self.subjects.input_filters
        return filters

    async def _bind_consumer(self, stream: str, consumer: str, start_seq: int,
                             filters: list[str] | None) -> BatchPuller:
        """(Re)create a durable pull consumer that starts right after the snapshot."""
        assert self.js is not None and self.nc is not None
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(stream, consumer)
        await self.js.add_consumer(stream, ConsumerConfig(
            durable_name=consumer, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start_seq, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1,
            ack_wait=ACK_WAIT_S, max_waiting=512, filter_subjects=filters,
            num_replicas=self.cfg.nats.replicas,
        ))
        return await BatchPuller(self.nc, stream, consumer).start()

    async def _last_dead_letter_seq(self) -> int:
        """Highest input sequence already dead-lettered (so a replay does not repeat it).
        With several workers the last dead letter may be another worker's: rely on
        JetStream's duplicate window (ids ``dlq-input-{seq}``) instead."""
        assert self.js is not None
        if self.cfg.scale.workers > 1:
            return 0
        try:
            info = await self.js.stream_info(self.names["dlq"])
            if not info.state.messages:
                return 0
            msg = await self.js.get_msg(self.names["dlq"], info.state.last_seq)
            return int((msg.headers or {}).get("Cx-Input-Seq", 0))
        except Exception:  # noqa: BLE001 - best effort; JetStream's duplicate window remains
            return 0

    # -- consuming --------------------------------------------------------------------------

    async def _consume(self, feed: Feed) -> None:
        batch = self.cfg.core.batch_size
        while self._running:
            try:
                msgs = await feed.puller.fetch(batch, 0.5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or reconnecting: keep trying
                log.warning("core: fetch failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            if not msgs:
                self.ready.set()
                await self._housekeeping()
                continue
            self._busy += 1
            try:
                await self._process_until_done(feed, msgs)
            finally:
                self._busy -= 1
            await self._housekeeping()

    def _decode(self, feed: Feed, msg: Msg, now_ms: int) -> Decoded:
        """(source, subject as published, (event, ts_ms) or Rejection) of one stored message."""
        if feed.name == "voice":
            voice = self.subjects.voice_of(msg.subject)
            if voice is None:
                return "voice", msg.subject, Rejection("bad_subject", f"subject {msg.subject!r} "
                                                       "is not <prefix>.voice.<location>.<mic>")
            kind, location, mic = voice
            result = validate_event(kind, location, msg.data, now_ms, self.limits, subject_mic=mic)
            if not isinstance(result, Rejection):
                result = self.engine.admit(result[0]) or result
            return kind, msg.subject, result
        parsed = self.subjects.input_of(msg.subject)
        if parsed is None:
            parts = msg.subject.split(".")  # undo the partition transform: cx.part.N.<rest>
            subject = (".".join([parts[0], *parts[3:]]) if len(parts) > 3 and parts[1] == "part"
                       else msg.subject)
            return "unknown", subject, Rejection(
                "bad_subject", f"subject {subject!r} is not "
                f"{self.cfg.nats.prefix}.<feed>.<location> with a location of [a-z0-9_-]{{1,64}}")
        kind, location, published = parsed
        result = validate_event(kind, location, msg.data, now_ms, self.limits)
        if not isinstance(result, Rejection):
            result = self.engine.admit(result[0]) or result
        return kind, published, result

    async def _process_until_done(self, feed: Feed, msgs: list[Msg]) -> None:
        """Retry a batch whose dead letters could not be stored (NATS down, disk full):
        nothing of it is applied or acked before they are, and re-sending them is idempotent
        (``dlq-input-{seq}``), so the retry neither loses nor double-counts."""
        while True:
            try:
                await self._process(feed, msgs)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._running:
                    raise
                log.warning("core: batch at seq %d failed (%s); retrying",
                            delivery(msgs[0])[0], exc)
                await asyncio.sleep(0.5)

    async def _process(self, feed: Feed, msgs: list[Msg]) -> None:
        """decode -> dead-letter the rejected -> apply -> ack -> announce what changed."""
        now_ms = self.clock()
        items: list[tuple[InputEvent, int]] = []
        rejected: list[str] = []
        for msg in msgs:
            kind, published, result = self._decode(feed, msg, now_ms)
            if isinstance(result, Rejection):
                await self._dead_letter(feed, kind, published, msg, result)
                rejected.append(result.code)
            else:
                items.append(result)
        for code in rejected:
            self.engine.reject(code)
        seq = delivery(msgs[-1])[0]
        if feed.name == "voice":
            changed = self.engine.apply_batch(items, voice_seq=seq)
        else:
            changed = self.engine.apply_batch(items, seq)
        await feed.puller.ack(msgs)  # explicit: a delivery lost in transit comes back
        self._since_snapshot += len(msgs)
        self.changes.publish(changed)
        if changed:
            assert self.nc is not None
            await self.nc.publish(self.subjects.changed, msgspec.json.encode(sorted(changed)))

    async def _dead_letter(self, feed: Feed, source: str, subject: str, msg: Msg,
                           rejection: Rejection) -> None:
        assert self.js is not None
        seq = delivery(msg)[0]
        if feed.name == "input" and seq <= self._dlq_floor:
            return  # dead-lettered before a restart
        headers = dict(msg.headers or {})
        headers["Cx-Input-Seq" if feed.name == "input" else "Cx-Voice-Seq"] = str(seq)
        await publish_dead_letter(self.js, self.subjects, source, subject, headers,
                                  msg.data, rejection, msg_id=f"dlq-{feed.name}-{seq}")

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        due = (now - self._last_snapshot >= self.cfg.core.snapshot_interval_s and
               self._since_snapshot > 0)
        busy = self._snapshot_task is not None and not self._snapshot_task.done()
        if (due or self._since_snapshot >= self.cfg.core.snapshot_every_events) and not busy:
            # capture now, between batches; encode and upload while consuming goes on (an
            # inline upload stalled ingest for seconds once the state was large)
            self._snapshot_task = asyncio.create_task(self._store_in_background(self._capture()))
        if now - self._last_expire > EXPIRE_EVERY_S:  # hourly, idle or not: memory stays bounded
            self._last_expire = now
            self.engine.expire(self.clock())

    # -- snapshots --------------------------------------------------------------------------

    async def save_snapshot(self) -> int:
        """Capture the state between batches and store it; returns its stream sequence."""
        if self._snapshot_task is not None:  # one upload at a time (store names alternate)
            with contextlib.suppress(Exception):
                await self._snapshot_task
        return await self._store_snapshot(self._capture())

    def _capture(self) -> EngineSnapshot:
        snap = self.engine.snapshot()
        self._since_snapshot = 0
        self._last_snapshot = time.monotonic()
        return snap

    async def _store_snapshot(self, snap: EngineSnapshot) -> int:
        assert self._store is not None
        blob = await asyncio.to_thread(snapshot.encode, snap)
        await self._store.save(blob, snap.last_seq)
        return snap.last_seq

    async def _store_in_background(self, snap: EngineSnapshot) -> None:
        try:
            await self._store_snapshot(snap)
        except Exception as exc:  # noqa: BLE001 - retried at the next interval
            log.warning("core: snapshot failed: %s", exc)
        del snap  # the copy, the chunks and the blob are garbage now: give the pages back
        heap.trim()

    # -- writing (server, integrators) and waiting ------------------------------------------

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None:
        """Validate like the consumer would, then publish to JetStream with its id."""
        assert self.js is not None
        return await publish_input(self.js, self.subjects, kind, location, payload,
                                   self.clock(), self.limits)

    async def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """True once every message in the consumed streams has been applied."""
        assert self.js is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            idle = not self._busy
            for feed in self._feeds:
                try:
                    info = await self.js.consumer_info(feed.stream, feed.consumer)
                except Exception:  # noqa: BLE001 - NATS reconnecting: ask again
                    info = None
                idle = idle and bool(info) and not info.num_pending and not info.num_ack_pending
            if idle and not self._busy:
                return True
            await asyncio.sleep(0.02)
        return False
