"""What the dashboard process reports at ``/stats`` (JSON, for an admin token only, given
as ``Authorization: Bearer``): its sessions, the feed's state, the age of every cached
topic, and per session when its loyalty-button tile last changed and to what count (the
benchmark's server-side "visible in the session's model" clock). Sessions are listed under
a digest of their id: a live session id is a key to that session and is never shown."""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from typing import Any

from tornado.web import RequestHandler

from dashboards.access import Gate
from dashboards.cache import Cache
from stream.access import token_from

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
        """Renders per session, keyed by a digest of the session id (not the id)."""
        return {hashlib.sha256(sid.encode()).hexdigest()[:16]: list(ring)
                for sid, ring in self.sessions.items()}


RENDERS = RenderLog()


def stats(cache: Cache, renders: RenderLog) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"sessions": len(renders.sessions), "status": cache.status.state, "role": cache.role,
            "topics": {topic: cache.age_ms(topic, now) for topic in sorted(cache.entries)},
            "errors": {topic: code for topic, (code, _) in cache.errors.items()},
            "renders": renders.snapshot()}


class StatsHandler(RequestHandler):
    """``GET /stats``: 401 without a (valid) bearer token, 403 for a non-admin one."""

    def initialize(self, cache: Cache, gate: Gate) -> None:
        self.cache, self.gate = cache, gate

    def get(self) -> None:
        token = token_from({k.lower(): v for k, v in self.request.headers.items()}, {})
        viewer = self.gate.viewer(token)
        if viewer is None or viewer.role != "admin":
            self.set_status(401 if viewer is None else 403)
            if viewer is None:
                self.set_header("WWW-Authenticate", 'Bearer realm="cxpulse wall"')
            self.finish({"error": "an admin token is needed (Authorization: Bearer)"})
            return
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(stats(self.cache, RENDERS)))
