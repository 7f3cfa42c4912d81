"""The shipped ``urgent-comment`` rule fires on an urgent comment through the real path:
core input -> archive writer (masks, tags, publishes ``cx.comment.*``) -> alert service
(``comments.urgent``) -> ``cx.alert.critical.urgent-comment`` with its playbook."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import msgspec
from nats.aio.msg import Msg

from alerting.commentfeed import comment_metrics
from alerting.schema import RuleConfig
from alerting.service import AlertService
from cxpulse.config import load_config
from stream.comments import CommentNote
from stream.nats_server import EmbeddedNats
from tests.comments.stack import live
from tests.support.checks import present
from tests.support.stack import until


def test_what_one_comment_counts_towards() -> None:
    note = CommentNote(id="1", ts_ms=1, location="a", type="csat", value=1, comment="x",
                       topics=["wait", "staff"], urgent=True)
    assert comment_metrics(note) == ["count", "urgent", "detractors", "topics.wait",
                                     "topics.staff"]
    calm = CommentNote(id="2", ts_ms=1, location="a", type="nps", value=9, comment="ok")
    assert comment_metrics(calm) == ["count"]


def _shipped_rule(repo_root: Path) -> RuleConfig:
    rules = [r for r in load_config(repo_root / "config.toml").alerts.rules
             if r.id == "urgent-comment"]
    assert len(rules) == 1, "config.toml ships the urgent-comment rule"
    rule = rules[0]
    assert rule.playbook.ru is not None and rule.playbook.en is not None
    return rule


async def test_an_urgent_comment_fires_the_shipped_rule(
    nats_server: EmbeddedNats, tmp_path: Path, repo_root: Path
) -> None:
    rule = _shipped_rule(repo_root)
    async with live(nats_server.url, tmp_path, extra="[alerts]\ngroup_wait_s = 0\n") as s:
        cfg = msgspec.structs.replace(
            s.cfg, alerts=msgspec.structs.replace(s.cfg.alerts, rules=(rule,)))
        nc = present(s.core.nc)
        alerts = AlertService(cfg, nc, s.core)
        await alerts.start()
        got: list[dict[str, Any]] = []

        async def on_alert(msg: Msg) -> None:
            got.append(json.loads(msg.data))

        sub = await nc.subscribe("cx.alert.critical.urgent-comment", cb=on_alert)
        try:
            now = int(time.time() * 1000)
            await s.publish([{"id": "calm", "location": "a", "ts": now, "type": "nps",
                              "value": 3, "comment": "Долго ждали на кассе"}])
            await until(lambda: _seen(alerts, 1), 10, "the comment received")
            await alerts.evaluate()
            assert not alerts.list_alerts(status="firing")  # a complaint is not urgent
            await s.publish([{"id": "hurt", "location": "b", "ts": now, "type": "nps",
                              "value": 0, "session": "s1",
                              "comment": "Поскользнулась на мокром полу, сильно ударилась, "
                                         "звоните 8 916 123 45 67"}])
            await until(lambda: _counted(alerts, "urgent", "b"), 10, "the urgent comment")
            await alerts.evaluate()
            firing = alerts.list_alerts(status="firing")
            assert [(a.rule, a.labels.get("location"), a.value) for a in firing] == \
                [("urgent-comment", "b", 1.0)]
            assert (
                firing[0].severity == "critical"
                and "Срочный" in present(firing[0].playbook.ru).event
            )
            await until(lambda: _ready(got), 10, "the alert on NATS")
            assert got[0]["status"] == "firing" and got[0]["labels"]["location"] == "b"
        finally:
            await sub.unsubscribe()
            await alerts.stop()


async def _counted(alerts: AlertService, name: str, location: str) -> bool:
    await asyncio.sleep(0)
    return bool(alerts.comments._events.get((name, location)))


async def _seen(alerts: AlertService, n: int) -> bool:
    await asyncio.sleep(0)
    feed = alerts._comment_feed
    return feed is not None and feed.counts["comments"] >= n


async def _ready(got: list) -> bool:
    await asyncio.sleep(0)
    return bool(got)
