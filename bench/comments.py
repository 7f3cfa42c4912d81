"""Comments benchmark: tagging speed on one core, the core's ingest rate with and without
the comments service beside it, and how long a comment takes to go live.

1. Tagging speed: what the comments service does per comment
   (``archive.comments.TextHooks.process``: mask, tag, lemmatise) over simulator comments
   (``simulators.comments``: Russian and English, typos, PII), cold (first sight of each
   word) and warm (the word cache filled, the steady state), per CPU second of this
   one-threaded process (= one core, robust to a busy shared machine) and per wall second.
2. The core's ingest rate: one backlog of live events (a share of them with a simulator
   comment, all of the last 12 hours, so every comment also goes live) drained by the
   core (validate + aggregate + ack) in these set-ups, interleaved ``--repeat`` times:
   core alone; core + archive writer with comments off (masking only, no tags, nothing
   published); core + archive writer with the comments service (mask + tag + publish on
   ``cx.comment.*``) in the same process, as ``cxpulse run`` runs them; the same with the
   archive in its own process (``cxpulse archive``). The core's rate is the figure.
3. Live latency: events published at a steady rate with ``ts`` = now; the time from the
   publish to the ``cx.comment.*`` note of each comment (core + comments service running).

    .venv/bin/python bench/comments.py [--events 200000] [--repeat 2] [--parts tagging,ingest]
                                       [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.comments import TextHooks  # noqa: E402
from archive.service import ArchiveService  # noqa: E402
from bench.archive_data import network_config  # noqa: E402
from cxpulse.config import load_config_text  # noqa: E402
from simulators.comments import write_comment  # noqa: E402
from stream.core import Core  # noqa: E402
from stream.nats_io import connect, ensure_streams  # noqa: E402
from stream.nats_server import EmbeddedNats  # noqa: E402

OUT = ROOT / "bench" / "out"
Row = dict[str, str]
HOUR_MS = 3_600_000
MODES = ("core alone", "core + archive, comments off", "core + comments service (one process)",
         "core + comments service (own process)")


def sim_comments(n: int, seed: int = 4) -> list[tuple[str, int]]:
    """(text, NPS) of ``n`` simulator comments, 15% English, as the demo writes them."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        nps = rng.choice((0, 2, 3, 5, 6, 7, 8, 9, 10, 10))
        out.append((write_comment(rng, "ru", nps / 10), nps))
    return out


def tagging_rows(n: int) -> list[Row]:
    """Comments per second through ``TextHooks.process``, cold and warm: per CPU second of
    this one-threaded process (what one core sustains, whatever else the machine runs) and
    per wall second."""
    t0 = time.perf_counter()
    hooks = TextHooks.default()
    hooks.process("прогрев", 5, "nps", None)
    load_s = time.perf_counter() - t0
    items = sim_comments(n)

    def rate() -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        for text, nps in items:
            hooks.process(text, nps, "nps", None)
        return (len(items) / (time.process_time() - cpu),
                len(items) / (time.perf_counter() - wall))

    (cold, cold_wall), (warm, warm_wall) = rate(), rate()
    what = f"mask + tag + lemmas of simulator comments ({n:,}, {_mean_chars(items):.0f} chars)"
    return [
        {"figure": "comments service: analyser + tagger load", "value": f"{load_s:.2f} s"},
        {"figure": f"{what}, cold, per CPU second (one core)", "value": f"{cold:,.0f} /s",
         "target": ">= 2,000 /s", "peer": f"{cold_wall:,.0f} /s per wall second"},
        {"figure": f"{what}, warm, per CPU second (one core)", "value": f"{warm:,.0f} /s",
         "target": ">= 2,000 /s", "peer": f"{warm_wall:,.0f} /s per wall second"},
    ]


def _mean_chars(items: list[tuple[str, int]]) -> float:
    return sum(len(t) for t, _ in items) / max(len(items), 1)


def events(n: int, locations: int, now_ms: int, comment_share: float) -> list[tuple[str, bytes,
                                                                                      str]]:
    """Live events of the last 12 hours; ``comment_share`` of the NPS answers carry a
    simulator comment (subject, payload, Nats-Msg-Id)."""
    rng = random.Random(1)
    texts = sim_comments(max(1000, int(n * 0.25 * comment_share)))
    out = []
    for i in range(n):
        loc = f"loc-{rng.randrange(locations):04d}"
        base: dict[str, Any] = {"id": f"b{i}", "ts": now_ms - int(rng.random() * 12 * HOUR_MS),
                                "location": loc}
        r, kind = rng.random(), "feedback"
        if r < 0.25:
            text, nps = texts[i % len(texts)]
            body = {**base, "type": "nps", "value": nps, "session": f"s{i}"}
            if rng.random() < comment_share:
                body["comment"] = text
        elif r < 0.55:
            body = {**base, "type": "button", "value": rng.randint(1, 4), "scale": 4}
        elif r < 0.65:
            body = {**base, "type": "visit"}
        elif r < 0.8:
            body = {**base, "type": "csat", "value": rng.randint(1, 5)}
        else:
            kind = "flow"
            body = {**base, "channel": rng.choice(["phone", "site"]), "answered": True,
                    "wait_s": round(rng.uniform(0, 200), 1)}
        out.append((f"cx.{kind}.{loc}", json.dumps(body, ensure_ascii=False).encode(),
                    f"{loc}:b{i}"))
    return out


