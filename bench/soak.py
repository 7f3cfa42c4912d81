"""Soak: the simulator's ``load`` scenario against the core process for a long run.

One embedded nats-server, ``cxpulse run --no-dashboards`` (core, alert service, HTTP and
websocket server) as its own process, so its RSS is its own, and
this process publishing the scenario's events as accelerated event time passes (``--speed``
event seconds per wall second, ending at the present, as ``cxpulse simulate`` does). Every
``--sample-s`` it records its RSS and the metric state's size (``/api/health``
``state_bytes``: the numpy tables and the id index, which grow with the events retained —
over 35 days of retention, longer than any soak covers), the consumer lag (messages stored
but not yet acknowledged by the core) and the publish -> applied latency of probe events: one
``visit`` at a location of its own, in flight at a time; it is applied when that location
appears on the core's ``changed`` feed.

Stable means: RSS *minus the state* and latency in the last third are close to the middle
third (the first third is warm-up), and the lag does not grow. The curves go
to bench/soak.png; the figures to a ``| figure | value | target |`` table (and ``--json``).

    .venv/bin/python bench/soak.py [--duration-s 1800] [--speed 60] [--locations 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cxpulse.config import Config, load_config_text  # noqa: E402
from simulators.model import build_network  # noqa: E402
from simulators.traffic import Traffic, make_plan, questionnaire  # noqa: E402
from stream.events import encode  # noqa: E402
from stream.nats_io import connect, ensure_streams, stream_names  # noqa: E402
from stream.nats_server import EmbeddedNats, free_port  # noqa: E402
from stream.subjects import Subjects  # noqa: E402

PROBE = "soak-probe"


@dataclass
class Sample:
    t_s: float
    rss_mb: float
    nats_rss_mb: float
    lag: int
    published: int
    state_mb: float  # the core's last snapshot: the metric state itself
    latencies_ms: list[float] = field(default_factory=list)


def config_text(locations: int, data_dir: str, nats_url: str, port: int) -> str:
    zones = ["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Samara"]
    lines = ["[core]", f'data_dir = "{data_dir}"', "snapshot_interval_s = 30",
             "[nats]", f'url = "{nats_url}"', "[server]", f"port = {port}",
             "[auth]", "enabled = false"]
    for i in range(locations):
        lines += ["[[locations]]", f'id = "loc-{i:03d}"', f'region = "reg-{i % 4}"',
                  f'timezone = "{zones[i % 4]}"']
    return "\n".join(lines) + "\n"


class Probes:
    """One probe event in flight; its latency is taken when the core reports its scope."""

    def __init__(self) -> None:
        self.sent_at: float | None = None
        self.done: list[float] = []

    def on_changed(self, scopes: list[str]) -> None:
        if self.sent_at is not None and PROBE in scopes:
            self.done.append((time.perf_counter() - self.sent_at) * 1000)
            self.sent_at = None

    def payload(self) -> bytes:
        ts = int(time.time() * 1000)
        return json.dumps({"id": f"probe-{uuid.uuid4().hex}", "ts": ts, "location": PROBE,
                           "type": "visit"}).encode()


async def drive(args: argparse.Namespace, url: str, cfg: Config, core: psutil.Process,
                nats_proc: psutil.Process) -> list[Sample]:
    subjects = Subjects(cfg.nats.prefix)
    names = stream_names(cfg.nats.prefix)
    nc = await connect(cfg.nats, url, "soak")
    js = nc.jetstream(publish_async_max_pending=4000)
    probes = Probes()

    async def on_changed(msg: Msg) -> None:
        probes.on_changed(json.loads(msg.data))

    await nc.subscribe(subjects.changed, cb=on_changed)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", timeout=5)
    network = build_network(cfg)
    now_ms = int(time.time() * 1000)
    span_ms = int(args.duration_s * args.speed * 1000)
    plan = make_plan(network, "load", now_ms - span_ms, now_ms + int(args.duration_s * 1000),
                     seed=args.seed)
    traffic = Traffic(plan, network, questionnaire(cfg))
    samples: list[Sample] = []
    published = 0
    t0 = time.perf_counter()
    next_sample = t0 + args.sample_s
    pending_lat: list[float] = []
    while (elapsed := time.perf_counter() - t0) < args.duration_s:
        clock_ms = plan.start_ms + int(elapsed * args.speed * 1000)
        for e in traffic.advance(clock_ms):
            await js.publish_async(subjects.input(e.kind, e.location), encode(e.event),
                                   headers={"Nats-Msg-Id": e.event.id})
            published += 1
        if probes.sent_at is None:
            pending_lat += probes.done
            probes.done.clear()
            probes.sent_at = time.perf_counter()
            await js.publish_async(subjects.input("feedback", PROBE), probes.payload())
        if time.perf_counter() >= next_sample:
            next_sample += args.sample_s
            info = await js.consumer_info(names["input"], "core")
            state = await state_mb(http, samples[-1].state_mb if samples else 0.0)
            samples.append(Sample(time.perf_counter() - t0, core.memory_info().rss / 2**20,
                                  nats_proc.memory_info().rss / 2**20,
                                  info.num_pending + info.num_ack_pending, published,
                                  state, pending_lat))
            pending_lat = []
            s = samples[-1]
            lat = f"{statistics.median(s.latencies_ms):.0f} ms" if s.latencies_ms else "-"
            print(f"{s.t_s:7.0f} s  rss {s.rss_mb:6.1f} MB  state {s.state_mb:5.1f} MB  "
                  f"lag {s.lag:6d}  published "
                  f"{published:9,d}  latency p50 {lat}", flush=True)
        await asyncio.sleep(0.05)
    await js.publish_async_completed()
    await http.aclose()
    await nc.close()
    return samples


async def state_mb(http: httpx.AsyncClient, previous: float) -> float:
    """The core's metric state (numpy tables + id index), from ``/api/health``, in MB."""
    try:
        return float((await http.get("/api/health")).json()["state_bytes"]) / 2**20
    except (httpx.HTTPError, KeyError, ValueError):
        return previous


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def thirds(samples: list[Sample]) -> tuple[list[Sample], list[Sample], list[Sample]]:
    n = len(samples)
    return samples[: n // 3], samples[n // 3: 2 * n // 3], samples[2 * n // 3:]


def figures(samples: list[Sample], duration_s: float) -> list[dict[str, str]]:
    """The table: late-run figures against the same figures mid-run (the peer)."""
    _, mid, late = thirds(samples)
    rss_mid = statistics.mean(s.rss_mb for s in mid)
    rss_late = statistics.mean(s.rss_mb for s in late)
    lat_mid = [v for s in mid for v in s.latencies_ms]
    lat_late = [v for s in late for v in s.latencies_ms]
    rate = samples[-1].published / samples[-1].t_s
    lag_mid = max(s.lag for s in mid)
    lag_late = max(s.lag for s in late)

    def row(figure: str, value: float, unit: str, target: str, peer: float | None = None) -> dict:
        fmt = ",.0f" if unit in ("events", "msgs", "ev/s") else ",.1f"
        out = {"figure": figure, "value": f"{value:{fmt}} {unit}", "target": target}
        if peer is not None:
            out["peer"] = f"{peer:{fmt}} {unit} (middle third)"
            out["ratio"] = f"{value / peer:.2f}" if peer else ""
        return out

    return [
        row(
            "events published (load scenario)",
            samples[-1].published,
            "events",
            f"{duration_s / 60:.0f} min",
        ),
        row("mean publish rate", rate, "ev/s", ""),
        row("cxpulse run RSS, last third (mean)", rss_late, "MB", "ratio <= 1.10", rss_mid),
        row("cxpulse run RSS, peak", max(s.rss_mb for s in samples), "MB", ""),
        row(
            "metric state (tables + id index) at the end",
            samples[-1].state_mb,
            "MB",
            "grows with retained events",
        ),
        row(
            "RSS minus metric state, last third",
            statistics.mean(s.rss_mb - s.state_mb for s in late),
            "MB",
            "ratio <= 1.10",
            statistics.mean(s.rss_mb - s.state_mb for s in mid),
        ),
        row(
            "publish -> applied p50, last third",
            _pct(lat_late, 0.5),
            "ms",
            "ratio <= 1.5",
            _pct(lat_mid, 0.5),
        ),
        row(
            "publish -> applied p99, last third",
            _pct(lat_late, 0.99),
            "ms",
            "<= 1,000 ms",
            _pct(lat_mid, 0.99),
        ),
        row("consumer lag, max in last third", lag_late, "msgs", "no growth", lag_mid),
        row("consumer lag at the end", samples[-1].lag, "msgs", "<= 1 s of traffic"),
        row("nats-server RSS, last third", statistics.mean(s.nats_rss_mb for s in late), "MB", ""),
    ]


def plot(samples: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t_s / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].plot(t, [s.rss_mb for s in samples], label="cxpulse run")
    axes[0].plot(t, [s.state_mb for s in samples], label="metric state")
    axes[0].plot(t, [s.rss_mb - s.state_mb for s in samples], label="RSS − state", ls="--")
    axes[0].plot(t, [s.nats_rss_mb for s in samples], label="nats-server")
    axes[0].set_ylabel("RSS, MB")
    axes[0].set_ylim(bottom=0)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].plot(t, [s.lag for s in samples], color="tab:red")
    axes[1].set_ylabel("consumer lag, msgs")
    axes[1].set_ylim(bottom=0)
    p50 = [statistics.median(s.latencies_ms) if s.latencies_ms else float("nan") for s in samples]
    mx = [max(s.latencies_ms) if s.latencies_ms else float("nan") for s in samples]
    axes[2].plot(t, p50, label="p50")
    axes[2].plot(t, mx, label="max", alpha=0.6)
    axes[2].set_ylabel("publish→applied, ms")
    axes[2].set_ylim(bottom=0)
    axes[2].set_xlabel("wall time, min")
    axes[2].legend(loc="upper right")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration-s", type=float, default=1800.0, help="wall seconds")
    ap.add_argument("--speed", type=float, default=60.0, help="event seconds per wall second")
    ap.add_argument("--locations", type=int, default=20)
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--png", default=str(ROOT / "bench" / "soak.png"))
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    args = ap.parse_args()
    args.port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp) / "js").start()
        cfg_path = Path(tmp) / "config.toml"
        cfg_path.write_text(config_text(args.locations, tmp, server.url, args.port))
        cfg = load_config_text(cfg_path.read_text())
        run = None
        try:
            async def setup() -> None:
                nc = await connect(cfg.nats, server.url, "soak-setup")
                await ensure_streams(nc.jetstream(), cfg)
                await nc.close()

            asyncio.run(setup())
            run = subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "run", "--config",
                                    str(cfg_path), "--no-dashboards"], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(4)  # imports, JIT warm-up, server up
            assert server.process is not None
            samples = asyncio.run(drive(args, server.url, cfg, psutil.Process(run.pid),
                                        psutil.Process(server.process.pid)))
        finally:
            if run is not None:
                run.terminate()
                run.wait(30)
            server.stop()
    title = (
        f"soak: cxpulse run, load scenario, {args.locations} locations, "
        f"{args.duration_s / 60:.0f} min "
        f"at {args.speed:g}x event time, {os.cpu_count()} cores"
    )
    plot(samples, Path(args.png), title)
    rows = figures(samples, args.duration_s)
    print(f"\n## Soak ({title})\n\n| figure | value | target |\n|---|---|---|")
    for r in rows:
        peer = f" (mid-run: {r['peer'].split(' (')[0]})" if "peer" in r else ""
        print(f"| {r['figure']} | {r['value']}{peer} | {r['target']} |")
    print(f"\ncurves: {args.png} ({Path(args.png).stat().st_size // 1024} KB)")
    if args.json:
        Path(args.json).write_text(json.dumps({"title": "Soak", "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
