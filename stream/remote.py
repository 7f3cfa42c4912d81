"""A ``CoreReader`` for a process that owns no core: reads the network roll-up of the
partitioned core workers over NATS (``stream.rollup``) and keeps the answers in a cache.

Readers call it synchronously, like the in-process core. A key seen for the first time
raises ``NotReady`` (a ``QueryError``) carrying a future that resolves once the answer is
in; awaiting readers (HTTP handlers) retry after it, and the change feed announces the
scope so push readers (the websocket hub, alerts) recompute. Afterwards a key is served
from the cache and refreshed, in the background, whenever a worker reports its scope
changed (coalesced to ``refresh_s``); keys nobody asked for in ``idle_s`` are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from stream.clock import Clock, wall_ms
from stream.config import StreamSettings
from stream.events import Limits, Rejection
from stream.geography import Geo
from stream.ids import NETWORK
from stream.nats_io import publish_input
from stream.readmodel import (
    ChangeFeed,
    FlowProfile,
    IncidentView,
    LocationView,
    Metrics,
    QueryError,
)
from stream.rollup import Rollup
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.remote")
T = TypeVar("T")
Key = tuple[Any, ...]  # ("metrics", scope, window, staff, touchpoint) / ("incidents", ...) ...


class NotReady(QueryError):
    """The answer is being fetched from the core workers; ``ready`` resolves when it is in."""

    def __init__(self, key: Key, ready: asyncio.Future[None]) -> None:
        super().__init__(f"{key[0]} of {key[1]!r} is being fetched from the core workers")
        self.ready = ready


class _Entry:
    __slots__ = ("error", "ready", "stale", "used", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: QueryError | None = None
        self.stale = True
        self.used = time.monotonic()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class RemoteReader:
    """The network of ``[scale] workers`` core workers, read as one ``CoreReader``."""

    def __init__(self, cfg: StreamSettings, nc: NATS, *, refresh_s: float = 0.25,
                 idle_s: float = 120.0, clock: Clock = wall_ms) -> None:
        self.cfg = cfg
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.subjects = Subjects(cfg.nats.prefix)
        self.rollup = Rollup(nc, cfg, clock)
        self.changes = ChangeFeed()
        self.refresh_s, self.idle_s, self.clock = refresh_s, idle_s, clock
        self.limits = Limits.from_config(cfg.core)
        self._cache: dict[Key, _Entry] = {}
        self._locations: list[LocationView] = []
        self.geo = Geo.from_config(cfg)  # plus the locations the workers report
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Any = None
        self.errors = 0

    async def start(self) -> None:
        self._locations = await self.rollup.locations()
        self.geo.add(self._locations)
        devices = self._cache[("devices",)] = _Entry()
        devices.value = await self.rollup.devices()
        devices.stale = False
        devices.ready.set_result(None)
        self._sub = await self.nc.subscribe(self.subjects.changed, cb=self._on_changed)
        self._tasks = [asyncio.create_task(self._refresher(), name="cxpulse-remote-refresh")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_changed(self, msg: Msg) -> None:
        try:
            scopes = set(msgspec.json.decode(msg.data, type=list[str]))
        except msgspec.DecodeError:
            return
        for key, entry in self._cache.items():
            if key[0] in ("locations", "devices") or key[1] in scopes:
                entry.stale = True
        if any(self.geo.known_kind(s) is None for s in scopes):
            self._cache.setdefault(("locations",), _Entry())
        self._wake.set()

    # -- fetching ---------------------------------------------------------------------------

    async def _fetch(self, key: Key) -> Any:
        now_ms = self.clock()
        kind = key[0]
        if kind == "metrics":
            return await self.rollup.metrics(key[1], key[2], now_ms, staff=key[3],
                                             touchpoint=key[4])
        if kind == "profile":
            return await self.rollup.flow_profile(key[1], now_ms)
        if kind == "incidents":
            return await self.rollup.incidents(key[1], key[2], key[3], now_ms)
        if kind == "devices":
            return await self.rollup.devices()
        self._locations = await self.rollup.locations()
        self.geo.add(self._locations)
        return self._locations

    async def _refresh(self, key: Key, entry: _Entry) -> None:
        entry.stale = False
        try:
            entry.value, entry.error = await self._fetch(key), None
        except QueryError as exc:
            entry.value, entry.error = None, exc
        except Exception as exc:  # noqa: BLE001 - workers away: keep the last answer, retry
            self.errors += 1
            entry.stale = True
            log.warning("remote: %s failed (%s)", key[0], exc)
            self._wake.set()  # try again next round
            return
        first = not entry.ready.done()
        if first:
            entry.ready.set_result(None)
        if len(key) > 1:
            self.changes.publish({key[1]})

    async def _refresher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            now = time.monotonic()
            for key in [k for k, e in self._cache.items() if now - e.used > self.idle_s]:
                del self._cache[key]
            due = [(k, e) for k, e in self._cache.items() if e.stale]
            if due:
                await asyncio.gather(*(self._refresh(k, e) for k, e in due))
            await asyncio.sleep(self.refresh_s)  # coalesce: at most one round per interval

    def _get(self, key: Key) -> Any:
        entry = self._cache.get(key)
        if entry is None:
            entry = self._cache[key] = _Entry()
            self._wake.set()
        entry.used = time.monotonic()
        if not entry.ready.done():
            raise NotReady(key, entry.ready)
        if entry.error is not None:
            raise entry.error
        return entry.value

    async def wait(self, call: Callable[[], T]) -> T:
        """Run a read; when it is not ready yet, wait for the fetch and run it again."""
        for _ in range(3):
            try:
                return call()
            except NotReady as exc:
                await asyncio.wait_for(asyncio.shield(exc.ready),
                                       self.cfg.scale.query_timeout_s * 2)
        return call()

    # -- CoreReader -------------------------------------------------------------------------

    def metrics(self, scope: str, window: str, *, staff: str | None = None,
                touchpoint: str | None = None) -> Metrics:
        return cast(Metrics, self._get(("metrics", scope, window, staff, touchpoint)))

    def flow_profile(self, scope: str) -> FlowProfile:
        return cast(FlowProfile, self._get(("profile", scope)))

    def incidents(self, scope: str = NETWORK, status: str | None = None,
                  breached: bool | None = None) -> list[IncidentView]:
        return cast(list[IncidentView], self._get(("incidents", scope, status, breached)))

    def locations(self) -> list[LocationView]:
        return list(self._locations)

    def known_scope(self, scope: str) -> bool:
        return self.geo.known_kind(scope) is not None

    def scopes_of(self, location: str) -> tuple[str, ...]:
        return self.geo.scopes_of(location)

    def devices(self) -> dict[tuple[str, str], int]:
        """Last event time per (location, device), as the workers last reported it (fetched
        at start, refreshed whenever a worker reports a change); never waits."""
        try:
            return dict(self._get(("devices",)))
        except QueryError:
            return {}

    def health(self) -> dict[str, object]:
        connected = bool(self.nc.is_connected)
        return {"status": "ok" if connected else "degraded",
                "nats": "connected" if connected else "disconnected",
                "core": f"{self.cfg.scale.workers} remote workers",
                "locations": len(self._locations), "cached_queries": len(self._cache),
                "remote_errors": self.errors}

    async def publish_input(self, kind: str, location: str, payload: bytes) -> Rejection | None:
        """Validate like the workers will, then publish to JetStream with the event id."""
        return await publish_input(self.js, self.subjects, kind, location, payload,
                                   self.clock(), self.limits)
