"""Digest benchmark: how long building each digest takes for a 1,000-location network.

The archive: 13 months of feedback generated straight into DuckDB (bench/archive_data.py,
1,000 locations in 10 regions and 4 zones; the rollups built with the archive's own SQL),
plus the last 35 days of contacts and incidents from the demo's generator
(simulators/backfill.py) written through the archive's own insert path. Cached under
bench/out/digest-cache/.

Measured (wall time of ``digests.build.build_digest``: the history queries, the records
export and ranking, the charts, the PDF and the CSV zip; not the SMTP hand-over): the daily
digest of one region (100 locations) and of the network, the weekly digest of the network
(including one NPS history query per location for the best/worst ranking) and the monthly
digest of the network. Peer: one history query (network NPS by day over 8 days).

    .venv/bin/python bench/digest_build.py [--rows 30000000] [--repeat 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.history import HistoryQuery  # noqa: E402
from archive.schema import LATEST  # noqa: E402
from archive.service import ArchiveService, import_limits  # noqa: E402
from bench.archive_data import generate, network_config  # noqa: E402
from cxpulse.config import Config, load_config_text  # noqa: E402
from digests.build import build_digest  # noqa: E402
from digests.schedule import latest_slot  # noqa: E402
from simulators.backfill import history_events  # noqa: E402
from stream.events import Rejection, validate_event  # noqa: E402
from stream.geography import Geo  # noqa: E402

OUT = ROOT / "bench" / "out"
CACHE = OUT / "digest-cache"
LOCATIONS = 1000
NOW_MS = int(dt.datetime(2025, 3, 3, 6, 30, tzinfo=dt.UTC).timestamp() * 1000)  # a Monday
DIGESTS = """
[[digests]]
id = "daily-region"
scope = "reg-0"
to = ["a@example.com"]
[[digests]]
id = "daily-network"
scope = "network"
to = ["a@example.com"]
[[digests]]
id = "weekly-network"
scope = "network"
period = "week"
to = ["a@example.com"]
[[digests]]
id = "monthly-network"
scope = "network"
period = "month"
to = ["a@example.com"]
[[csi.questions]]
id = "q0"
factor = "tangibles"
[[csi.questions]]
id = "q1"
factor = "tangibles"
[[csi.questions]]
id = "q2"
factor = "tangibles"
[[csi.questions]]
id = "q3"
factor = "tangibles"
"""
Row = dict[str, str]


def bench_config() -> Config:
    return load_config_text(network_config(LOCATIONS, str(CACHE), DIGESTS))


def prepare(cfg: Config, rows: int, flow_days: int, volume: float) -> tuple[Path, dict[str, Any]]:
    """The archive file (built once, then reused while the sizes and schema match)."""
    path = CACHE / "archive" / "cx.duckdb"
    meta_path = CACHE / "digests.json"
    want = {"rows": rows, "flow_days": flow_days, "volume": volume, "schema": LATEST}
    if path.exists() and meta_path.exists():
        info = json.loads(meta_path.read_text())
        if {k: info.get(k) for k in want} == want:
            return path, {**info, "reused": True}
    meta_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    generate(path, rows, LOCATIONS, NOW_MS, 396)
    t1 = time.perf_counter()
    archive = ArchiveService(cfg, None, clock=lambda: NOW_MS, path=path)
    asyncio.run(_add_flow_and_incidents(archive, cfg, flow_days, volume))
    info = {**want, "feedback_s": t1 - t0, "flow_s": time.perf_counter() - t1,
            "bytes": path.stat().st_size}
    meta_path.write_text(json.dumps(info))
    return path, info


async def _add_flow_and_incidents(archive: ArchiveService, cfg: Config, days: int,
                                  volume: float) -> None:
    await archive.start()
    assert archive.store is not None
    limits = import_limits(cfg)
    batch: list[Any] = []
    for kind, location, payload in history_events(cfg, NOW_MS, days, volume=volume):
        if kind == "feedback":
            continue  # the generated 13 months hold the feedback
        result = validate_event(kind, location, payload, NOW_MS, limits)
        assert not isinstance(result, Rejection), result
        batch.append(result)
        if len(batch) >= 50_000:
            archive.store.import_events(batch, NOW_MS)
            batch = []
    if batch:
        archive.store.import_events(batch, NOW_MS)
    archive.store.refresh()
    await archive.stop()


async def measure(cfg: Config, path: Path, repeat: int) -> list[Row]:
    archive = ArchiveService(cfg, None, clock=lambda: NOW_MS, path=path)
    await archive.start()
    geo = Geo.from_config(cfg)
    rows: list[Row] = []
    try:
        peer = []
        for _ in range(max(repeat, 3)):
            t0 = time.perf_counter()
            await archive.history(HistoryQuery(scope="network", metric="nps", by="day",
                                               first=dt.date(2025, 2, 23),
                                               last=dt.date(2025, 3, 2)))
            peer.append(time.perf_counter() - t0)
        rows.append({"figure": "one history query (network NPS, 8 days)",
                     "value": f"{statistics.median(peer) * 1000:.0f} ms", "target": "peer"})
        for spec in cfg.digests:
            slot = latest_slot(spec, geo.timezone(spec.scope), NOW_MS)
            times, built = [], None
            for _ in range(repeat):
                t0 = time.perf_counter()
                built = await build_digest(cfg, spec, slot, archive, NOW_MS)
                times.append(time.perf_counter() - t0)
            assert built is not None
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in built.timings_s.items())
            sizes = ", ".join(f"{a.subtype} {len(a.data) / 1e6:.2f} MB" for a in built.attachments)
            rows.append({"figure": f"{spec.id} ({spec.scope}, {slot.label}): p50 of {repeat}",
                         "value": f"{statistics.median(times) * 1000:.0f} ms",
                         "target": "≤ 60 s",
                         "note": f"{parts}; {built.history_queries} history queries; {sizes}"})
    finally:
        await archive.stop()
    return rows


def main(args: argparse.Namespace) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    cfg = bench_config()
    path, info = prepare(cfg, args.rows, args.flow_days, args.volume)
    rows = asyncio.run(measure(cfg, path, args.repeat))
    after = os.getloadavg()[0]
    title = f"Digests: build time, {LOCATIONS:,} locations"
    if max(load, after) > 2.5:
        title += f" (shared machine under load: load average {load:.1f} -> {after:.1f})"
    print(f"# {title}\n")
    print(f"archive: {info['rows']:,} generated feedback rows over 396 days + "
          f"{info['flow_days']} days of contacts and incidents (volume {info['volume']}); "
          f"{info.get('bytes', 0) / 1e6:.0f} MB" + (" (cached)" if info.get("reused") else ""))
    print("\n| figure | value | target | note |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['figure']} | {r['value']} | {r.get('target', '')} | {r.get('note', '')} |")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"title": title, "rows": [{k: v for k, v in r.items() if k != "note"} for r in rows]},
            ensure_ascii=False))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=30_000_000, help="generated feedback rows")
    ap.add_argument("--flow-days", type=int, default=35)
    ap.add_argument("--volume", type=float, default=0.25, help="contacts/incidents volume")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--json", default="", help="write the rows for bench/run_all.py here")
    ns = ap.parse_args()
    if ns.quick:
        ns.rows, ns.flow_days, ns.volume, ns.repeat = 2_000_000, 10, 0.1, 1
    main(ns)
