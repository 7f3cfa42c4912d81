"""The archive writer: durable JetStream pull consumers of its own, one DuckDB transaction
per batch.

Order of work per batch: fetch from the consumer -> decode each message by the core's
rules (``archive.intake``; refused ones are skipped, the core dead-letters them) -> write
the new events together with the batch's last stream sequence in ONE transaction
(``ArchiveStore.write``, in a worker thread, while the next batch is fetched and decoded;
one write at a time, so batches commit in stream order) -> ack. On start each consumer is
(re)created to deliver from the sequence after the stored one, so a crash between commit
and ack redelivers nothing twice and a crash before the commit loses nothing.

Feeds: ``{P}_INPUT`` (feedback, flow, incidents), ``{P}_VOICE`` (utterances, encounters)
and ``{P}_ALERTS`` (alert state changes; bound when the alert service has created it).
After the ack, the batch's new comments go live through ``comments`` (``archive.live``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from archive.config import ArchiveSettings
from archive.intake import Intake
from archive.live import CommentPublisher
from archive.store import ArchiveStore
from stream.events import InputEvent, Rejection
from stream.nats_io import stream_names
from stream.pull import BatchPuller, delivery, pending_after
from stream.tasks import cancel_all, within

log = logging.getLogger("cxpulse.archive")
ACK_WAIT_S = 30.0
FEEDS = ("input", "voice", "alerts")


@dataclass
class Feed:
    name: str  # input | voice | alerts
    stream: str
    consumer: str
    puller: BatchPuller


def stored_ms(msg: Msg) -> int:
    """When JetStream stored the message (epoch ms)."""
    return delivery(msg)[1]


class ArchiveWriter:
    """Consumes the streams into a store until stopped."""

    def __init__(self, cfg: ArchiveSettings, nc: NATS, store: ArchiveStore, *,
                 clock: Callable[[], int], comments: CommentPublisher | None = None) -> None:
        self.cfg = cfg
        self.comments = comments
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.store = store
        self.clock = clock
        self.names = stream_names(cfg.nats.prefix)
        self.intake = Intake(cfg)
        self.feeds: dict[str, Feed] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self.applied = 0
        self.skipped: dict[str, int] = {}
        self.busy = 0
        self.behind = False  # a batch or more was still pending after the last fetch

    async def start(self) -> None:
        locations = [r[0] for r in self.store.reader().execute(
            "SELECT DISTINCT location FROM feedback_daily UNION "
            "SELECT DISTINCT location FROM flow_daily").fetchall()]
        csi = [(f, q) for f, q in self.store.reader().execute(
            "SELECT DISTINCT factor, question FROM csi_daily").fetchall()]
        self.intake.seed(locations, csi)
        self._running = True
        for name in FEEDS:
            await self._bind(name)
        self._tasks = [asyncio.create_task(self._consume(name), name=f"archive-{name}")
                       for name in FEEDS]

    async def stop(self) -> None:
        self._running = False
        await cancel_all(self._tasks)
        for feed in self.feeds.values():
            await within(feed.puller.stop(), 5, f"unsubscribing from {feed.stream}")
        self._tasks, self.feeds = [], {}

    async def _bind(self, name: str) -> bool:
        """(Re)create the feed's durable consumer right after the stored sequence; False
        when its stream does not exist (yet)."""
        stream = self.names[name]
        consumer = f"archive-{name}"
        start = self.store.applied.get(name, 0) + 1
        try:
            with contextlib.suppress(NotFoundError):
                await self.js.delete_consumer(stream, consumer)
            await self.js.add_consumer(stream, ConsumerConfig(
                durable_name=consumer, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1,
                ack_wait=ACK_WAIT_S, max_waiting=512, num_replicas=self.cfg.nats.replicas))
        except NotFoundError:
            return False
        puller = await BatchPuller(self.nc, stream, consumer, linger_s=0.02).start()
        self.feeds[name] = Feed(name, stream, consumer, puller)
        return True

    async def _consume(self, name: str) -> None:
        """Fetch and decode batch N + 1 while batch N is written (in a worker thread)."""
        batch = self.cfg.archive.batch_size
        writing: asyncio.Task[None] | None = None
        while self._running:
            feed = self.feeds.get(name)
            if feed is None:  # the alerts stream appears when the alert service starts
                await asyncio.sleep(5.0)
                with contextlib.suppress(Exception):
                    await self._bind(name)
                continue
            try:
                msgs = await feed.puller.fetch(batch, 1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS down or reconnecting: keep trying
                log.warning("archive: fetch from %s failed (%s); retrying", feed.stream, exc)
                await asyncio.sleep(0.5)
                continue
            self.behind = bool(msgs) and pending_after(msgs[-1]) >= batch
            if not msgs:
                continue
            decoded = self._decode(feed, msgs)
            if writing is not None:  # one write in flight: batches commit in stream order
                await writing
            writing = asyncio.create_task(self._until_written(feed, msgs, *decoded))
        if writing is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writing

    async def _until_written(self, feed: Feed, msgs: list[Msg],
                             items: list[tuple[InputEvent, int]],
                             alerts: list[tuple[int, int, dict[str, Any], str]]) -> None:
        """Write then ack; a failed write (disk full...) is retried, never acked."""
        self.busy += 1
        seq = delivery(msgs[-1])[0]
        try:
            while self._running:
                try:
                    written = await asyncio.to_thread(self.store.write, items, {feed.name: seq},
                                                      alerts=alerts)
                    self.applied += written.stored
                    await feed.puller.ack(msgs)
                    if self.comments is not None and written.comments:
                        await self.comments.publish(written.comments, self.clock())
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("archive: batch at %s seq %d failed; retrying", feed.stream,
                                  delivery(msgs[0])[0])
                    await asyncio.sleep(1.0)
        finally:
            self.busy -= 1

    def _decode(self, feed: Feed, msgs: list[Msg]) -> tuple[
            list[tuple[InputEvent, int]], list[tuple[int, int, dict[str, Any], str]]]:
        """The batch's events by the core's rules (skipping what it refuses), or its alert
        state changes; decoded while the previous batch is being written."""
        items: list[tuple[InputEvent, int]] = []
        alerts: list[tuple[int, int, dict[str, Any], str]] = []
        for msg in msgs:
            if feed.name == "alerts":
                view = _alert_view(msg.data)
                if view is not None:
                    alerts.append((*delivery(msg), view,
                                   msg.data.decode("utf-8", "replace")))
                continue
            result = self.intake.decode(feed.name, msg.subject, msg.data, stored_ms(msg))
            if isinstance(result, Rejection):
                self.skipped[result.code] = self.skipped.get(result.code, 0) + 1
            else:
                items.append(result)
        return items, alerts

    async def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """True once every message of the bound streams has been written and acked."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            idle = not self.busy
            for feed in list(self.feeds.values()):
                try:
                    info = await self.js.consumer_info(feed.stream, feed.consumer)
                except Exception:  # noqa: BLE001 - reconnecting: ask again
                    info = None
                idle = (idle and info is not None and not info.num_pending
                        and not info.num_ack_pending)
            if idle and not self.busy:
                return True
            await asyncio.sleep(0.05)
        return False


def _alert_view(payload: bytes) -> dict[str, Any] | None:
    try:
        view = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return None
    return view if isinstance(view, dict) else None