async def publish(url: str, cfg: Any, evs: list[tuple[str, bytes, str]]) -> None:
    nc = await connect(cfg.nats, url, "bench-publisher")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    for k, (subject, payload, msg_id) in enumerate(evs):
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
        if k % 20_000 == 19_999:
            await js.publish_async_completed()
    await js.publish_async_completed()
    await nc.close()


async def _archive_process(cfg_path: Path, url: str) -> subprocess.Popen[bytes]:
    log = (OUT / "comments-archive.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "archive", "--config",
                             str(cfg_path), "--nats-url", url], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


async def _wait_leading(cfg: Any, url: str) -> None:
    nc = await connect(cfg.nats, url, "bench-probe")
    try:
        probe = ArchiveService(cfg, nc)
        for _ in range(600):
            try:
                await probe.status()
                return
            except Exception:  # noqa: BLE001 - not leading yet
                await asyncio.sleep(0.1)
        raise RuntimeError("the archive process did not start")
    finally:
        await nc.close()


class CpuClock:
    """Sums the thread CPU time of the wrapped calls (the writer tags in a worker thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(*args)
            finally:
                self.seconds += time.thread_time() - t0
                self.calls += 1
        return timed


TAG_CPU = CpuClock()  # tagging in the comments-service runs of one process


def _hooks(mode: str) -> TextHooks:
    full = TextHooks.default()
    if mode == MODES[1]:
        return TextHooks(mask=full.mask)  # masking only: no tags, nothing published
    return dataclasses.replace(full, tag=TAG_CPU.wrap(full.tag))


async def core_rate(mode: str, evs: list[tuple[str, bytes, str]], locations: int) -> float:
    """The core's drain rate of ``evs`` with ``mode`` running beside it."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        text = network_config(locations, tmp)
        cfg = load_config_text(text)
        (Path(tmp) / "config.toml").write_text(text, encoding="utf-8")
        server = EmbeddedNats(Path(tmp) / "nats").start()
        proc = archive = nc = None
        try:
            await publish(server.url, cfg, evs)
            if mode == MODES[3]:
                proc = await _archive_process(Path(tmp) / "config.toml", server.url)
                await _wait_leading(cfg, server.url)
            elif mode in MODES[1:3]:
                nc = await connect(cfg.nats, server.url, "bench-archive")
                archive = ArchiveService(cfg, nc, hooks=_hooks(mode),
                                         live_comments=mode != MODES[1])
                await archive.start()
            t0 = time.perf_counter()
            core = Core(cfg, server.url)
            await core.start()
            while core.engine.last_seq < len(evs):
                await asyncio.sleep(0.005)
            drain_s = time.perf_counter() - t0
            await core.stop(snapshot_state=False)
            if mode == MODES[2]:
                DRAIN_S.append(drain_s)
            return len(evs) / drain_s
        finally:
            if archive is not None:
                await archive.stop()
            if nc is not None:
                await nc.close()
            if proc is not None:
                proc.terminate()
                proc.wait(30)
            server.stop()


async def ingest_rows(n: int, locations: int, repeat: int, share: float) -> list[Row]:
    evs = events(n, locations, int(time.time() * 1000), share)
    comments = sum(b'"comment"' in p for _, p, _ in evs)
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(repeat):
        for mode in MODES:
            rates[mode].append(await core_rate(mode, evs, locations))
            print(f"  {mode}: {rates[mode][-1]:,.0f} ev/s", file=sys.stderr)
    base = statistics.median(rates[MODES[0]])
    rows = [_tag_cpu_row(repeat)]
    for mode in MODES:
        med = statistics.median(rates[mode])
        rows.append({"figure": f"core ingest, {mode} ({n:,} events, {comments:,} comments, "
                               f"median of {repeat})",
                     "value": f"{med:,.0f} ev/s", "target": "= core alone" if mode != MODES[0]
                     else "", "peer": f"{base:,.0f} ev/s (core alone)",
                     "ratio": f"{med / base:.2f}",
                     "runs": ", ".join(f"{r:,.0f}" for r in rates[mode])})
    return rows


