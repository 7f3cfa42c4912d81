"""``AlertService``: the alert service as ``cxpulse run`` starts it, and its API for the server.

    service = AlertService(cfg, nc, core)   # core implements CoreReader
    await service.start()                   # restores state from JetStream, starts the loop
    ...                                     # server: list_alerts, acknowledge, add_silence...
    await service.stop()

It assembles the parts: the sources (``sources.py``: the core's metrics, voice events and
device last-seen; ``feeds.py`` fills the last two from NATS, so the voice worker may run in
any process on any machine), the evaluation loop (``evaluation.py``), the state
store (``store.py``), the sinks (``sinks.py``) and, with NATS, the leadership among several
instances (``leadership.py``): one leads (evaluates, saves, notifies), the others follow the
saved state for reads and forward acknowledgements and silences to it. Without NATS the
service is alone and leads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

import httpx
from nats.aio.client import Client as NATS

from alerting.commentfeed import CommentFeed
from alerting.config import AlertingSettings
from alerting.control import AlertsUnavailable, ControlReply, ControlRequest
from alerting.engine import AlertEngine, AlertInputError
from alerting.evaluation import Evaluator
from alerting.feeds import FeedNeeds, VoiceFeed
from alerting.leadership import Leadership
from alerting.model import AlertView, EngineSnapshot, SilenceView, StepResult
from alerting.schedule import calendars_from_config
from alerting.schema import RuleConfig
from alerting.sinks import AlertFeed, AlertSubscription, Outputs
from alerting.sources import CaseSource, EventCounter, LastSeen, MetricSource
from alerting.store import SnapshotStore, open_store
from stream.access import alert_visible
from stream.clock import wall_ms
from stream.lease import instance_name
from stream.readmodel import CoreReader, Subscription
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")

__all__ = ["AlertInputError", "AlertService", "AlertsUnavailable"]


class AlertService:
    """Rules against a ``CoreReader``; state in JetStream; API for the server."""

    def __init__(self, cfg: AlertingSettings, nc: NATS | None, reader: CoreReader, *,
                 clock: Callable[[], int] | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.cfg = cfg
        self.nc = nc
        self.reader = reader
        self.clock = clock or wall_ms
        self.calendars = calendars_from_config(cfg)
        self.needs = FeedNeeds.of(cfg.alerts.rules)
        self.voice = EventCounter(max(self.needs.lookback_s, 3600.0))
        self.devices = LastSeen(reader.devices)
        self.comments = EventCounter()  # comments.* rules (alerting.commentfeed)
        self.feed = AlertFeed()
        self.outputs = Outputs(cfg.alerts.webhooks, http)
        self.evaluator = Evaluator(cfg, reader, self.calendars,
                                   {"voice": self.voice, "device": self.devices,
                                    "comments": self.comments, "case": CaseSource(reader)},
                                   self.feed, self.outputs, self.clock)
        self.me = instance_name()
        self.leading = nc is None  # alone without NATS; else decided by the lease
        self._subjects = Subjects(cfg.nats.prefix)
        self._leadership: Leadership | None = None
        self._changes: Subscription | None = None
        self._voice_feed: VoiceFeed | None = None
        self._comment_feed: CommentFeed | None = None

    @property
    def engine(self) -> AlertEngine:
        return self.evaluator.engine

    @property
    def sources(self) -> dict[str, MetricSource]:
        return self.evaluator.sources

    @property
    def last_eval_ms(self) -> int | None:
        return self.evaluator.last_eval_ms

    def add_source(self, name: str, source: MetricSource) -> None:
        """Serve rules whose metric starts with ``name.`` from ``source``."""
        self.evaluator.sources[name] = source

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Restore state, start the sinks, then lead (evaluate) or follow."""
        store: SnapshotStore | None = None
        js = self.nc.jetstream() if self.nc is not None else None
        if js is not None:
            store = await open_store(js, self.cfg)
        self.evaluator.store = store
        self.evaluator.adopt(await store.load() if store is not None else None)
        now = self.clock()
        self.devices.start(now)  # unheard devices are unknown, not silent, for a while
        for loc in self.cfg.locations:
            for device in loc.devices:
                self.devices.expect(loc.id, device, now)
        self.outputs.start(js, self._subjects)
        if self.nc is not None:
            self._voice_feed = VoiceFeed(self.nc, self._subjects, self.needs, self.voice,
                                         self.devices, clock=self.clock,
                                         anger_threshold=self.cfg.voice.anger_threshold)
            await self._voice_feed.start()
            self._comment_feed = CommentFeed(self.nc, self._subjects, self.needs.comments,
                                             self.comments, self.clock)
            await self._comment_feed.start()
        self._changes = self.reader.changes.subscribe()
        if self.nc is not None and store is not None:
            self._leadership = Leadership(self.nc, store, self._subjects.alert_control,
                                          self.cfg.alerts.lease_s, self.me, self.clock, self)
            await self._leadership.start()
        else:
            await self.lead(reload=False)
        log.info("alerts: %d rules, %d live alerts restored, %d webhooks; %s",
                 len(self.engine.rules), len(self.engine.alerts()), len(self.outputs.webhooks),
                 "leading" if self.leading else f"following {self._leader()}")

    async def stop(self) -> None:
        """Stop evaluating, save the state, hand the lease back, give queued messages a
        moment to go out."""
        was_leading = self.leading
        if self._voice_feed is not None:
            await self._voice_feed.stop()
            self._voice_feed = None
        if self._comment_feed is not None:
            await self._comment_feed.stop()
            self._comment_feed = None
        if self._leadership is not None:
            await self._leadership.stop()
        await self.follow()
        if self._changes is not None:
            self._changes.close()
            self._changes = None
        if was_leading:
            await self.evaluator.save_if_dirty()
        if self._leadership is not None:
            await self._leadership.release()
            self._leadership = None
        await self.outputs.stop()

    # ---- driven by the leadership (``leadership.Led``) ----------------------------------

    async def lead(self, *, reload: bool) -> None:
        """Become the evaluating instance; ``reload``: from the state the last leader saved."""
        async with self.evaluator.lock:
            if reload and self.evaluator.store is not None:
                self.evaluator.adopt(await self.evaluator.store.load())
            self.leading = True
        if self._changes is not None:
            self.evaluator.start(self._changes)

    async def follow(self) -> None:
        """Stop evaluating (the lease went elsewhere, or the service stops)."""
        self.leading = False
        await self.evaluator.stop()

    async def mirror(self, snapshot: EngineSnapshot) -> None:
        async with self.evaluator.lock:
            self.evaluator.adopt(snapshot)

    async def serve(self, request: ControlRequest) -> ControlReply:
        """A change a follower forwarded, applied here."""
        if request.op == "acknowledge":
            return ControlReply(alert=await self.acknowledge(request.alert_id, request.who,
                                                             request.comment))
        if request.op == "add_silence":
            return ControlReply(silence=await self.add_silence(
                request.matchers, created_by=request.who, comment=request.comment,
                duration_s=request.duration_s, ends_ms=request.ends_ms,
                starts_ms=request.starts_ms))
        return ControlReply(silence=await self.remove_silence(request.silence_id, request.who))

    def _leader(self) -> str | None:
        if self.leading:
            return self.me
        return self._leadership.holder if self._leadership is not None else None

    async def _forward(self, request: ControlRequest) -> ControlReply:
        if self._leadership is None:
            raise AlertsUnavailable("this alert service is stopped")
        return await self._leadership.forward(request)

    # ---- evaluation ---------------------------------------------------------------------

    async def evaluate(self, changed: Collection[str] | None = None) -> StepResult:
        """One evaluation round now: all scopes, or only ``changed`` ones. A following
        instance does not evaluate (the leader does, and notifies once)."""
        if not self.leading:
            return StepResult()
        return await self.evaluator.evaluate(changed)

    # ---- API for the server ---------------------------------------------------------------

    def list_alerts(self, *, status: str | None = None, severity: str | None = None,
                    locations: Collection[str] | None = None,
                    regions: Collection[str] | None = None,
                    include_suppressed: bool = True) -> list[AlertView]:
        """Live alerts (pending, firing), most severe first; filters combine with AND, and
        ``locations``/``regions`` (a token's scope) combine with OR."""
        return [a for a in self.engine.alerts()
                if (status is None or a.status == status)
                and (severity is None or a.severity == severity)
                and (include_suppressed or not a.suppressed_by)
                and alert_visible(a.labels, locations, regions)]

    def get_alert(self, alert_id: str) -> AlertView | None:
        return self.engine.get(alert_id)

    def history(self, *, limit: int = 100, since_ms: int | None = None, rule: str | None = None,
                locations: Collection[str] | None = None,
                regions: Collection[str] | None = None) -> list[AlertView]:
        """Resolved alerts, newest first."""
        out = [a for a in self.engine.history()
               if (since_ms is None or (a.ends_ms or 0) >= since_ms)
               and (rule is None or a.rule == rule) and alert_visible(a.labels, locations, regions)]
        return out[:max(0, limit)]

    def silences(self, *, include_expired: bool = False) -> list[SilenceView]:
        return [s for s in self.engine.silences(self.clock())
                if include_expired or s.state != "expired"]

    def rules(self) -> list[RuleConfig]:
        return list(self.engine.rules.values())

    async def acknowledge(self, alert_id: str, who: str, comment: str = "") -> AlertView:
        """Raises ``AlertInputError`` (message starts with the field) for a bad request."""
        if not self.leading:
            reply = await self._forward(ControlRequest(op="acknowledge", alert_id=alert_id,
                                                       who=who, comment=comment))
            assert reply.alert is not None
            return reply.alert
        view = await self.evaluator.mutate(
            lambda now: self.engine.acknowledge(alert_id, who, comment, now))
        self.feed.publish([view])
        return view

    async def add_silence(self, matchers: Sequence[str], *, created_by: str, comment: str = "",
                          duration_s: float | None = None, ends_ms: int | None = None,
                          starts_ms: int | None = None) -> SilenceView:
        """Mute alerts matching all ``matchers`` until ``ends_ms`` (or for ``duration_s``)."""
        if (duration_s is None) == (ends_ms is None):
            raise AlertInputError("ends: give either duration_s or ends_ms")
        if not self.leading:
            reply = await self._forward(ControlRequest(
                op="add_silence", matchers=tuple(matchers), who=created_by, comment=comment,
                duration_s=duration_s, ends_ms=ends_ms, starts_ms=starts_ms))
            assert reply.silence is not None
            return reply.silence

        def change(now: int) -> SilenceView:
            start = now if starts_ms is None else starts_ms
            end = (ends_ms if ends_ms is not None
                   else max(start, now) + int((duration_s or 0) * 1000))
            return self.engine.add_silence(matchers, start, end, created_by, comment, now)

        view = await self.evaluator.mutate(change)
        self.feed.publish(silences=[view])
        return view

    async def remove_silence(self, silence_id: str, who: str) -> SilenceView:
        if not self.leading:
            reply = await self._forward(ControlRequest(op="remove_silence",
                                                       silence_id=silence_id, who=who))
            assert reply.silence is not None
            return reply.silence
        view = await self.evaluator.mutate(
            lambda now: self.engine.remove_silence(silence_id, who, now))
        self.feed.publish(silences=[view])
        return view

    def subscribe(self) -> AlertSubscription:
        """Coalescing updates for the ``alerts`` websocket topic (send ``list_alerts`` and
        ``silences`` as the snapshot first, then each update)."""
        return self.feed.subscribe()

    def status(self) -> dict[str, object]:
        """For ``/api/health``: evaluation time, alert counts, sink counters."""
        live = self.engine.alerts()
        return {"last_eval_ms": self.last_eval_ms, "rules": len(self.engine.rules),
                "role": "leader" if self.leading else "follower", "instance": self.me,
                "leader": self._leader(),
                "firing": sum(a.status == "firing" for a in live),
                "pending": sum(a.status == "pending" for a in live),
                "sinks": self.outputs.stats()}
