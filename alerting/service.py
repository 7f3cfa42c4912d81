"""``AlertService``: the async shell around the pure engine, started by ``cxpulse run``.

    service = AlertService(cfg, nc, core)   # core implements CoreReader
    await service.start()                   # restores state from JetStream, starts the loop
    ...                                     # server: list_alerts, acknowledge, add_silence...
    await service.stop()

Several instances may share one NATS (``cxpulse run`` on two hosts): one *leads* through a
lease in the alert KV bucket (``lease.py``) and evaluates, saves and notifies; the others
*follow* the saved state for reads and forward acknowledgements and silences to the leader
(``control.py``). Without NATS the service is alone and leads.

It evaluates the rules on every tick of the core's change feed (only the scopes that
changed, at most every ``min_eval_gap_s``) and on a timer (all scopes, every
``eval_interval_s``, which also drives ``for``, schedules and silence expiry). After each
step it saves the snapshot to the KV bucket *first*, then fans out: NATS, webhooks, log, the
in-process feed. Voice and device feeds plug in through ``voice.record(...)`` and
``devices.seen(...)``, or any ``MetricSource`` via ``add_source``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

import httpx
import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from alerting.config import AlertingSettings
from alerting.control import AlertsUnavailable, ControlReply, ControlRequest
from alerting.engine import AlertEngine, AlertInputError
from alerting.model import AlertView, EngineSnapshot, SilenceView, StepResult
from alerting.schedule import calendars_from_config
from alerting.schema import RuleConfig
from alerting.sinks import (
    AlertFeed,
    AlertSubscription,
    Message,
    NatsSink,
    WebhookSink,
    log_step,
)
from alerting.sources import (
    CoreSource,
    EventCounter,
    LastSeen,
    MetricSource,
    Topology,
    collect,
    topology_of,
)
from alerting.store import SnapshotStore, decode_snapshot, ensure_alert_stream
from stream.access import alert_visible
from stream.clock import wall_ms
from stream.lease import LeaseKeeper, instance_name
from stream.readmodel import CoreReader
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")
T = TypeVar("T")

__all__ = ["AlertInputError", "AlertService", "AlertsUnavailable"]
CONTROL_TIMEOUT_S = 5.0




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
        self.voice = EventCounter()
        self.devices = LastSeen(getattr(reader, "devices", None))
        self._core = CoreSource(reader)
        self.sources: dict[str, MetricSource] = {"core": self._core, "voice": self.voice,
                                                 "device": self.devices}
        self.engine = AlertEngine(cfg.alerts, self.calendars)
        self.feed = AlertFeed()
        self._http, self._own_http = http, http is None
        self._webhooks: list[WebhookSink] = []
        self._nats: NatsSink | None = None
        self._store: SnapshotStore | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None
        self._last_full_ms = 0
        self._dirty = False
        self.last_eval_ms: int | None = None
        self.me = instance_name()
        self.leading = nc is None  # alone without NATS; else decided by the lease
        self._lease: LeaseKeeper | None = None
        self._side_tasks: list[asyncio.Task[None]] = []
        self._control_sub: Any = None
        self._watcher: Any = None
        self._stopping = False
        self._subjects = Subjects(cfg.nats.prefix)

    def add_source(self, name: str, source: MetricSource) -> None:
        """Serve rules whose metric starts with ``name.`` from ``source``."""
        self.sources[name] = source

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Restore state, start the sinks and the evaluation loop."""
        self._stopping = False
        snapshot = None
        if self.nc is not None:
            js = self.nc.jetstream()
            await ensure_alert_stream(js, self.cfg)
            self._store = SnapshotStore(js, self.cfg)
            await self._store.open()
            snapshot = await self._store.load()
            self._nats = NatsSink(js, Subjects(self.cfg.nats.prefix))
            self._nats.start()
        self.engine = AlertEngine(self.cfg.alerts, self.calendars, snapshot)
        now = self.clock()
        for loc in self.cfg.locations:
            for device in loc.devices:
                self.devices.expect(loc.id, device, now)
        if self.cfg.alerts.webhooks:
            if self._http is None:
                self._http = httpx.AsyncClient()
            for wh in self.cfg.alerts.webhooks:
                sink = WebhookSink(wh, self._http)
                sink.start()
                self._webhooks.append(sink)
        self._sub = self.reader.changes.subscribe()
        if self._store is not None:
            self._lease = LeaseKeeper(self._store.kv, self.me,
                                      int(self.cfg.alerts.lease_s * 1000), self.clock)
            if await self._lease.tick():
                await self._lead(reload=False)
            self._side_tasks = [asyncio.create_task(self._keep_lease(), name="alerts-lease"),
                                asyncio.create_task(self._follow_state(), name="alerts-follow")]
        else:
            await self._lead(reload=False)
        log.info("alerts: %d rules, %d live alerts restored, %d webhooks; %s",
                 len(self.engine.rules), len(self.engine.alerts()), len(self._webhooks),
                 "leading" if self.leading else f"following {self._lease and self._lease.holder}")

    async def stop(self) -> None:
        """Stop evaluating, save the state, hand the lease back, give queued messages a
        moment to go out."""
        self._stopping = True
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                await self._watcher.stop()
        for task in self._side_tasks:
            task.cancel()
        if self._side_tasks:
            await asyncio.wait(self._side_tasks, timeout=2.0)
        self._side_tasks = []
        was_leading = self.leading
        await self._follow()
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        async with self._lock:
            if self._dirty and was_leading:
                await self._persist(self.clock())
        if self._lease is not None:
            await self._lease.release()
        for sink in [*self._webhooks, *([self._nats] if self._nats else [])]:
            await sink.stop()
        self._webhooks, self._nats = [], None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---- leadership ---------------------------------------------------------------------

    async def _lead(self, *, reload: bool) -> None:
        """Become the evaluating instance; ``reload``: from the state the last leader saved."""
        async with self._lock:
            if reload and self._store is not None:
                self._adopt(await self._store.load())
            self.leading = True
        if self.cfg.alerts.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="alerts-loop")
        if self.nc is not None and self._control_sub is None:
            self._control_sub = await self.nc.subscribe(self._subjects.alert_control,
                                                        cb=self._on_control)

    def _adopt(self, snapshot: EngineSnapshot | None) -> None:
        """Take a saved state as this instance's (a takeover, or a follower's mirror) and
        tell the feed's readers."""
        self.engine = AlertEngine(self.cfg.alerts, self.calendars, snapshot)
        self.feed.publish(self.engine.alerts(), self.engine.silences(self.clock()))

    async def _follow(self) -> None:
        """Stop evaluating and serving forwarded changes (the lease went elsewhere)."""
        self.leading = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._control_sub is not None:
            with contextlib.suppress(Exception):
                await self._control_sub.unsubscribe()
            self._control_sub = None

    async def _keep_lease(self) -> None:
        assert self._lease is not None
        while True:
            await asyncio.sleep(self.cfg.alerts.lease_s / 3)
            leading = await self._lease.tick()
            if leading and not self.leading:
                await self._lead(reload=True)
            elif not leading and self.leading:
                log.warning("alerts: no longer leading (now %s)", self._lease.holder)
                await self._follow()

    async def _follow_state(self) -> None:
        """While following: mirror each state the leader saves, for reads and the wall.
        ``stop`` ends it by stopping the watcher (cancelling a task inside nats-py's watch
        set-up can be swallowed there)."""
        assert self._store is not None
        while not self._stopping:
            watcher = None
            try:
                watcher = self._watcher = await self._store.watcher()
                if self._stopping:
                    break
                async for entry in watcher:
                    snap = decode_snapshot(entry.value) if entry and entry.value else None
                    if snap is None or self.leading:
                        continue
                    async with self._lock:
                        self._adopt(snap)
            except Exception as exc:  # noqa: BLE001 - NATS away: watch again shortly
                log.debug("alerts: state watch ended (%s); again", exc)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            if not self._stopping:
                await asyncio.sleep(1.0)

    async def _on_control(self, msg: Any) -> None:
        """A follower's forwarded change, applied here (only the leader subscribes)."""
        try:
            req = msgspec.json.decode(msg.data, type=ControlRequest)
            if req.op == "acknowledge":
                reply = ControlReply(alert=await self.acknowledge(req.alert_id, req.who,
                                                                  req.comment))
            elif req.op == "add_silence":
                reply = ControlReply(silence=await self.add_silence(
                    req.matchers, created_by=req.who, comment=req.comment,
                    duration_s=req.duration_s, ends_ms=req.ends_ms, starts_ms=req.starts_ms))
            else:
                reply = ControlReply(silence=await self.remove_silence(req.silence_id, req.who))
        except (AlertInputError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            reply = ControlReply(error=str(exc))
        with contextlib.suppress(Exception):
            await msg.respond(msgspec.json.encode(reply))

    async def _forward(self, req: ControlRequest) -> ControlReply:
        """Send a change to the leader; raises its ``AlertInputError``, or
        ``AlertsUnavailable`` when no instance leads right now."""
        assert self.nc is not None
        try:
            msg = await self.nc.request(self._subjects.alert_control, msgspec.json.encode(req),
                                        timeout=CONTROL_TIMEOUT_S)
        except (NoRespondersError, NatsTimeout) as exc:
            raise AlertsUnavailable(f"no alert service is leading right now ({exc!r}); "
                                    "retry in a few seconds") from exc
        reply = msgspec.json.decode(msg.data, type=ControlReply)
        if reply.error:
            raise AlertInputError(reply.error)
        return reply

    async def _loop(self) -> None:
        interval_s = self.cfg.alerts.eval_interval_s
        while True:
            try:
                changed: set[str] | None = await asyncio.wait_for(self._sub.next(), interval_s)
            except TimeoutError:
                changed = None
            if changed is not None and self.clock() - self._last_full_ms >= interval_s * 1000:
                changed = None  # a busy feed must not starve the timer's full pass
            try:
                await self.evaluate(changed)
            except Exception:
                log.exception("alerts: evaluation failed")
            await asyncio.sleep(self.cfg.alerts.min_eval_gap_s)

    # ---- evaluation ---------------------------------------------------------------------

    async def evaluate(self, changed: Collection[str] | None = None) -> StepResult:
        """One evaluation round now: all scopes, or only ``changed`` ones. A following
        instance does not evaluate (the leader does, and notifies once)."""
        if not self.leading:
            return StepResult()
        async with self._lock:
            now = self.clock()
            self._core.begin()
            evaluations = collect(self.engine.rules.values(), self._topology(), self.sources,
                                  self.calendars, now, changed)
            result = self.engine.step(now, evaluations)
            self.last_eval_ms = now
            if changed is None:
                self._last_full_ms = now
            await self._commit(result, now)
            return result

    def _topology(self) -> Topology:
        regions: dict[str, str | None] = {loc.id: loc.region for loc in self.cfg.locations}
        try:
            for view in self.reader.locations():
                regions.setdefault(view.id, view.region or None)
        except Exception:  # noqa: BLE001 - a core still starting up: use the configured list
            log.debug("alerts: reader.locations() failed", exc_info=True)
        return topology_of(regions.items())

    async def _commit(self, result: StepResult, now_ms: int) -> None:
        """Persist first (so a crash cannot re-announce), then fan out."""
        if result.significant or self._dirty:
            self._dirty = not await self._persist(now_ms)
        log_step(result.changes, result.notifications, result.notices)
        if self._nats is not None:
            for view in result.changes:
                self._nats.offer(view)
        messages: tuple[Message, ...] = (*result.notifications, *result.notices)
        for message in messages:
            for sink in self._webhooks:
                sink.offer(message)
        self.feed.publish((*result.changes, *result.updated), result.silences, result.notices)

    async def _persist(self, now_ms: int) -> bool:
        if self._store is None:
            return True
        try:
            await self._store.save(self.engine.snapshot(now_ms))
            return True
        except Exception as exc:  # noqa: BLE001 - kept in memory, retried on the next step
            log.warning("alerts: saving state failed (%s); will retry", exc)
            return False

    async def _mutate(self, change: Callable[[int], T]) -> T:
        async with self._lock:
            now = self.clock()
            out = change(now)
            self._dirty = True
            await self._commit(self.engine.step(now), now)
            return out

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
        view = await self._mutate(lambda now: self.engine.acknowledge(alert_id, who, comment, now))
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
            end = ends_ms if ends_ms is not None else max(start, now) + int((duration_s or 0) * 1000)
            return self.engine.add_silence(matchers, start, end, created_by, comment, now)

        view = await self._mutate(change)
        self.feed.publish(silences=[view])
        return view

    async def remove_silence(self, silence_id: str, who: str) -> SilenceView:
        if not self.leading:
            reply = await self._forward(ControlRequest(op="remove_silence",
                                                       silence_id=silence_id, who=who))
            assert reply.silence is not None
            return reply.silence
        view = await self._mutate(lambda now: self.engine.remove_silence(silence_id, who, now))
        self.feed.publish(silences=[view])
        return view

    def subscribe(self) -> AlertSubscription:
        """Coalescing updates for the ``alerts`` websocket topic (send ``list_alerts`` and
        ``silences`` as the snapshot first, then each update)."""
        return self.feed.subscribe()

    def status(self) -> dict[str, object]:
        """For ``/api/health``: evaluation time, alert counts, sink counters."""
        live = self.engine.alerts()
        sinks = {s.name: vars(s.stats) for s in [*self._webhooks,
                                                 *([self._nats] if self._nats else [])]}
        return {"last_eval_ms": self.last_eval_ms, "rules": len(self.engine.rules),
                "role": "leader" if self.leading else "follower", "instance": self.me,
                "leader": self.me if self.leading else (self._lease and self._lease.holder),
                "firing": sum(a.status == "firing" for a in live),
                "pending": sum(a.status == "pending" for a in live), "sinks": sinks}
