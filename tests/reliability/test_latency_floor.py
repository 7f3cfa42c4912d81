"""Publish -> applied latency of a lone event on an idle core: no latency floor.

Regression test: the pull loop used to wait for a full batch or the 0.5 s expiry, so below
``batch_size`` events per 0.5 s every event waited ~0.5 s (see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from stream.core import Core
from stream.nats_server import EmbeddedNats
from tests.support.faults import config


async def test_lone_event_is_applied_within_100_ms(nats_server: EmbeddedNats) -> None:
    _, cfg = config()
    core = Core(cfg, nats_server.url)
    await core.start()
    try:
        await core.wait_idle(10)
        latencies = []
        for i in range(5):
            applied = core.engine.applied
            body = {"id": f"lone-{i}", "ts": int(time.time() * 1000), "location": "a",
                    "type": "visit"}
            t0 = time.perf_counter()
            assert await core.publish_input("feedback", "a", json.dumps(body).encode()) is None
            while core.engine.applied == applied:
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)
        assert statistics.median(latencies) < 0.1, [round(x, 3) for x in latencies]
    finally:
        await core.stop(snapshot_state=False)
