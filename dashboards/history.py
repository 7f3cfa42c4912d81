"""The wall's history from the archive: ``/api/history`` fetched for the scopes walls show.

For each wanted scope: NPS, CSAT and the buttons index by day (the server's default 30
days) and by month (13 months), each with ``compare=year``. Fetched when a wall first asks
and every ``REFRESH_S`` after that (yesterday's values do not move; today's do, slowly);
each arrival tells the sessions ``history:{scope}`` changed through the cache. One
``HistoryFeed`` per dashboard process rides on the shared ``Feed`` (``history_of``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import msgspec

from dashboards.cache import Cache
from dashboards.trendview import METRICS, Point
from stream.tasks import cancel_all

log = logging.getLogger("cxpulse.dashboards.history")
REFRESH_S = 300.0
SPANS = {"day": None, "month": 12}  # the server's default (30 days), or 12 months back


class _Point(msgspec.Struct):
    period: str
    value: float | None
    n: int
    previous: float | None = None


class _Result(msgspec.Struct):
    points: list[_Point]


class HistoryFeed:
    def __init__(self, http: httpx.AsyncClient, cache: Cache) -> None:
        self.http, self.cache = http, cache
        self.series: dict[str, dict[tuple[str, str], list[Point]]] = {}
        self.scopes: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.Task[None] | None = None

    def want(self, scope: str) -> None:
        """Fetch ``scope``'s history now (once) and keep it fresh (call on the event loop)."""
        if scope in self.scopes:
            return
        self.scopes.add(scope)
        task = asyncio.get_running_loop().create_task(self.fetch(scope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self._refresh())

    async def fetch(self, scope: str) -> None:
        got: dict[tuple[str, str], list[Point]] = {}
        for metric, _, _ in METRICS:
            for by, days in SPANS.items():
                params = {"metric": metric, "by": by, "compare": "year"}
                if days is not None:
                    params["from"] = _months_ago(days)
                try:
                    r = await self.http.get(f"/api/history/{scope}", params=params)
                except httpx.HTTPError as exc:
                    log.debug("dashboards: history of %s: %s", scope, exc)
                    return
                if r.status_code != 200:
                    log.debug("dashboards: history of %s: %s %s", scope, r.status_code, r.text)
                    return
                result = msgspec.json.decode(r.content, type=_Result)
                got[(metric, by)] = [(p.period, p.value, p.previous, p.n) for p in result.points]
        self.series[scope] = got
        self.cache.notify(f"history:{scope}")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            for scope in list(self.scopes):
                await self.fetch(scope)

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._loop] if self._loop else [])]
        await cancel_all(tasks)


def _months_ago(months: int) -> str:
    """First day of the month ``months`` before this one: 13 monthly points to today."""
    import datetime as dt

    today = dt.date.today()
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1).isoformat()


def history_of(feed: Any) -> HistoryFeed:
    """The process's ``HistoryFeed``, on the shared feed (made on first use)."""
    found = getattr(feed, "history", None)
    if not isinstance(found, HistoryFeed):
        found = HistoryFeed(feed.http, feed.cache)
        feed.history = found
    return found
