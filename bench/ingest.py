"""Ingest benchmark: the core against a bare nats-py consumer on the same 1M-event stream.

Prints one table: the drain rate of a pull consumer that does nothing but fetch and ack,
the core's rate (validate + aggregate + ack, snapshots included), restart time with the
whole history in the stream (graceful: snapshot at stop; crash-like: replay the tail after
the last periodic snapshot), and the memory of the state for 1,000 locations x 30 days.

    .venv/bin/python bench/ingest.py [--events 1000000] [--locations 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from cxpulse.config import Config, load_config_text
from stream.core import Core
from stream.nats_io import connect, ensure_streams, stream_names
from stream.nats_server import EmbeddedNats

DAY_MS = 86_400_000


def network_config(locations: int) -> str:
    zones = ["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Samara"]
    lines = ["[core]", "snapshot_interval_s = 30", "snapshot_every_events = 100000",
             "max_locations = 5000"]
    for i in range(locations):
        lines += ["[[locations]]", f'id = "loc-{i:04d}"', f'region = "reg-{i % 10}"',
                  f'timezone = "{zones[i % len(zones)]}"']
    return "\n".join(lines)


def make_events(n: int, locations: int, now_ms: int, seed: int = 1) -> list[tuple[str, bytes, str]]:
    """Mixed contract events over the last 30 days (subject, payload, id)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        loc = f"loc-{rng.randrange(locations):04d}"
        ts = now_ms - int(rng.random() ** 2 * 30 * DAY_MS)
        eid = f"b{i}"
        base = {"id": eid, "ts": ts, "location": loc}
        r = rng.random()
        if r < 0.25:
            body, kind = {**base, "type": "nps", "value": rng.randint(0, 10),
                          "session": f"s{i // 2}"}, "feedback"
        elif r < 0.50:
            body, kind = {**base, "type": "button", "value": rng.randint(1, 4), "scale": 4,
                          "device": f"btn-{loc}"}, "feedback"
        elif r < 0.60:
            body, kind = {**base, "type": "visit"}, "feedback"
        elif r < 0.65:
            body, kind = {**base, "type": "csat", "value": rng.randint(1, 5),
                          "staff": f"st-{rng.randrange(8)}"}, "feedback"
        elif r < 0.70:
            body, kind = {**base, "type": "ces", "value": rng.randint(1, 7)}, "feedback"
        elif r < 0.80:
            body, kind = {**base, "type": "csi", "factor": "tangibles", "question": "clean",
                          "value": rng.randint(1, 5)}, "feedback"
        elif r < 0.98:
            body, kind = {**base, "channel": rng.choice(["phone", "site", "email", "social"]),
                          "answered": rng.random() < 0.9, "wait_s": round(rng.uniform(0, 200), 1),
                          "handle_s": round(rng.uniform(30, 600), 1)}, "flow"
        else:
            body, kind = (
                {
                    **base,
                    "incident": f"inc-{i}",
                    "action": "open",
                    "category": rng.choice(["claim", "service", "consultation", "thanks"]),
                },
                "incident",
            )
        out.append((f"cx.{kind}.{loc}", json.dumps(body).encode(), eid))
    return out


async def publish_all(url: str, cfg: Config, events: list[tuple[str, bytes, str]]) -> float:
    nc = await connect(cfg.nats, url, "bench-publisher")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    t0 = time.perf_counter()
    for k, (subject, payload, eid) in enumerate(events):
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": eid})
        if k % 20_000 == 19_999:
            await js.publish_async_completed()
    await js.publish_async_completed()
    elapsed = time.perf_counter() - t0
    await nc.close()
    return len(events) / elapsed


async def add_drain_consumer(js: JetStreamContext, stream: str, name: str) -> None:
    """A durable consumer over the whole stream with explicit acks, as the core's."""
    await js.add_consumer(stream, ConsumerConfig(
        durable_name=name, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=-1))


async def bare_drain(url: str, cfg: Config, total: int) -> float:
    """A pull consumer that only fetches and acks each message (explicit acks, like the core)."""
    nc = await connect(cfg.nats, url, "bench-bare")
    js = nc.jetstream()
    stream = stream_names("cx")["input"]
    await add_drain_consumer(js, stream, "bare")
    sub = await js.pull_subscribe_bind("bare", stream=stream, pending_msgs_limit=200_000)
    got = 0
    t0 = time.perf_counter()
    while got < total:
        msgs = await sub.fetch(cfg.core.batch_size, timeout=2)
        got += len(msgs)
        for msg in msgs:
            await msg.ack()
    rate = got / (time.perf_counter() - t0)
    await js.delete_consumer(stream, "bare")
    await nc.close()
    return rate


