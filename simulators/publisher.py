"""The publisher adapter: the only simulator code that talks to NATS.

Events go to JetStream with ``publish_async`` (many in flight; ``Nats-Msg-Id`` set to
``{location}:{id}``, ``stream.subjects.msg_id``, so a re-sent event is deduplicated and no
location's id can suppress another's) and ``flush()`` waits for every ack. Incident text is
masked (``text.mask``) before it leaves, as every publisher of the project does. Audio
frames are live data, not history: plain core-NATS publishes, never stored. The connection
is a device's: ``cxpulse simulate`` logs in as the ``device`` user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client as NATS
from nats.js.api import PubAck

from simulators.audio import AudioFrame
from simulators.model import Emission, wire
from stream.events import IncidentEvent
from stream.subjects import Subjects, msg_id
from text import mask

log = logging.getLogger("cxpulse.simulate")


@dataclass
class PublishStats:
    sent: int = 0
    acked: int = 0
    duplicates: int = 0
    errors: int = 0
    audio_frames: int = 0
    last_error: str = ""


class Publisher:
    """Publishes simulated events and audio frames under one subject prefix."""

    def __init__(self, nc: NATS, subjects: Subjects, *, max_pending: int = 4000,
                 ack_timeout_s: float = 30.0) -> None:
        self.nc = nc
        self.js = nc.jetstream(publish_async_max_pending=max_pending)
        self.subjects = subjects
        self.ack_timeout_s = ack_timeout_s
        self.stats = PublishStats()

    def subject_of(self, e: Emission) -> str:
        return self.subjects.input(e.kind, e.location)

    def prepare(self, e: Emission) -> tuple[str, bytes, str]:
        """(subject, payload, Nats-Msg-Id) of an event as it goes out (incident text masked)."""
        event = e.event
        if isinstance(event, IncidentEvent) and event.text:
            event = msgspec.structs.replace(event, text=mask(event.text))
        return self.subject_of(e), wire(event), msg_id(e.location, event.id)

    async def publish_events(self, events: Iterable[Emission]) -> int:
        """Encode, publish and wait for the acks of a batch of events; returns how many."""
        n = 0
        for e in events:
            await self.publish_raw(*self.prepare(e))
            n += 1
        if n:
            await self.flush()
        return n

    async def publish_raw(self, subject: str, payload: bytes, msg_id: str) -> None:
        """Queue one pre-encoded event; blocks only when too many acks are outstanding."""
        future = await self.js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
        future.add_done_callback(self._on_ack)
        self.stats.sent += 1

    def _on_ack(self, future: asyncio.Future[PubAck]) -> None:
        if future.cancelled():
            self.stats.errors += 1
            return
        exc = future.exception()
        if exc is not None:
            self.stats.errors += 1
            self.stats.last_error = repr(exc)
            return
        self.stats.acked += 1
        if future.result().duplicate:
            self.stats.duplicates += 1

    async def flush(self) -> None:
        """Wait until every queued event is acknowledged (or the ack timeout passes)."""
        try:
            await asyncio.wait_for(self.js.publish_async_completed(), self.ack_timeout_s)
        except TimeoutError:
            log.warning("simulate: %d publishes still unacknowledged after %.0f s",
                        self.js.publish_async_pending(), self.ack_timeout_s)
        # the acks' done-callbacks run on later loop turns: let them land in the stats
        loop = asyncio.get_running_loop()
        settle_until = loop.time() + 1.0
        while self.stats.acked + self.stats.errors < self.stats.sent and loop.time() < settle_until:
            await asyncio.sleep(0.001)
        if self.stats.errors:
            log.warning("simulate: %d publish errors (last: %s)", self.stats.errors,
                        self.stats.last_error)

    async def publish_audio(self, location: str, mic: str, frame: AudioFrame) -> None:
        """One microphone frame, over core NATS."""
        await self.nc.publish(self.subjects.audio(location, mic), frame.pcm,
                              headers=frame.headers())
        self.stats.audio_frames += 1
