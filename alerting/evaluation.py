"""The evaluation loop of the leading alert service: read the sources, step the engine,
save the state, fan out.

``Evaluator`` owns the engine's state and one lock around it. ``evaluate`` runs one round
(all scopes, or only the scopes the core's change feed names); ``run`` repeats it on every
change-feed tick (at most every ``min_eval_gap_s``) and on a timer (all scopes, every
``eval_interval_s``, which also drives ``for``, schedules and silence expiry); ``mutate``
applies an acknowledgement or a silence. After each step the snapshot is saved *first*
(``store.py``: a crash cannot re-announce), then the step goes out: the log, NATS and the
webhooks (``sinks.Outputs``) and the in-process feed of the websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from alerting.config import AlertingSettings
from alerting.engine import AlertEngine
from alerting.model import EngineSnapshot, StepResult
from alerting.schedule import Calendars
from alerting.sinks import AlertFeed, Outputs
from alerting.sources import CoreSource, MetricSource, Topology, collect, topology_of
from alerting.store import SnapshotStore
from stream.readmodel import CoreReader, Subscription

log = logging.getLogger("cxpulse.alerts")
T = TypeVar("T")


class Evaluator:
    """Rules against the sources; state saved to ``store`` (None: kept in memory only)."""

    def __init__(self, cfg: AlertingSettings, reader: CoreReader, calendars: Calendars,
                 sources: Mapping[str, MetricSource], feed: AlertFeed, outputs: Outputs,
                 clock: Callable[[], int]) -> None:
        self.cfg = cfg
        self.reader = reader
        self.calendars = calendars
        self.core = CoreSource(reader)
        self.sources: dict[str, MetricSource] = {"core": self.core, **sources}
        self.feed = feed
        self.outputs = outputs
        self.clock = clock
        self.store: SnapshotStore | None = None
        self.engine = AlertEngine(cfg.alerts, calendars)
        self.lock = asyncio.Lock()
        self.last_eval_ms: int | None = None
        self._last_full_ms = 0
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    def adopt(self, snapshot: EngineSnapshot | None) -> None:
        """Take a saved state as this instance's (a start, a takeover, or a follower's
        mirror) and tell the feed's readers. Call under ``lock`` once running."""
        self.engine = AlertEngine(self.cfg.alerts, self.calendars, snapshot)
        self.feed.publish(self.engine.alerts(), self.engine.silences(self.clock()))

    # ---- the loop -----------------------------------------------------------------------

    def start(self, changes: Subscription) -> None:
        """Evaluate on ``changes`` and on the timer until ``stop`` (no-op if running)."""
        if self.cfg.alerts.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(changes), name="alerts-loop")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, changes: Subscription) -> None:
        interval_s = self.cfg.alerts.eval_interval_s
        while True:
            try:
                changed: set[str] | None = await asyncio.wait_for(changes.next(), interval_s)
            except TimeoutError:
                changed = None
            if changed is not None and self.clock() - self._last_full_ms >= interval_s * 1000:
                changed = None  # a busy feed must not starve the timer's full pass
            try:
                await self.evaluate(changed)
            except Exception:
                log.exception("alerts: evaluation failed")
            await asyncio.sleep(self.cfg.alerts.min_eval_gap_s)

    # ---- one step -----------------------------------------------------------------------

    async def evaluate(self, changed: Collection[str] | None = None) -> StepResult:
        """One round now: all scopes, or only ``changed`` ones."""
        async with self.lock:
            now = self.clock()
            self.core.begin()
            evaluations = collect(self.engine.rules.values(), self._topology(), self.sources,
                                  self.calendars, now, changed)
            result = self.engine.step(now, evaluations)
            self.last_eval_ms = now
            if changed is None:
                self._last_full_ms = now
            await self._commit(result, now)
            return result

    async def mutate(self, change: Callable[[int], T]) -> T:
        """Apply ``change(now_ms)`` to the engine (an acknowledgement, a silence), then
        step, save and fan out as after an evaluation."""
        async with self.lock:
            now = self.clock()
            out = change(now)
            self._dirty = True
            await self._commit(self.engine.step(now), now)
            return out

    async def save_if_dirty(self) -> None:
        """At a leader's stop: save what the last failed save left unsaved."""
        async with self.lock:
            if self._dirty:
                self._dirty = not await self._save(self.clock())

    def _topology(self) -> Topology:
        regions: dict[str, str | None] = {loc.id: loc.region for loc in self.cfg.locations}
        try:
            for view in self.reader.locations():
                regions.setdefault(view.id, view.region or None)
        except Exception:  # a core still starting up: use the configured list
            log.debug("alerts: reader.locations() failed", exc_info=True)
        return topology_of(regions.items())

    async def _commit(self, result: StepResult, now_ms: int) -> None:
        """Save first (so a crash cannot re-announce), then fan out."""
        if result.significant or self._dirty:
            self._dirty = not await self._save(now_ms)
        self.outputs.offer(result)
        self.feed.publish((*result.changes, *result.updated), result.silences, result.notices)

    async def _save(self, now_ms: int) -> bool:
        if self.store is None:
            return True
        return await self.store.try_save(self.engine.snapshot(now_ms))
