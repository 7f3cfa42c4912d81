"""The archive writer against a real nats-server: exactly once, resumes, skips what the core
refuses, serves forwarded queries from a follower."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from nats.js import JetStreamContext

from archive.comments import TextHooks
from archive.history import HistoryQuery
from archive.records import FeedbackQuery
from archive.service import ROLLUP_MAX_DEFER_S, ArchiveService
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats
from tests.archive.support import Sent, config, make_events
from tests.support.checks import present


def _hooks() -> TextHooks:
    return TextHooks(mask=lambda s: s.replace("+7 916 123-45-67", "[телефон]"))


async def _publish(js: JetStreamContext, events: list[Sent], ids: list[str] | None = None) -> None:
    for k, (subject, body) in enumerate(events):
        msg_id = ids[k] if ids else f"{body['location']}:{body['id']}"
        await js.publish_async(subject, json.dumps(body).encode(), headers={"Nats-Msg-Id": msg_id})
    await js.publish_async_completed()


async def test_every_event_once_across_restarts_and_resends(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = config(data_dir=str(tmp_path))
    rng = random.Random(3)
    now = int(time.time() * 1000)
    events = make_events(1500, now, rng)
    nc = await connect(cfg.nats, nats_server.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    await _publish(js, events[:700])
    archive = ArchiveService(cfg, nc, hooks=_hooks())
    await archive.start()
    assert archive.leading
    assert await present(archive.writer).wait_idle(20)
    await archive.stop()
    # while it is down: the rest, re-sends of old ids past JetStream's window, and junk
    await _publish(js, events[700:])
    resent = events[:200]
    await _publish(js, resent, ids=[f"again-{b['id']}" for _, b in resent])
    await js.publish("cx.feedback.a", b'{"id": "bad", "type": "nps"}')
    await js.publish("cx.feedback.a", json.dumps({"id": "x", "ts": now, "location": "b",
                                                  "type": "visit"}).encode())
    archive = ArchiveService(cfg, nc, hooks=_hooks())
    await archive.start()
    assert await present(archive.writer).wait_idle(20)
    counts = present(archive.store).counts()
    kinds = [s.split(".")[1] for s, _ in events]
    assert counts["feedback"] == kinds.count("feedback")
    assert counts["flow"] == kinds.count("flow")
    assert counts["incident_steps"] == kinds.count("incident")
    assert present(archive.writer).skipped == {"missing_field": 1, "location_mismatch": 1}
    stored = set(present(archive.store).reader().execute(
        "SELECT location || ':' || id FROM feedback UNION ALL SELECT location || ':' || id "
        "FROM flow UNION ALL SELECT location || ':' || id FROM incident_steps").fetchall())
    assert stored == {(f"{b['location']}:{b['id']}",) for _, b in events}
    await archive.stop()
    await nc.close()


async def test_follower_forwards_queries_and_exports(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = config(data_dir=str(tmp_path))
    now = int(time.time() * 1000)
    events = make_events(400, now, random.Random(5))
    nc1 = await connect(cfg.nats, nats_server.url, "one")
    nc2 = await connect(cfg.nats, nats_server.url, "two")
    await ensure_streams(nc1.jetstream(), cfg)
    await _publish(nc1.jetstream(), events)
    leader = ArchiveService(cfg, nc1, hooks=_hooks())
    await leader.start()
    follower = ArchiveService(cfg, nc2, hooks=_hooks(), path=tmp_path / "other.duckdb")
    await follower.start()
    assert leader.leading and not follower.leading
    assert await present(leader.writer).wait_idle(20)
    today = dt.date.today()
    q = HistoryQuery(scope="r", metric="nps", by="day", first=today - dt.timedelta(days=1),
                     last=today)
    assert await follower.history(q) == await leader.history(q)
    page = await follower.feedback(FeedbackQuery(scope="network", q="очереди", limit=5))
    assert page.items and all("очеред" in (i.comment or "").lower() for i in page.items)
    local = b"".join([c async for c in leader.export("flow", "network", None, None)])
    remote = b"".join([c async for c in follower.export("flow", "network", None, None)])
    assert sorted(local.splitlines()) == sorted(remote.splitlines())
    assert len(local.splitlines()) == 1 + sum(s.startswith("cx.flow") for s, _ in events)
    # the leader stops: the follower takes over within the lease
    await leader.stop()
    for _ in range(50):
        if follower.leading:
            break
        await asyncio.sleep(0.1)
    assert follower.leading
    await follower.stop()
    await nc1.close()
    await nc2.close()


async def test_voice_utterances_and_encounters_are_kept_masked_never_audio(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = config(data_dir=str(tmp_path))
    now = int(time.time() * 1000)
    nc = await connect(cfg.nats, nats_server.url, "voice")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    utterance = {"id": "u1", "ts": now, "location": "a", "mic": "desk1", "start": now - 2000,
                 "end": now, "emotion": {"arousal": 0.4, "anger": 0.8}, "loudness_db": -20.0,
                 "keywords": [{"category": "greeting", "word": "здравствуйте", "t": now - 1900}],
                 "transcript": "Здравствуйте, мой номер +7 916 123-45-67"}
    encounter = {"id": "n1", "ts": now, "location": "a", "mic": "desk1", "start": now - 60000,
                 "end": now, "utterances": 3, "greeting": True, "thanks": False,
                 "farewell": True, "closed_by": "feedback", "rating": 0.75}
    await js.publish("cx.voice.a.desk1", json.dumps(utterance).encode())
    await js.publish("cx.encounter.a.desk1", json.dumps(encounter).encode())
    await nc.publish("cx.audio.a.desk1", b"\x00\x01" * 800)  # core NATS only, never stored
    archive = ArchiveService(cfg, nc, hooks=_hooks())
    await archive.start()
    assert await present(archive.writer).wait_idle(20)
    con = present(archive.store).reader()
    assert con.execute("SELECT mic, anger, transcript FROM voice_utterances").fetchall() == [
        ("desk1", pytest.approx(0.8), "Здравствуйте, мой номер [телефон]")]
    assert con.execute("SELECT greeting, farewell, rating FROM encounters").fetchall() == [
        (True, True, 0.75)]
    csv = b"".join([c async for c in archive.export("voice", "network", None, None)])
    assert b"[\xd1\x82" in csv and b"916" not in csv  # masked in the export too
    await archive.stop()
    await nc.close()


def test_a_backlog_postpones_the_periodic_rollups_at_most_a_minute(tmp_path: Path) -> None:
    """Catch up first: a backlog defers the periodic refresh, never beyond the bound."""
    archive = ArchiveService(config(data_dir=str(tmp_path)), None, hooks=_hooks())
    assert not archive._defer_rollups(time.monotonic())  # no writer: nothing to wait for
    archive.writer = SimpleNamespace(behind=True)  # type: ignore[assignment]
    assert archive._defer_rollups(time.monotonic())
    assert not archive._defer_rollups(time.monotonic() - ROLLUP_MAX_DEFER_S - 1)
    archive.writer = SimpleNamespace(behind=False)  # type: ignore[assignment]
    assert not archive._defer_rollups(time.monotonic())
