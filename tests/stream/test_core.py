"""The core behind a real nats-server: ingest, duplicates, dead letters, snapshot restart."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from nats.js import JetStreamContext

from cxpulse.config import load_config_text
from stream.core import Core
from stream.engine import MetricsEngine
from stream.nats_io import connect, stream_names
from stream.nats_server import EmbeddedNats
from stream.query import metrics
from tests.support.checks import accepted, present

CFG = load_config_text("""
[core]
snapshot_interval_s = 3600
[[locations]]
id = "a"
region = "r"
[[locations]]
id = "b"
region = "r"
""")


def ev(i: int, loc: str = "a", **fields: Any) -> dict[str, Any]:
    body = {"id": f"ev-{i}", "ts": int(time.time() * 1000) - 1000, "location": loc, "type": "nps",
            "value": i % 11}
    body.update(fields)
    return body


async def publish(js: JetStreamContext, subject: str, body: bytes | dict[str, Any],
                  msg_id: str | None = None) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    await js.publish(subject, data, headers=headers)


@pytest.fixture
async def core(nats_server: EmbeddedNats) -> AsyncIterator[Core]:
    c = Core(CFG, nats_server.url)
    await c.start()
    yield c
    await c.stop()


async def test_events_are_counted_once(core: Core) -> None:
    js = present(core.js)
    for i in range(30):
        await publish(js, "cx.feedback.a", ev(i), f"ev-{i}")
    # a redelivery beyond JetStream's duplicate window: another Nats-Msg-Id, same event id
    await publish(js, "cx.feedback.a", ev(3), "redelivered-3")
    await publish(js, "cx.flow.b", {"id": "f1", "ts": int(time.time() * 1000), "location": "b",
                                    "channel": "phone", "answered": True, "wait_s": 12.5}, "f1")
    assert await core.wait_idle()
    m = core.metrics("a", "1h")
    assert m.responses == 30
    assert core.health()["duplicates"] == 1
    region = core.metrics("r", "today")
    assert region.responses == 30 and region.flow.contacts == 1
    assert region.flow.mean_wait_s == pytest.approx(12.5)


BAD = [
    ("cx.feedback.a", b"{not json", "not_json"),
    ("cx.feedback.a", b"[1]", "not_object"),
    ("cx.feedback.a", json.dumps(ev(900, value="x")).encode(), "invalid_field"),
    ("cx.feedback.a", json.dumps(ev(901, value=12)).encode(), "out_of_range"),
    ("cx.feedback.a", json.dumps(ev(902, type="smile")).encode(), "unknown_type"),
    ("cx.feedback.a", json.dumps(ev(903, location="b")).encode(), "location_mismatch"),
    ("cx.feedback.a", json.dumps(ev(904, comment="x" * 70_000)).encode(), "too_large"),
    ("cx.feedback.a", json.dumps(ev(905, ts=int(time.time() * 1000) + 3_600_000)).encode(),
     "future_ts"),
    ("cx.feedback.a", json.dumps(ev(906, ts=1_000_000_000_000)).encode(), "too_old_ts"),
    ("cx.feedback.a.extra", json.dumps(ev(907)).encode(), "bad_subject"),
    ("cx.flow.a", json.dumps({"id": "x", "ts": 1, "location": "a", "channel": "fax"}).encode(),
     "invalid_field"),
    ("cx.incident.a", json.dumps({"id": "y", "ts": int(time.time() * 1000), "location": "a",
                                  "incident": "i", "action": "open"}).encode(), "invalid_field"),
]


async def test_each_bad_input_lands_in_the_dlq_between_valid_ones(
    core: Core, nats_server: EmbeddedNats
) -> None:
    nc = await connect(CFG.nats, nats_server.url, "dlq-test")
    js = nc.jetstream()
    for i, (subject, payload, _) in enumerate(BAD):
        await publish(js, "cx.feedback.a", ev(i), f"ok-{i}")
        await nc.publish(subject, payload)  # plain publish: still captured by the stream
    await nc.flush()
    await publish(js, "cx.feedback.b", ev(99, "b"), "ok-last")
    assert await core.wait_idle()
    assert core.metrics("network", "1h").responses == len(BAD) + 1
    info = await js.stream_info(stream_names("cx")["dlq"])
    assert info.state.messages == len(BAD)
    sub = await js.pull_subscribe("cx.dlq.>", "check")
    msgs = await sub.fetch(len(BAD), timeout=2)
    seen = [(present(m.headers)["Cx-Original-Subject"], present(m.headers)["Cx-Reason-Code"],
             m.data) for m in msgs]
    assert seen == [(s, code, p) for s, p, code in BAD]
    assert all(len(present(m.headers)["Cx-Reason"]) > 10 for m in msgs)
    rejected = core.health()["rejected"]
    assert isinstance(rejected, dict) and sum(rejected.values()) == len(BAD)
    await nc.close()


async def test_restart_from_snapshot_then_replay(nats_server: EmbeddedNats) -> None:
    c1 = Core(CFG, nats_server.url)
    await c1.start()
    for i in range(50):
        await publish(present(c1.js), f"cx.feedback.{'ab'[i % 2]}", ev(i, "ab"[i % 2]), f"ev-{i}")
    assert await c1.wait_idle()
    assert await c1.save_snapshot() > 0
    for i in range(50, 80):  # after the snapshot: must be replayed
        await publish(present(c1.js), "cx.feedback.a", ev(i), f"ev-{i}")
    assert await c1.wait_idle()
    before = c1.metrics("network", "today")
    await c1.stop(snapshot_state=False)

    c2 = Core(CFG, nats_server.url)
    await c2.start()
    assert await c2.wait_idle()
    after = c2.metrics("network", "today")
    assert msgspec.structs.replace(after, end_ms=0) == msgspec.structs.replace(before, end_ms=0)
    assert c2.engine.applied == 80
    # and equal to a from-scratch recomputation over the same events
    scratch = MetricsEngine(CFG)
    now = int(time.time() * 1000)
    scratch.apply_batch([accepted("feedback", "ab"[i % 2] if i < 50 else "a",
                                        json.dumps(ev(i, "ab"[i % 2] if i < 50 else "a")).encode(),
                                        now) for i in range(80)])
    assert metrics(scratch, "network", "today", now).responses == before.responses == 80
    await c2.stop()


async def test_voice_events_and_encounters_are_aggregated(core: Core) -> None:
    now = int(time.time() * 1000)
    utt = {"id": "u1", "ts": now, "location": "a", "mic": "desk1", "start": now - 2000,
           "end": now, "emotion": {"arousal": 0.9, "anger": 0.8}, "loudness_db": -12.0,
           "keywords": [{"category": "escalation", "word": "жалоба", "t": now - 1000}],
           "transcript": "я напишу жалобу"}
    enc = {"id": "c1", "ts": now, "location": "a", "mic": "desk1", "start": now - 60_000,
           "end": now, "utterances": 4, "greeting": True, "thanks": False, "farewell": True,
           "rating": 0.25, "closed_by": "feedback"}
    await publish(present(core.js), "cx.voice.a.desk1", utt, "u1")
    await publish(present(core.js), "cx.encounter.a.desk1", enc, "c1")
    await publish(present(core.js), "cx.voice.a.desk2", {**utt, "id": "u2"}, "u2")  # mic mismatch
    assert await core.wait_idle()
    v = core.metrics("a", "1h").voice
    assert (v.utterances, v.anger_events, v.keywords["escalation"], v.encounters) == (1, 1, 1, 1)
    assert v.compliance == {"greeting": 1.0, "thanks": 0.0, "farewell": 1.0, "all": 0.0}
    assert v.rating_with_greeting == pytest.approx(0.25) and v.rating_without_greeting is None
    assert core.health()["rejected"] == {"location_mismatch": 1}
    assert ("a", "desk1") in core.devices()
