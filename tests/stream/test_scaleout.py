"""Partitioned core workers on a 3-node JetStream cluster (replicas 3): a node is killed
mid-burst, nothing is lost, and the network roll-up equals one engine over all events."""

from __future__ import annotations

import asyncio
import json
import random
import time

import msgspec
import pytest

from stream.config import load_config_text
from stream.core import Core
from stream.engine import MetricsEngine
from stream.events import validate_event
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats, free_port
from stream.query import metrics
from stream.rollup import Rollup
from tests.stream.test_crash import make_events

BASE = """
[nats]
replicas = 3
[core]
snapshot_interval_s = 1
[[locations]]
id = "a"
region = "r"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Yekaterinburg"
"""


def worker_cfg(worker: int, workers: int = 3):
    return load_config_text(BASE + f"\n[scale]\npartitions = 12\nworkers = {workers}\nworker = {worker}\n")


@pytest.fixture
def cluster(tmp_path):
    ports = [free_port() for _ in range(3)]
    cports = [free_port() for _ in range(3)]
    routes = [f"nats://127.0.0.1:{p}" for p in cports]
    nodes = [EmbeddedNats(tmp_path / f"n{i}", port=ports[i], server_name=f"n{i}",
                          cluster_name="cx", cluster_port=cports[i], routes=routes)
             for i in range(3)]
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


async def _wait_jetstream(url: str, cfg) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            nc = await connect(cfg.nats, url, "probe", attempts=1)
            await ensure_streams(nc.jetstream(), cfg)
            await nc.close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_partitioned_workers_survive_a_node_kill(cluster):
    urls = [n.url for n in cluster]
    cfgs = [worker_cfg(i) for i in range(3)]
    await _wait_jetstream(",".join(urls), cfgs[0])
    workers = []
    for i in range(3):
        order = urls[i:] + urls[:i]
        core = Core(cfgs[i], ",".join(order), name=f"core-{i}")
        await core.start()
        workers.append(core)
    rng = random.Random(3)
    now_ms = int(time.time() * 1000)
    events = make_events(4000, now_ms, rng, ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"))
    nc = await connect(cfgs[0].nats, ",".join(urls), "publisher")
    js = nc.jetstream()
    for k, (subject, body) in enumerate(events):
        data = json.dumps(body).encode()
        while True:
            try:
                await js.publish(subject, data, headers={"Nats-Msg-Id": body["id"]}, timeout=5)
                break
            except Exception:
                await asyncio.sleep(0.2)  # the cluster elects new leaders; publish again
        if k == 1500:
            cluster[1].kill()  # kill -9 a node mid-burst
    for core in workers:
        assert await core.wait_idle(60)
    assert sum(c.engine.applied for c in workers) == len(events)
    # redeliveries after the node death are recognised by event id and not counted again
    assert all(c.engine.applied > 0 for c in workers)  # the load really is split

    fixed_now = int(time.time() * 1000)
    scratch = MetricsEngine(cfgs[0])
    scratch.apply_batch([validate_event(s.split(".")[1], s.split(".")[2], json.dumps(b).encode(),
                                        fixed_now) for s, b in events])
    rollup = Rollup(nc, cfgs[0])
    for scope in ("network", "r", "a", "b", "c", "j"):
        for window in ("1h", "today", "7d", "30d"):
            got = msgspec.to_builtins(await rollup.metrics(scope, window, fixed_now))
            want = msgspec.to_builtins(metrics(scratch, scope, window, fixed_now))
            assert got == want, (scope, window)
    assert len(await rollup.incidents("network", now_ms=fixed_now)) == len(
        [k for k in scratch.incidents.rows if scratch.incidents.cols.valid[scratch.incidents.rows[k]]])
    await nc.close()
    for core in workers:
        await core.stop()
