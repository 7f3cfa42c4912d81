"""Fault run: a flood from ONE device user at full speed against ``cxpulse run``.

Starts ``cxpulse run`` (embedded NATS with its generated users, small stream limits),
takes the device login from ``cxpulse nats-user device`` as a terminal would, and
publishes ``--events`` events as fast as JetStream acks them (a share of them invalid, so
the dead-letter stream fills too). Meanwhile it polls ``/api/health`` and
``/api/metrics/network`` and samples the memory of ``cxpulse run`` and its nats-server.
Prints one table: the flood's rate, the disk the streams reached against their
``max_bytes``, how much input JetStream discarded (oldest first) and how much the core
still counted, the dead letters, and whether the core stayed healthy.

    .venv/bin/python bench/flood.py [--events 100000] [--input-mb 20] [--dlq-mb 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats

from stream.access import hash_token
from stream.nats_io import stream_names
from stream.nats_server import free_port
from stream.natsauth import inbox_prefix

TOKEN = "flood-bench-admin"
MB = 1 << 20


def config_text(data_dir: Path, nats_port: int, http_port: int, input_mb: int,
                dlq_mb: int) -> str:
    return f"""
[core]
data_dir = "{data_dir}"
[nats]
embedded_port = {nats_port}
max_bytes_input = {input_mb * MB}
max_bytes_dlq = {dlq_mb * MB}
[server]
port = {http_port}
[voice]
enabled = false
[[auth.tokens]]
name = "bench"
sha256 = "{hash_token(TOKEN)}"
role = "admin"
[[locations]]
id = "shop-1"
[[locations]]
id = "shop-2"
"""


def login_of(config: Path, role: str = "device") -> dict[str, str]:
    """The head of ``cxpulse nats-user ROLE`` (what an operator hands a device)."""
    out = subprocess.run([sys.executable, "-m", "cxpulse.cli", "nats-user", role, "--config",
                          str(config)], capture_output=True, text=True, check=True).stdout
    head = out.split("\n\n", 1)[0]
    return {k.strip(): v.strip().split("   ")[0]
            for k, v in (line.split(":", 1) for line in head.splitlines())}


def event(i: int, now_ms: int, invalid_every: int) -> tuple[str, bytes]:
    loc = "shop-1" if i % 2 else "shop-2"
    body: dict[str, Any] = {"id": f"f-{i}", "ts": now_ms, "location": loc, "type": "nps",
                            "value": i % 11, "device": f"{loc}-term1",
                            "comment": "очередь двигалась медленно " * 6}
    if invalid_every and i % invalid_every == 0:
        body["value"] = 42  # out of range: a dead letter
    return f"cx.feedback.{loc}", json.dumps(body).encode()


@dataclass
class Watch:
    """What the poller saw while the flood ran."""

    health: list[tuple[float, bool]] = field(default_factory=list)  # (latency s, ok)
    metrics: list[float] = field(default_factory=list)
    rss_run: list[int] = field(default_factory=list)
    rss_nats: list[int] = field(default_factory=list)


async def poll(base: str, proc: psutil.Process, watch: Watch, stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                r = await http.get("/api/health")
                ok = r.status_code == 200 and r.json()["status"] == "ok"
            except httpx.HTTPError:
                ok = False
            watch.health.append((time.perf_counter() - t0, ok))
            t0 = time.perf_counter()
            r = await http.get("/api/metrics/network", params={"window": "1h"})
            if r.status_code == 200:
                watch.metrics.append(time.perf_counter() - t0)
            watch.rss_run.append(proc.memory_info().rss)
            kids = [c for c in proc.children() if "nats-server" in c.name()]
            watch.rss_nats.append(sum(c.memory_info().rss for c in kids))
            await asyncio.sleep(0.5)


async def flood(url: str, login: dict[str, str], n: int, invalid_every: int) -> float:
    """Publish ``n`` events as the device, as fast as acks come; returns seconds taken."""
    nc = await nats.connect(url, user=login["user"], password=login["password"],
                            inbox_prefix=login["inbox prefix"])
    js = nc.jetstream(publish_async_max_pending=4000)
    now_ms = int(time.time() * 1000)
    t0 = time.perf_counter()
    for i in range(n):
        subject, body = event(i, now_ms, invalid_every)
        await js.publish_async(subject, body, headers={"Nats-Msg-Id": f"{subject[12:]}:f-{i}"})
    await js.publish_async_completed()
    took = time.perf_counter() - t0
    await nc.close()
    return took


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def stream_figures(url: str, config: Path) -> dict[str, Any]:
    admin = login_of(config, "admin")
    nc = await nats.connect(url, user=admin["user"], password=admin["password"],
                            inbox_prefix=inbox_prefix(admin["user"]))
    js = nc.jetstream()
    names = stream_names("cx")
    out = {}
    for key in ("input", "dlq"):
        info = await js.stream_info(names[key])
        out[key] = (info.state.messages, info.state.bytes, info.config.max_bytes,
                    info.state.first_seq, info.state.last_seq)
    await nc.close()
    return out


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="cxpulse-flood-"))
    nats_port, http_port = free_port(), free_port()
    config = work / "config.toml"
    config.write_text(config_text(work / "var", nats_port, http_port, args.input_mb,
                                  args.dlq_mb))
    log = open(work / "run.log", "wb")  # noqa: SIM115 - the child's for its lifetime
    proc = subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "run", "--config",
                             str(config), "--no-dashboards"], stdout=log,
                            stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)
    base, url = f"http://127.0.0.1:{http_port}", f"nats://127.0.0.1:{nats_port}"
    try:
        await wait_healthy(base, proc)
        login = login_of(config)
        watch, stop = Watch(), asyncio.Event()
        poller = asyncio.create_task(poll(base, psutil.Process(proc.pid), watch, stop))
        await asyncio.sleep(1.0)
        rss_before = watch.rss_run[-1]
        took = await flood(url, login, args.events, args.invalid_every)
        health = await settle(base, args.events)
        await asyncio.sleep(1.0)
        stop.set()
        await poller
        figures = await stream_figures(url, config)
        report(args, took, health, figures, watch, rss_before, du(work / "var" / "jetstream"))
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


async def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit("cxpulse run exited")
            try:
                if (await http.get("/api/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("cxpulse run never became healthy")


async def settle(base: str, n: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """The core's health once it has dealt with everything still in the stream."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            health: dict[str, Any] = (await http.get("/api/health")).json()
            if health == last or health.get("last_seq", 0) >= n:
                return health
            last = health
            await asyncio.sleep(1.0)
        return last


