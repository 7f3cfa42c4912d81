"""The process-wide cache the shared feed fills and every wall session reads.

Synchronous and free of I/O: the feed calls ``put`` / ``fail`` / ``set_status`` /
``set_profile``; each call notifies the listeners (one per browser session) with the key
that changed, and the session re-renders only what depends on it. Listeners run on the
event loop's thread and must not block (sessions just schedule a next-tick callback).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from stream.geography import Geo
from stream.push import MetricsData, Payload
from stream.readmodel import FlowProfile

log = logging.getLogger("cxpulse.dashboards")
TREND_STEP_MS = 10_000  # one sparkline point per 10 s of frames
TREND_POINTS = 360  # one hour of points
ConnState = Literal["connecting", "ok", "lost", "denied"]
Listener = Callable[[str], None]


@dataclass(frozen=True)
class Entry:
    payload: Payload
    seq: int
    ts_ms: int  # when the server computed the frame
    received_ms: int


@dataclass(frozen=True)
class Status:
    state: ConnState = "connecting"
    retry_at_ms: int | None = None
    detail: str = ""
    since_ms: int = 0


@dataclass
class Cache:
    geo: Geo
    entries: dict[str, Entry] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # topic -> (code, message)
    trends: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)
    profiles: dict[str, FlowProfile] = field(default_factory=dict)
    status: Status = Status()
    role: str | None = None
    min_sample: int = 1  # a sparkline point needs this many NPS answers in its hour
    listeners: set[Listener] = field(default_factory=set)

    def listen(self, fn: Listener) -> None:
        self.listeners.add(fn)

    def unlisten(self, fn: Listener) -> None:
        self.listeners.discard(fn)

    def _notify(self, key: str) -> None:
        for fn in list(self.listeners):
            try:
                fn(key)
            except Exception:  # one broken session must not stop the feed (logged)
                log.exception("dashboards: listener failed on %s", key)

    def put(self, topic: str, payload: Payload, seq: int, ts_ms: int, now_ms: int) -> None:
        """A snapshot or update of ``topic`` arrived."""
        self.entries[topic] = Entry(payload, seq, ts_ms, now_ms)
        self.errors.pop(topic, None)
        if isinstance(payload, MetricsData):
            self._trend(payload, ts_ms)
        self._notify(topic)

    def _trend(self, data: MetricsData, ts_ms: int) -> None:
        m = data.windows.get("1h")
        if m is None or m.nps is None or m.responses < self.min_sample:
            return
        ring = self.trends.setdefault(data.scope, deque(maxlen=TREND_POINTS))
        if ring and ts_ms - ring[-1][0] < TREND_STEP_MS:
            return
        ring.append((ts_ms, float(m.nps)))

    def notify(self, key: str) -> None:
        """Tell the sessions ``key`` changed (data kept beside the cache: the history)."""
        self._notify(key)

    def fail(self, topic: str, code: str, message: str) -> None:
        """The server refused ``topic`` (forbidden, not found)."""
        self.errors[topic] = (code, message)
        self._notify(topic)

    def set_status(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            self._notify("status")

    def set_profile(self, profile: FlowProfile) -> None:
        self.profiles[profile.scope] = profile
        self._notify(f"profile:{profile.scope}")

    def payload(self, topic: str) -> Payload:
        entry = self.entries.get(topic)
        return entry.payload if entry is not None else None

    def age_ms(self, topic: str, now_ms: int) -> int | None:
        entry = self.entries.get(topic)
        return None if entry is None else now_ms - entry.received_ms

    def trend_since(self, scope: str, after_ms: int) -> list[tuple[int, float]]:
        """Sparkline points newer than ``after_ms`` (all of them for 0)."""
        return [p for p in self.trends.get(scope, ()) if p[0] > after_ms]
