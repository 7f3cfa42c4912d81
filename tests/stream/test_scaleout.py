"""Partitioned core workers on a 3-node JetStream cluster (replicas 3): a node is killed
mid-burst, nothing is lost, and the network roll-up equals one engine over all events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from cxpulse.config import Config, load_config_text
from stream.core import Core
from stream.engine import MetricsEngine
from stream.nats_io import connect, ensure_streams
from stream.nats_server import EmbeddedNats, free_port
from stream.query import metrics
from stream.rollup import Rollup
from tests.stream.test_crash import make_events
from tests.support.checks import accepted, present

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


def worker_cfg(worker: int, workers: int = 3) -> Config:
    scale = f"\n[scale]\npartitions = 12\nworkers = {workers}\nworker = {worker}\n"
    return load_config_text(BASE + scale)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[EmbeddedNats]]:
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


async def _wait_jetstream(url: str, cfg: Config) -> None:
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


async def test_partitioned_workers_survive_a_node_kill(cluster: list[EmbeddedNats]) -> None:
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
            except Exception:  # noqa: BLE001 - whatever a node's death raises: publish again
                await asyncio.sleep(0.2)  # the cluster elects new leaders
        if k == 1500:
            cluster[1].kill()  # kill -9 a node mid-burst
    for core in workers:
        assert await core.wait_idle(60)
    assert sum(c.engine.applied for c in workers) == len(events)
    # redeliveries after the node death are recognised by event id and not counted again
    assert all(c.engine.applied > 0 for c in workers)  # the load really is split

    fixed_now = int(time.time() * 1000)
    scratch = MetricsEngine(cfgs[0])
    scratch.apply_batch([accepted(s.split(".")[1], s.split(".")[2], json.dumps(b).encode(),
                                        fixed_now) for s, b in events])
    rollup = Rollup(nc, cfgs[0])
    for scope in ("network", "r", "a", "b", "c", "j"):
        for window in ("1h", "today", "7d", "30d"):
            got = msgspec.to_builtins(await rollup.metrics(scope, window, fixed_now))
            want = msgspec.to_builtins(metrics(scratch, scope, window, fixed_now))
            for m in (got, want):  # problems compare with peers: each worker sees its own
                m["incidents"].pop("problems")
            assert got == want, (scope, window)
    assert len(await rollup.incidents("network", now_ms=fixed_now)) == len(
        [
            k
            for k in scratch.incidents.rows
            if scratch.incidents.cols.valid[scratch.incidents.rows[k]]
        ]
    )
    await nc.close()
    for core in workers:
        await core.stop()


async def test_server_reads_the_rollup_of_two_workers(nats_server: EmbeddedNats) -> None:
    """``cxpulse run`` with ``[scale] workers = 2`` owns no core: its API and websocket
    serve the roll-up of the workers, equal to one engine over all events."""
    import httpx
    import websockets

    from server.app import create_app, serve
    from stream.remote import RemoteReader

    text = BASE.replace("replicas = 3", "replicas = 1") + (
        '\n[[auth.tokens]]\nname = "admin"\nrole = "admin"\n'
        'sha256 = "cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c"\n')
    cfgs = [load_config_text(text + f"\n[scale]\npartitions = 8\nworkers = 2\nworker = {i}\n")
            for i in range(2)]
    workers = []
    for cfg in cfgs:
        core = Core(cfg, nats_server.url)
        await core.start()
        workers.append(core)
    events = make_events(600, int(time.time() * 1000), random.Random(9),
                         ("a", "b", "c", "d", "e", "f"))
    for subject, body in events:
        await present(workers[0].js).publish(subject, json.dumps(body).encode(),
                                    headers={"Nats-Msg-Id": body["id"]})
    for core in workers:
        assert await core.wait_idle(20)
    nc = await connect(cfgs[0].nats, nats_server.url, "readers")
    reader = RemoteReader(cfgs[0], nc)
    await reader.start()
    port = free_port()
    ready = asyncio.Event()
    server = asyncio.create_task(serve(create_app(cfgs[0], reader), "127.0.0.1", port,
                                       started=ready))
    await asyncio.wait_for(ready.wait(), 10)
    try:
        now = int(time.time() * 1000)
        scratch = MetricsEngine(cfgs[0])
        scratch.apply_batch([accepted(s.split(".")[1], s.split(".")[2],
                                            json.dumps(b).encode(), now) for s, b in events])
        want = metrics(scratch, "network", "today", now)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": "Bearer demo-admin"}) as http:
            got = (await http.get("/api/metrics/network", params={"window": "today"})).json()
            assert got["responses"] == want.responses > 0
            assert got["buttons"]["presses"] == want.buttons.presses
            assert got["incidents"]["opened"] == want.incidents.opened
            locs = (await http.get("/api/locations")).json()
            assert {loc["id"] for loc in locs} >= {"a", "b", "c", "d", "e", "f"}
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token=demo-admin") as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["metrics:r"],
                                      "windows": ["today"]}))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg.get("topic") == "metrics:r":
                    assert msg["type"] == "snapshot"
                    data = msg["data"]["windows"]["today"]
                    assert data["responses"] == metrics(scratch, "r", "today", now).responses
                    break
            else:
                raise AssertionError("no snapshot of metrics:r")
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
        await reader.stop()
        await nc.close()
        for core in workers:
            await core.stop()


DEVICE_RULES = """
[alerts]
group_wait_s = 0
group_interval_s = 0
min_eval_gap_s = 0
[[alerts.rules]]
id = "device-silent"
metric = "device.silent_minutes"
op = ">="
threshold = 30
"""


async def test_device_silent_fires_with_two_workers(nats_server: EmbeddedNats) -> None:
    """Seam bug: with ``[scale] workers = 2`` the alert service reads the roll-up, whose
    ``devices()`` must come from the partitioned workers (it used to answer ``{}``, so a
    terminal that fell silent never raised ``device-silent``)."""
    from alerting.service import AlertService
    from stream.remote import RemoteReader

    text = BASE.replace("replicas = 3", "replicas = 1") + DEVICE_RULES
    cfgs = [load_config_text(text + f"\n[scale]\npartitions = 8\nworkers = 2\nworker = {i}\n")
            for i in range(2)]
    workers = [Core(cfg, nats_server.url) for cfg in cfgs]
    for core in workers:
        await core.start()
    now = int(time.time() * 1000)
    heard = {("a", "term-1"): now - 120_000, ("b", "term-2"): now - 60_000,
             ("c", "term-3"): now - 30_000, ("d", "term-4"): now - 10_000}
    for k, ((loc, device), ts) in enumerate(heard.items()):
        body = {"id": f"dev-{k}", "ts": ts, "location": loc, "type": "button", "scale": 3,
                "value": 2, "device": device}
        await present(workers[0].js).publish(f"cx.feedback.{loc}", json.dumps(body).encode())
    for core in workers:
        assert await core.wait_idle(20)
    assert all(c.engine.devices for c in workers)  # the devices really are split
    nc = await connect(cfgs[0].nats, nats_server.url, "readers")
    reader = RemoteReader(cfgs[0], nc)
    await reader.start()
    clock = [now]  # started now; 45 min later the devices are known to be silent (a
    alerts = AlertService(cfgs[0], nc, reader, clock=lambda: clock[0])  # fresh start waits)
    await alerts.start()
    try:
        clock[0] = now + 45 * 60_000
        await alerts.evaluate()
        firing = {(a.scope, a.labels["device"]) for a in alerts.list_alerts()
                  if a.rule == "device-silent" and a.status == "firing"}
        assert firing == {("a", "term-1"), ("b", "term-2"), ("c", "term-3"), ("d", "term-4")}
        assert reader.devices() == heard  # the roll-up of both workers' device maps
    finally:
        await alerts.stop()
        await reader.stop()
        await nc.close()
        for core in workers:
            await core.stop()
