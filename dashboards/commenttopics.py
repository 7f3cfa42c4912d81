"""The comments tile's topic chart: ``/api/comments/topics`` for today and the last 7 days.

For each scope a wall shows, both periods are fetched when it first asks, again every
``REFRESH_S``, and soon after new comments arrive (the cache's ``comments:{scope}`` key
changes; at most once per ``MIN_GAP_S``); each arrival tells the sessions
``comment-topics:{scope}`` changed. One ``TopicsFeed`` per dashboard process rides on the
shared ``Feed`` (``topics_of``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import httpx
import msgspec

from dashboards.cache import Cache
from dashboards.commentview import Period, period_of
from stream.tasks import cancel_all

log = logging.getLogger("cxpulse.dashboards.comments")
REFRESH_S = 120.0
MIN_GAP_S = 15.0
PREFIX = "comments:"


class _Topic(msgspec.Struct):
    topic: str
    count: int
    previous_count: int = 0
    mean_nps: float | None = None


class _Result(msgspec.Struct):
    comments: int
    topics: list[_Topic]
    previous_comments: int = 0


class TopicsFeed:
    def __init__(self, http: httpx.AsyncClient, cache: Cache, min_sample: int) -> None:
        self.http, self.cache, self.min_sample = http, cache, min_sample
        self.periods: dict[str, tuple[Period | None, Period | None]] = {}
        self.scopes: set[str] = set()
        self._last: dict[str, float] = {}
        self._due: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.Task[None] | None = None
        cache.listen(self._on_change)

    def want(self, scope: str) -> None:
        """Fetch ``scope``'s topics now and keep them fresh (call on the event loop)."""
        if scope in self.scopes:
            return
        self.scopes.add(scope)
        self._spawn(self.fetch(scope))
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self._refresh())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_change(self, key: str) -> None:
        scope = key[len(PREFIX):] if key.startswith(PREFIX) else None
        if scope is None or scope not in self.scopes or scope in self._due:
            return
        self._due.add(scope)
        wait = max(0.0, self._last.get(scope, 0.0) + MIN_GAP_S - time.monotonic())
        self._spawn(self._later(scope, wait))

    async def _later(self, scope: str, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._due.discard(scope)
        await self.fetch(scope)

    async def fetch(self, scope: str) -> None:
        self._last[scope] = time.monotonic()
        today = dt.datetime.now(self.cache.geo.timezone(scope)).date()
        got: list[Period | None] = []
        for first in (today, today - dt.timedelta(days=6)):
            params = {"from": first.isoformat(), "to": today.isoformat()}
            try:
                r = await self.http.get(f"/api/comments/topics/{scope}", params=params)
            except httpx.HTTPError as exc:
                log.debug("dashboards: comment topics of %s: %s", scope, exc)
                return
            if r.status_code != 200:
                log.debug("dashboards: comment topics of %s: %s %s", scope, r.status_code,
                          r.text[:200])
                return
            res = msgspec.json.decode(r.content, type=_Result)
            got.append(period_of(res.comments, res.previous_comments,
                                 [(t.topic, t.count, t.previous_count, t.mean_nps)
                                  for t in res.topics], self.min_sample))
        self.periods[scope] = (got[0], got[1])
        self.cache.notify(f"comment-topics:{scope}")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            for scope in list(self.scopes):
                await self.fetch(scope)

    async def stop(self) -> None:
        self.cache.unlisten(self._on_change)
        tasks = [*self._tasks, *([self._loop] if self._loop else [])]
        await cancel_all(tasks)


def topics_of(feed: Any) -> TopicsFeed:
    """The process's ``TopicsFeed``, on the shared feed (made on first use)."""
    found = getattr(feed, "comment_topics", None)
    if not isinstance(found, TopicsFeed):
        found = TopicsFeed(feed.http, feed.cache, feed.cfg.dashboards.min_sample)
        feed.comment_topics = found
    return found