def report(args: argparse.Namespace, took: float, health: dict[str, Any],
           figures: dict[str, Any], watch: Watch, rss_before: int, disk: int) -> None:
    n_in, b_in, max_in, first_in, last_in = figures["input"]
    n_dlq, b_dlq, max_dlq, _, _ = figures["dlq"]
    ok = sum(1 for _, good in watch.health if good)
    rows = [
        ("events published by one device user", f"{args.events:,}"),
        ("flood rate (JetStream-acked)", f"{args.events / took:,.0f} events/s in {took:.1f} s"),
        ("input stream: bytes / max_bytes", f"{b_in / MB:.1f} MiB / {max_in / MB:.0f} MiB "
                                            f"({n_in:,} messages kept)"),
        ("input discarded by the limit (oldest)", f"{first_in - 1:,} of {last_in:,}"),
        ("core: applied / rejected / duplicates",
         f"{health.get('applied', 0):,} / {sum(health.get('rejected', {}).values()):,} / "
         f"{health.get('duplicates', 0):,}"),
        ("DLQ: messages, bytes / max_bytes", f"{n_dlq:,}, {b_dlq / MB:.1f} MiB / "
                                             f"{max_dlq / MB:.0f} MiB"),
        ("JetStream dir on disk (all streams, KV)", f"{disk / MB:.1f} MiB"),
        ("/api/health ok during the run", f"{ok} / {len(watch.health)} polls, max "
         f"{max(t for t, _ in watch.health) * 1000:.0f} ms"),
        ("/api/metrics served", f"{len(watch.metrics)} polls, max "
         f"{max(watch.metrics or [0]) * 1000:.0f} ms"),
        ("cxpulse run RSS: before / peak / after", f"{rss_before / MB:.0f} / "
         f"{max(watch.rss_run) / MB:.0f} / {watch.rss_run[-1] / MB:.0f} MiB"),
        ("nats-server RSS: peak / after", f"{max(watch.rss_nats) / MB:.0f} / "
         f"{watch.rss_nats[-1] / MB:.0f} MiB"),
        ("core status after", str(health.get("status"))),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\nFlood: {args.events:,} events from one device user, every "
          f"{args.invalid_every}th invalid (cores: {os.cpu_count()})")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--input-mb", type=int, default=20)
    p.add_argument("--dlq-mb", type=int, default=4)
    p.add_argument("--invalid-every", type=int, default=10, metavar="K",
                   help="every K-th event is invalid (dead letter); 0: none")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
