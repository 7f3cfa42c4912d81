"""10,000 malformed messages interleaved with valid ones (and re-sent valid ones) through a
real nats-server and the real core: no crash, every bad one in the DLQ exactly once with
its reason and its payload unchanged, every valid one counted once."""

from __future__ import annotations

import time
from collections import Counter

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from stream.core import Core
from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats
from tests.support.checks import present
from tests.support.faults import (
    assert_equals_scratch,
    config,
    interleave,
    malformed,
    publish_reliably,
    sim_items,
)

BAD = 10_000


async def read_all(js: JetStreamContext, stream: str, subject: str, count: int) -> list[Msg]:
    """Every message of ``stream`` through an ephemeral pull consumer."""
    assert (await js.stream_info(stream)).state.messages == count
    sub = await js.pull_subscribe(subject, stream=stream)
    out: list[Msg] = []
    while len(out) < count:
        msgs = await sub.fetch(min(500, count - len(out)), timeout=10)
        for msg in msgs:  # the consumer stops at 1,000 unacknowledged
            await msg.ack()
        out += msgs
    await sub.unsubscribe()
    return out


async def test_ten_thousand_malformed_interleaved(nats_server: EmbeddedNats) -> None:
    _, cfg = config()
    now_ms = int(time.time() * 1000)
    good = sim_items(cfg, 30, seed=11, now_ms=now_ms)
    again = [(s, p, f"again-{m}") for s, p, m in good[::10]]  # same event id, new msg id
    cases = [malformed(i, now_ms) for i in range(BAD)]
    expected = {eid: (subject, payload, code) for subject, payload, eid, code in cases}
    items = interleave(good + again, [c[:3] for c in cases])
    names = stream_names(cfg.nats.prefix)
    nc = await connect(cfg.nats, nats_server.url, "fuzz")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    core = Core(cfg, nats_server.url, clock=lambda: now_ms)
    await core.start()
    try:
        await publish_reliably(js, items, chunk=1000)
        assert await core.wait_idle(60)
        assert core.health()["core"] == "running"
        assert sum(core.engine.rejects.values()) == BAD
        assert core.engine.duplicates == len(again)
        assert_equals_scratch(core, items, now_ms)
        letters = await read_all(js, names["dlq"], "cx.dlq.>", BAD)
    finally:
        await core.stop(snapshot_state=False)
        await nc.close()

    assert len(letters) == BAD
    seen: Counter[str] = Counter()
    for msg in letters:
        h = present(msg.headers)
        eid = h["Cx-Orig-Nats-Msg-Id"]
        subject, payload, code = expected[eid]
        seen[eid] += 1
        assert msg.data == payload  # unchanged
        assert h["Cx-Original-Subject"] == subject
        assert h["Cx-Reason-Code"] == code, (eid, h["Cx-Reason"])
        assert len(h["Cx-Reason"]) > 10
    assert set(seen) == set(expected) and max(seen.values()) == 1
