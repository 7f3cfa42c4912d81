"""A bad shift raises the ``wait`` and ``staff`` shares of comments at the degraded location,
through the real path: the simulator's bad-shift publishes to NATS like any device, the
core and the archive writer consume it (the writer masks and tags each comment), and
``GET /api/comments/topics`` reads the archive."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from cxpulse.config import Config
from simulators.model import build_network
from simulators.publisher import Publisher
from simulators.traffic import generate, make_plan, questionnaire
from stream.nats_io import connect
from stream.nats_server import EmbeddedNats
from tests.comments.stack import live

HOUR_MS = 3_600_000
BASE = """
[core]
default_timezone = "Europe/Moscow"
[[regions]]
id = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "bad"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "good"
region = "r"
timezone = "Europe/Moscow"
"""


def morning(now_ms: int) -> int:
    """08:00 Moscow (05:00 UTC) of the latest day whose 20:00 has passed."""
    day = 86_400_000
    start = (now_ms - 12 * HOUR_MS) // day * day + 5 * HOUR_MS
    return start if start + 12 * HOUR_MS <= now_ms else start - day


def shift(cfg: Config, start: int, turn: int, end: int) -> list:
    """A normal day until ``turn``, then ``bad`` degrades (bad-shift starts its
    degradation a quarter into its plan: the plan starts a third of the bad part earlier)."""
    network, quiz = build_network(cfg), questionnaire(cfg)
    calm = generate(make_plan(network, "normal-day", start, turn, seed=6), network, quiz)
    plan = make_plan(network, "bad-shift", turn - (end - turn) // 3, end, seed=5, target="bad")
    assert plan.phase_ms == turn
    bad = generate(plan, network, quiz)
    return [e for e in calm if e.ts_ms < turn] + [e for e in bad if e.ts_ms >= turn]


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def _shares(body: dict) -> tuple[dict[str, float], dict[str, float]]:
    """(shares of the period, shares of the period before) per topic."""
    now = {t["topic"]: t["count"] / body["comments"] for t in body["topics"]}
    before = {t["topic"]: t["previous_count"] / body["previous_comments"]
              for t in body["topics"]}
    return now, before


async def test_bad_shift_raises_wait_and_staff_at_the_degraded_location(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    """Six calm hours, then six degraded ones at ``bad`` (about 200 comments each side:
    the shares move by 0.1-0.35 on every simulated day tried, against a standard error
    of about 0.05)."""
    async with live(nats_server.url, tmp_path, base=BASE) as s:
        start = morning(int(time.time() * 1000))
        turn, end = start + 6 * HOUR_MS, start + 12 * HOUR_MS
        events = shift(s.cfg, start, turn, end)
        nc = await connect(s.cfg.nats, nats_server.url, "simulator")
        try:
            assert await Publisher(nc, s.core.subjects).publish_events(events) == len(events)
        finally:
            await nc.close()
        assert await s.core.wait_idle(30)
        assert s.archive.writer is not None and await s.archive.writer.wait_idle(30)
        degraded = {"from": _iso(turn + HOUR_MS // 6), "to": _iso(end)}  # once ramped up
        async with s.http("sup") as http:
            bad = (await http.get("/api/comments/topics/bad", params=degraded)).json()
            good = (await http.get("/api/comments/topics/good", params=degraded)).json()
        assert min(bad["comments"], bad["previous_comments"], good["comments"]) >= 50
        bad_now, bad_before = _shares(bad)
        good_now, _ = _shares(good)
        for topic in ("wait", "staff"):  # against the period before, and the calm location
            assert bad_now[topic] > bad_before[topic] + 0.05, (topic, bad_now, bad_before)
            assert bad_now[topic] > good_now[topic], (topic, bad_now, good_now)
        assert bad_now["wait"] > good_now["wait"] + 0.05
        assert bad_now["praise"] < min(bad_before["praise"], good_now["praise"])