DRAIN_S: list[float] = []  # the core's drain times with the comments service beside it


def _tag_cpu_row(repeat: int) -> Row:
    """CPU the comments service spent tagging, against the core's wall time meanwhile."""
    per = TAG_CPU.seconds / max(TAG_CPU.calls, 1)
    share = TAG_CPU.seconds / max(sum(DRAIN_S), 1e-9)
    return {"figure": f"comments service, one process: CPU spent tagging ({TAG_CPU.calls:,} "
                      f"comments over {repeat} runs)",
            "value": f"{per * 1000:.2f} ms per comment",
            "peer": f"{TAG_CPU.seconds:.1f} s of CPU = {share:.0%} of the core's drain time"}


async def latency_rows(rate_per_s: int, seconds: int) -> list[Row]:
    """Publish to ``cx.comment.*`` note, at a steady rate, every event with a comment."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        cfg = load_config_text(network_config(20, tmp))
        server = EmbeddedNats(Path(tmp) / "nats").start()
        core = Core(cfg, server.url)
        await core.start()
        archive = ArchiveService(cfg, core.nc, hooks=TextHooks.default())
        await archive.start()
        sent: dict[str, float] = {}
        lags: list[float] = []

        async def on_note(msg: Any) -> None:
            eid = json.loads(msg.data)["id"]
            if eid in sent:
                lags.append(time.perf_counter() - sent.pop(eid))

        assert core.nc is not None and core.js is not None
        sub = await core.nc.subscribe("cx.comment.*", cb=on_note)
        texts = sim_comments(rate_per_s * seconds)
        try:
            for i, (text, nps) in enumerate(texts):
                loc = f"loc-{i % 20:04d}"
                body = {"id": f"l{i}", "ts": int(time.time() * 1000), "location": loc,
                        "type": "nps", "value": nps, "comment": text}
                sent[f"l{i}"] = time.perf_counter()
                await core.js.publish_async(f"cx.feedback.{loc}", json.dumps(body).encode(),
                                            headers={"Nats-Msg-Id": f"{loc}:l{i}"})
                await asyncio.sleep(1 / rate_per_s)
            await core.js.publish_async_completed()
            for _ in range(200):
                if not sent:
                    break
                await asyncio.sleep(0.05)
        finally:
            await sub.unsubscribe()
            await archive.stop()
            await core.stop(snapshot_state=False)
            server.stop()
    lags.sort()

    def q(p: float) -> str:
        return f"{lags[min(len(lags) - 1, int(p * (len(lags) - 1)))] * 1000:,.0f} ms"

    what = f"publish -> cx.comment note, {rate_per_s}/s for {seconds} s, every event commented"
    return [{"figure": f"{what}: p50", "value": q(0.5)}, {"figure": f"{what}: p95",
                                                          "value": q(0.95)},
            {"figure": f"{what}: notes received", "value": f"{len(lags):,} of {len(texts):,}"}]


def _table(title: str, rows: list[Row], write: Callable[[str], object] = print) -> None:
    write(f"# {title}\n\n| figure | value | target | peer | ratio | runs |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        write(f"| {r['figure']} | {r['value']} | {r.get('target', '')} | {r.get('peer', '')} | "
              f"{r.get('ratio', '')} | {r.get('runs', '')} |")


async def main(args: argparse.Namespace) -> None:
    OUT.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    parts = set(args.parts.split(","))
    rows = tagging_rows(args.comments) if "tagging" in parts else []
    if "ingest" in parts:
        rows += await ingest_rows(args.events, args.locations, args.repeat, args.comment_share)
    if "latency" in parts:
        rows += await latency_rows(args.live_rate, args.live_seconds)
    after = os.getloadavg()[0]
    title = "Comments"
    if max(load, after) > 2.5:
        title += f" (shared machine under load: load average {load:.1f} -> {after:.1f})"
    _table(title, rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"title": title, "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=int, default=20_000, help="comments for the tagging rate")
    ap.add_argument("--events", type=int, default=200_000, help="events of the ingest backlog")
    ap.add_argument("--locations", type=int, default=1000)
    ap.add_argument("--comment-share", type=float, default=0.3,
                    help="share of NPS answers with a comment (the demo: about 0.3)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--live-rate", type=int, default=200, help="commented events per second")
    ap.add_argument("--live-seconds", type=int, default=15)
    ap.add_argument("--parts", default="tagging,ingest,latency",
                    help="comma-separated: tagging, ingest, latency")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--json", default="", help="write the rows for bench/run_all.py here")
    ns = ap.parse_args()
    if ns.quick:
        ns.comments, ns.events, ns.repeat, ns.live_seconds = 2000, 20_000, 1, 3
    asyncio.run(main(ns))
