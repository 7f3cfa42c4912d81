"""The shared feed against the real server (no browser): snapshots fill the cache, topics
are spread over connections, a forbidden scope is reported, and a restart is survived."""

from __future__ import annotations

import asyncio
import time

from msgspec.structs import replace

from dashboards.feed import Feed
from stream.push import IncidentsData, MetricsData
from tests.support.stack import Stack, until
from tests.support.wall_seed import Seeder


async def test_feed_spreads_topics_reports_errors_and_reconnects(system: Stack) -> None:
    cfg = replace(system.cfg, server=replace(system.cfg.server, ws_queue_limit=8))
    feed = Feed(cfg)
    await feed.start()  # follows network + 2 regions from the start
    try:
        topics = ["metrics:msk-a", "metrics:msk-b", "metrics:ekb", "incidents:msk-a", "alerts",
                  "voice:msk-a", "metrics:nowhere"]
        feed.want(topics)
        feed.want(topics)  # idempotent
        assert len(feed.links) == 3 and max(len(lk.topics) for lk in feed.links) == 4
        cache = feed.cache

        async def filled() -> bool:
            have = set(cache.entries) | set(cache.errors)
            return {*topics, "metrics:network", "metrics:msk"} <= have

        await until(filled, 10, "every topic answered")
        assert cache.status.state == "ok" and cache.role == "supervisor"
        assert cache.errors["metrics:network"][0] == "forbidden"
        assert cache.errors["metrics:nowhere"][0] in ("forbidden", "not_found")
        hour = cache.payload("metrics:msk-a")
        assert isinstance(hour, MetricsData)
        assert hour.windows["today"].nps == (await system.metrics("msk-a"))["nps"]
        assert isinstance(cache.payload("incidents:msk-a"), IncidentsData)
        assert "ekb" in cache.geo.places

        await system.stop_server()
        await until(lambda: _state_is(feed, "lost"), 5, "lost shown")
        s = Seeder(int(time.time() * 1000), seed=5)
        before = system.running_core.metrics("msk-b", "today").responses  # the server is down
        await system.publish(s.ev("msk-b", 1000, type="nps", value=0))
        await asyncio.sleep(0.3)
        await system.start_server()
        await until(lambda: _state_is(feed, "ok"), 15, "reconnected")
        want = (await system.metrics("msk-b"))["responses"]
        assert want == before + 1

        async def fresh() -> bool:
            data = cache.payload("metrics:msk-b")
            return isinstance(data, MetricsData) and data.windows["today"].responses == want

        await until(fresh, 10, "re-subscribed snapshot")
    finally:
        await feed.stop()


async def _state_is(feed: Feed, state: str) -> bool:
    return feed.cache.status.state == state
