"""What the dashboard process reports at ``/stats`` (JSON): its sessions, the feed's state,
the age of every cached topic, and per session when its loyalty-button tile last changed
and to what count (the benchmark's server-side "visible in the session's model" clock)."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from tornado.web import RequestHandler

from dashboards.cache import Cache

KEEP = 2000  # renders kept per session


class RenderLog:
    """Per session: (epoch ms, presses) each time its button tile's model changed."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.sessions: dict[str, deque[tuple[int, int]]] = {}

    def record(self, session: str, presses: int, now_ms: int) -> None:
        self.sessions.setdefault(session, deque(maxlen=self.keep)).append((now_ms, presses))

    def drop(self, session: str) -> None:
        self.sessions.pop(session, None)

    def snapshot(self) -> dict[str, list[tuple[int, int]]]:
        return {sid: list(ring) for sid, ring in self.sessions.items()}


RENDERS = RenderLog()


def stats(cache: Cache, renders: RenderLog) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"sessions": len(renders.sessions), "status": cache.status.state, "role": cache.role,
            "topics": {topic: cache.age_ms(topic, now) for topic in sorted(cache.entries)},
            "errors": {topic: code for topic, (code, _) in cache.errors.items()},
            "renders": renders.snapshot()}


class StatsHandler(RequestHandler):
    """``GET /stats``."""

    def initialize(self, cache: Cache) -> None:
        self.cache = cache

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(stats(self.cache, RENDERS)))
