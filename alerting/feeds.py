"""What fills the voice and device sources, whichever process or machine runs the voice worker.

Everything arrives over NATS, never through in-process hooks, so ``cxpulse voice`` may run
anywhere:

- ``VoiceFeed`` reads the utterances the voice worker keeps in the ``CX_VOICE`` stream
  (``cx.voice.{location}.{mic}``) with an ordered consumer, starting ``lookback_s`` before
  now (the longest window of the ``voice.*`` rules: a restarted alert service counts the
  recent past again), and records each event's ``sources.voice_metrics`` that some rule
  reads, per location, at the utterance's end time. It also listens to the microphones' heartbeats
  (``cx.mic.{location}.{mic}``, core NATS) for the device source: a microphone that sends
  audio is alive even in a quiet room. Terminals and other devices come from the core's
  device view (``CoreReader.devices()``), which ``LastSeen`` reads itself.
- ``FeedNeeds.of(rules)`` says what a rule set reads, so an alert service without voice
  or device rules subscribes to nothing, and keeps only the voice metrics it counts.

Invalid messages are counted and skipped (the core dead-letters bad voice events; a
heartbeat is not worth a dead letter). Until the ``CX_VOICE`` stream exists (the core or
the voice worker creates it) the feed retries every ``retry_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy

from alerting.metricpath import parse_duration_s, parse_metric
from alerting.schema import RuleConfig
from alerting.sources import EventCounter, LastSeen, voice_metrics
from stream.clock import wall_ms
from stream.events import MicHeartbeat, VoiceEvent
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")
MAX_HEARTBEAT_SKEW_MS = 300_000  # a heartbeat from further in the future is ignored
_voice = msgspec.json.Decoder(VoiceEvent)
_heartbeat = msgspec.json.Decoder(MicHeartbeat)


@dataclass(frozen=True, slots=True)
class FeedNeeds:
    """What the rules read: ``voice`` metric names (``anger_events``, ...) over at most
    ``lookback_s``, whether any ``device.*`` rule needs microphone heartbeats, and the
    ``comments`` metric names (``urgent``, ...; ``alerting.commentfeed``)."""

    voice: frozenset[str] = frozenset()
    lookback_s: float = 0.0
    devices: bool = False
    comments: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rules: Iterable[RuleConfig]) -> FeedNeeds:
        voice: set[str] = set()
        comments: set[str] = set()
        lookback_s, devices = 0.0, False
        for rule in rules:
            ref = parse_metric(rule.metric)
            if ref.source == "voice":
                voice.add(ref.name)
                lookback_s = max(lookback_s, parse_duration_s(rule.window))
            if ref.source == "comments":
                comments.add(ref.name)
            devices = devices or ref.source == "device"
        return cls(frozenset(voice), lookback_s, devices, frozenset(comments))


class VoiceFeed:
    """Voice events and microphone heartbeats from NATS into ``counter`` and ``devices``."""

    def __init__(self, nc: NATS, subjects: Subjects, needs: FeedNeeds, counter: EventCounter,
                 devices: LastSeen, *, anger_threshold: float,
                 clock: Callable[[], int] = wall_ms, retry_s: float = 1.0) -> None:
        self.nc = nc
        self.subjects = subjects
        self.needs = needs
        self.counter = counter
        self.devices = devices
        self.anger_threshold = anger_threshold
        self.clock = clock
        self.retry_s = retry_s
        self.counts: Counter[str] = Counter()
        self._subs: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.needs.devices:
            self._subs.append(await self.nc.subscribe(self.subjects.mic_wildcard,
                                                      cb=self._on_heartbeat))
        if self.needs.voice:
            self._task = asyncio.create_task(self._follow_voice(), name="alerts-voice-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    async def _follow_voice(self) -> None:
        """Subscribe once the stream exists; the ordered consumer then re-syncs by itself."""
        # stream times are the server's wall clock, whatever clock the service runs on
        since = dt.datetime.fromtimestamp(wall_ms() / 1000 - self.needs.lookback_s, dt.UTC)
        while True:
            try:
                sub = await self.nc.jetstream().subscribe(
                    self.subjects.voice_wildcard, cb=self._on_voice, ordered_consumer=True,
                    deliver_policy=DeliverPolicy.BY_START_TIME,
                    config=ConsumerConfig(opt_start_time=since))
            except Exception as exc:  # noqa: BLE001 - no stream yet, or NATS away: again
                log.debug("alerts: voice feed not subscribed yet (%s)", exc)
                await asyncio.sleep(self.retry_s)
                continue
            self._subs.append(sub)
            log.info("alerts: reading voice events from %s on", since.isoformat())
            return

    async def _on_voice(self, msg: Any) -> None:
        parsed = self.subjects.voice_of(msg.subject)
        try:
            event = _voice.decode(msg.data)
        except msgspec.DecodeError:
            event = None
        if parsed is None or event is None or parsed[1] != event.location:
            self.counts["voice_invalid"] += 1
            return
        for name in voice_metrics(event, self.anger_threshold):
            if name in self.needs.voice:
                self.counter.record(name, event.location, event.end)
        self.counts["voice_events"] += 1

    async def _on_heartbeat(self, msg: Any) -> None:
        try:
            beat = _heartbeat.decode(msg.data)
        except msgspec.DecodeError:
            self.counts["heartbeats_invalid"] += 1
            return
        if beat.ts > self.clock() + MAX_HEARTBEAT_SKEW_MS:
            self.counts["heartbeats_invalid"] += 1
            return
        self.devices.seen(beat.location, beat.mic, beat.ts)
        self.counts["heartbeats"] += 1