async def lean_drain(url: str, cfg: Config, total: int) -> float:
    """The core's own pull loop (stream.pull.BatchPuller) doing nothing but ack."""
    from stream.pull import BatchPuller

    nc = await connect(cfg.nats, url, "bench-lean")
    js = nc.jetstream()
    stream = stream_names("cx")["input"]
    await add_drain_consumer(js, stream, "lean")
    puller = await BatchPuller(nc, stream, "lean").start()
    got = 0
    t0 = time.perf_counter()
    while got < total:
        msgs = await puller.fetch(cfg.core.batch_size, 2)
        got += len(msgs)
        await puller.ack(msgs)
    rate = got / (time.perf_counter() - t0)
    await js.delete_consumer(stream, "lean")
    await nc.close()
    return rate


async def core_drain(url: str, cfg: Config, total_seq: int) -> tuple[float, Core]:
    core = Core(cfg, url)
    t0 = time.perf_counter()
    await core.start()
    while core.engine.last_seq < total_seq:
        await asyncio.sleep(0.01)
    return total_seq / (time.perf_counter() - t0), core


async def restart(url: str, cfg: Config, total_seq: int) -> float:
    t0 = time.perf_counter()
    core = Core(cfg, url)
    await core.start()
    while core.engine.last_seq < total_seq:
        await asyncio.sleep(0.005)
    ready = time.perf_counter() - t0
    await core.stop(snapshot_state=False)
    return ready


async def main(args: argparse.Namespace) -> None:
    cfg = load_config_text(network_config(args.locations))
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp) / "js").start()
        try:
            now_ms = int(time.time() * 1000)
            t0 = time.perf_counter()
            events = make_events(args.events, args.locations, now_ms)
            print(
                f"generated {len(events):,} events in {time.perf_counter() - t0:.1f} s", flush=True
            )
            pub_rate = await publish_all(server.url, cfg, events)
            print(f"published at {pub_rate:,.0f} events/s", flush=True)
            del events
            bare = await bare_drain(server.url, cfg, args.events)
            print(f"bare drain {bare:,.0f} events/s", flush=True)
            lean = await lean_drain(server.url, cfg, args.events)
            print(f"lean drain {lean:,.0f} events/s", flush=True)
            rss0 = proc.memory_info().rss
            core_rate, core = await core_drain(server.url, cfg, args.events)
            rss1 = proc.memory_info().rss
            state = core.engine.state_nbytes()
            locs = len(core.engine.geo.places)
            print(f"core {core_rate:,.0f} events/s", flush=True)
            t1 = time.perf_counter()
            await core.stop()  # graceful: final snapshot
            stop_s = time.perf_counter() - t1
            graceful = await restart(server.url, cfg, args.events)
            # crash-like: the last snapshot is the graceful one; publish a tail and restart
            # without a snapshot at stop, so the tail is replayed
            tail = make_events(args.events // 10, args.locations, now_ms, seed=2)
            tail = [(s, p.replace(b'"id": "b', b'"id": "t'), "t" + e) for s, p, e in tail]
            await publish_all(server.url, cfg, tail)
            crash = await restart(server.url, cfg, args.events + len(tail))
        finally:
            server.stop()
    ratio = core_rate / bare
    rows = [
        ("bare nats-py pull drain (fetch + ack each)", f"{bare:,.0f} ev/s", "peer"),
        ("bare drain with the core's pull loop (stream.pull)", f"{lean:,.0f} ev/s", "peer"),
        ("core: validate + aggregate + ack", f"{core_rate:,.0f} ev/s", ">= 30,000 ev/s"),
        ("core / bare nats-py drain", f"{ratio:.0%}", ">= 50%"),
        ("core / bare drain with the same pull loop", f"{core_rate / lean:.0%}", ""),
        (f"restart, {args.events:,} in history, snapshot at stop", f"{graceful:.2f} s", "<= 5 s"),
        (f"restart after crash, {len(tail):,}-event tail to replay", f"{crash:.2f} s", "<= 5 s"),
        ("graceful stop (final snapshot)", f"{stop_s:.2f} s", ""),
        (f"state memory, {locs:,} locations x 30 days (numpy tables + id index)",
         f"{state / 2**20:,.0f} MiB", "<= 300 MB"),
        ("process RSS growth while the core ingested", f"{(rss1 - rss0) / 2**20:,.0f} MiB", ""),
        ("publish rate (publish_async)", f"{pub_rate:,.0f} ev/s", ""),
    ]
    print(f"\n## Ingest ({os.cpu_count()} cores, {args.events:,} mixed events, "
          f"{args.locations:,} locations)\n")
    print("| figure | value | target |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    if args.json:  # for bench/run_all.py: the core's rate against its peer in this run
        out = [{"figure": f, "value": v, "target": t} for f, v, t in rows if t != "peer"]
        out[0].update(peer=f"{bare:,.0f} ev/s (bare nats-py drain)", ratio=f"{ratio:.2f}")
        Path(args.json).write_text(json.dumps({"title": "Ingest", "rows": out}, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--json", default=None, help="also write the table as JSON here")
    asyncio.run(main(parser.parse_args()))
