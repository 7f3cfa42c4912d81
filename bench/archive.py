"""Archive benchmark: ingest beside the core, size per event, queries on a 100M-row archive,
import rate, restart of ``cxpulse run`` with that archive.

1. Ingest (after ``cxpulse warm`` in this process, so neither side pays for loading the
   numba kernels): one stream of mixed live events (10% of NPS answers with a comment, masked and
   tagged by the text package) drained by the core, then by the archive writer (its own
   consumer, one DuckDB transaction per batch): both rates in the same run.
2. A large archive generated straight into DuckDB (bench/archive_data.py; 1,000
   locations, 3 years; cached in bench/out/archive-cache/): monthly NPS trend of the
   network and of one location (``archive.history``), comment search in one location's
   last 30 days (``archive.records``), a 1M-row CSV export (DuckDB's writer) - p50/p95.
3. ``cxpulse import`` of a generated JSON-lines file into a fresh archive (direct mode).
4. ``cxpulse run`` restart with the large archive: until /api/health answers and until the
   archive answers a network history query; peer: the same restart without the archive.

    .venv/bin/python bench/archive.py [--rows 100000000] [--import-rows 10000000] [--quick]
        [--parts ingest,queries,import,restart]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.comments import TextHooks  # noqa: E402
from archive.history import HistoryQuery, history  # noqa: E402
from archive.records import FeedbackQuery, copy, export_query, feedback_page  # noqa: E402
from archive.service import ArchiveService  # noqa: E402
from archive.store import ArchiveStore  # noqa: E402
from bench.archive_data import DAY_MS, generate, live_events, network_config  # noqa: E402
from cxpulse.config import load_config_text  # noqa: E402
from cxpulse.importer import import_file  # noqa: E402
from cxpulse.warm import warm  # noqa: E402
from stream.core import Core  # noqa: E402
from stream.nats_io import connect, ensure_streams  # noqa: E402
from stream.nats_server import EmbeddedNats, free_port  # noqa: E402

OUT = ROOT / "bench" / "out"
CACHE = OUT / "archive-cache"
Row = dict[str, str]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    out, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
    return out, result


async def publish(url: str, cfg: Any, events: list[tuple[str, bytes, str]]) -> None:
    nc = await connect(cfg.nats, url, "bench-publisher")
    js = nc.jetstream()
    await ensure_streams(js, cfg)
    for k, (subject, payload, msg_id) in enumerate(events):
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
        if k % 20_000 == 19_999:
            await js.publish_async_completed()
    await js.publish_async_completed()
    await nc.close()


async def ingest(events: int, locations: int, comment_share: float = 0.1) -> list[Row]:
    """Core and archive drain the same stream, one after the other."""
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        cfg = load_config_text(network_config(locations, tmp))
        server = EmbeddedNats(Path(tmp) / "nats").start()
        try:
            now = int(time.time() * 1000)
            await publish(server.url, cfg, live_events(events, locations, now,
                                                       comment_share=comment_share))
            t0 = time.perf_counter()
            core = Core(cfg, server.url)
            await core.start()
            while core.engine.last_seq < events:
                await asyncio.sleep(0.01)
            core_rate = events / (time.perf_counter() - t0)
            await core.stop(snapshot_state=False)
            nc = await connect(cfg.nats, server.url, "bench-archive")
            archive = ArchiveService(cfg, nc, hooks=TextHooks.default())
            t0 = time.perf_counter()
            await archive.start()
            assert archive.store is not None
            while archive.store.applied.get("input", 0) < events:
                await asyncio.sleep(0.01)
            archive_rate = events / (time.perf_counter() - t0)
            rows = sum(archive.store.counts().values())
            await archive.stop()
            await nc.close()
            size = archive.path.stat().st_size
        finally:
            server.stop()
    core_text = f"{core_rate:,.0f} ev/s (core: validate + aggregate + ack)"
    comments = (f"{comment_share * 25:.1f}% of events with a comment, masked and tagged"
                if comment_share else "no comments")
    return [
        {"figure": f"archive ingest: validate + rows + one transaction per batch + ack "
                   f"({events:,} events, {locations:,} locations, {comments})",
         "value": f"{archive_rate:,.0f} ev/s", "target": ">= the core's rate", "peer": core_text,
         "ratio": f"{archive_rate / core_rate:.2f}"},
        {"figure": f"archive file per event, live mix ({comments}; all tables, rollups)",
         "value": f"{size / rows:,.0f} B", "target": ""},
    ][: 2 if comment_share else 1]


def big_queries(rows: int, locations: int, repeat: int) -> tuple[list[Row], dict[str, Any]]:
    path = CACHE / f"cx-{rows}.duckdb"
    end_ms = int(time.time() * 1000) // 3_600_000 * 3_600_000
    info = generate(path, rows, locations, end_ms, 1095)
    end_ms = int(info["end_ms"])
    cfg = load_config_text(network_config(locations, str(CACHE)))
    store = ArchiveStore(cfg, path, hooks=TextHooks(mask=str))
    store.open(end_ms)
    last = dt.datetime.fromtimestamp(end_ms / 1000, dt.UTC).date()
    first = last.replace(day=1) - dt.timedelta(days=365 * 3 - 31)

    def trend(scope: str) -> Any:
        return history(store.reader(), cfg, store.geo, HistoryQuery(
            scope=scope, metric="nps", by="month", first=first, last=last), end_ms)

    net, result = timed(lambda: trend("network"), repeat)
    assert len(result.points) >= 36 and result.points[-2].n > 0
    loc, _ = timed(lambda: trend("loc-0042"), repeat * 3)
    # a small (--quick) archive holds about one comment a month per location: search its
    # whole span there, so the query still finds and returns rows
    search_days = 30 if rows >= 20_000_000 else 1095
    search, page = timed(lambda: feedback_page(store.reader(), store.geo, FeedbackQuery(
        scope="loc-0042", q="очередь", since_ms=end_ms - search_days * DAY_MS, limit=50),
        end_ms), repeat * 3)
    assert page.items, "the search found nothing"
    per_day = rows / 1095
    days = max(1, round(1_000_000 / per_day))
    sql, args = export_query("feedback", "network", store.geo, last - dt.timedelta(days=days - 1),
                             last)
    target = OUT / "archive-export.csv"
    exports, count = timed(lambda: copy(store.reader(), sql, args, target, "csv"), 3)
    rates = [count / s for s in exports]
    size = path.stat().st_size
    store.close()
    target.unlink(missing_ok=True)
    note = "" if rows >= 100_000_000 else f" (measured at {rows:,} rows)"
    out = [
        {
            "figure": f"generated archive: {rows:,} feedback rows, {locations:,} locations, 3 years"
            f"{' (cached)' if info.get('reused') else ''}",
            "value": f"{size / rows:.1f} B/row",
            "target": "",
            "peer": f"{info['generate_s']:.0f} s to generate, {info['rollup_s']:.0f} s rollups",
        },
        {
            "figure": f"monthly NPS trend, network, 36 months p50{note}",
            "value": f"{statistics.median(net) * 1000:.0f} ms",
            "target": "<= 500 ms",
        },
        {
            "figure": f"monthly NPS trend, network p95{note}",
            "value": f"{pct(net, 0.95) * 1000:.0f} ms",
            "target": "<= 500 ms",
        },
        {
            "figure": f"monthly NPS trend, one location p50{note}",
            "value": f"{statistics.median(loc) * 1000:.1f} ms",
            "target": "<= 50 ms",
        },
        {
            "figure": f"monthly NPS trend, one location p95{note}",
            "value": f"{pct(loc, 0.95) * 1000:.1f} ms",
            "target": "<= 50 ms",
        },
        {
            "figure": f"comment search, one location, last {search_days} days p50{note}",
            "value": f"{statistics.median(search) * 1000:.1f} ms",
            "target": "<= 200 ms",
        },
        {
            "figure": f"comment search, one location, last {search_days} days p95{note}",
            "value": f"{pct(search, 0.95) * 1000:.1f} ms",
            "target": "<= 200 ms",
        },
        {
            "figure": f"CSV export of {count:,} rows, p50 rate",
            "value": f"{statistics.median(rates):,.0f} rows/s",
            "target": ">= 500,000 rows/s",
        },
        {
            "figure": f"CSV export of {count:,} rows, p95 time",
            "value": f"{pct(exports, 0.95):.2f} s",
            "target": "",
        },
    ]
    return out, {"path": path, "cfg_text": network_config(locations, str(CACHE)), "end_ms": end_ms}


def write_jsonl(path: Path, rows: int, locations: int, now_ms: int) -> None:
    if path.exists() and path.with_suffix(".rows").exists() and \
            path.with_suffix(".rows").read_text() == str(rows):
        return
    chunk = 200_000
    with path.open("wb") as fh:
        for start in range(0, rows, chunk):
            events = live_events(min(chunk, rows - start), locations,
                                 now_ms - 200 * DAY_MS, seed=start)
            fh.write(b"".join(p.replace(b'"id": "b', f'"id": "i{start}-'.encode()) + b"\n"
                              for _, p, _ in events))
    path.with_suffix(".rows").write_text(str(rows))


async def import_rate(rows: int, locations: int) -> list[Row]:
    src = CACHE / f"import-{rows}.jsonl"
    now = int(time.time() * 1000)
    write_jsonl(src, rows, locations, now)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        cfg = load_config_text(network_config(locations, tmp))
        args = argparse.Namespace(path=str(src), format="jsonl", config="", nats_url=None,
                                  direct=True, archive=None)
        t0 = time.perf_counter()
        summary = await import_file(cfg, args)
        seconds = time.perf_counter() - t0
    assert summary.stored + summary.duplicates == rows, summary.text()
    return [{"figure": f"cxpulse import of a {rows:,}-row JSON-lines file (direct, 2.5% with a "
                       "comment)", "value": f"{rows / seconds:,.0f} rows/s",
             "target": "", "peer": f"{seconds:,.0f} s in all"}]


async def restart(big: dict[str, Any]) -> list[Row]:
    """Seconds from spawning ``cxpulse run`` until it answers, with and without the archive."""
    results = {}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        server = EmbeddedNats(Path(tmp) / "nats").start()
        data = Path(tmp) / "data"
        (data / "archive").mkdir(parents=True)
        os.symlink(big["path"], data / "archive" / "cx.duckdb")
        try:
            for label, enabled in (("without", "false"), ("with", "true")):
                port = free_port()
                text = big["cfg_text"].replace(f'data_dir = "{CACHE}"', f'data_dir = "{data}"')
                text = text.replace("[archive]\n", f"[archive]\nenabled = {enabled}\n")
                text += (f'\n[nats]\nurl = "{server.url}"\n[server]\nport = {port}\n'
                         '[auth]\nenabled = false\n')
                cfg_path = Path(tmp) / f"{label}.toml"
                cfg_path.write_text(text)
                results[label] = await _time_run(cfg_path, port, enabled == "true")
        finally:
            server.stop()
    health_with, history_with = results["with"]
    health_without, _ = results["without"]
    return [
        {"figure": "cxpulse run restart with the large archive: until /api/health answers",
         "value": f"{health_with:.1f} s", "target": "",
         "peer": f"{health_without:.1f} s (archive disabled)",
         "ratio": f"{health_with / health_without:.2f}"},
        {"figure": "cxpulse run restart with the large archive: until a network history "
                   "query answers", "value": f"{history_with:.1f} s", "target": ""},
    ]


async def _time_run(cfg_path: Path, port: int, archive: bool) -> tuple[float, float]:
    t0 = time.perf_counter()
    log = (OUT / "archive-run.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "run", "--config", str(cfg_path),
                             "--no-dashboards"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    health = answered = 0.0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while time.perf_counter() - t0 < 300:
                assert proc.poll() is None, "cxpulse run exited"
                try:
                    if not health and (await http.get("/api/health")).status_code == 200:
                        health = time.perf_counter() - t0
                    if health and not archive:
                        break
                    if health and (await http.get("/api/history/network", params={
                            "metric": "nps", "by": "month"})).status_code == 200:
                        answered = time.perf_counter() - t0
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    return health, answered


async def main(args: argparse.Namespace) -> None:
    OUT.mkdir(exist_ok=True)
    CACHE.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    parts = set(args.parts.split(","))
    rows: list[Row] = []
    if "ingest" in parts:
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:  # neither side pays numba's loading
            warm(load_config_text(network_config(args.locations, tmp)))
        rows += await ingest(args.events, args.locations)
        rows += await ingest(args.events, args.locations, comment_share=0.0)
    if parts & {"queries", "restart"}:
        big_rows, big = big_queries(args.rows, args.locations, args.repeat)
        rows += big_rows if "queries" in parts else []
        if "restart" in parts:
            rows += await restart(big)
    if "import" in parts:
        rows += await import_rate(args.import_rows, args.locations)
    after = os.getloadavg()[0]
    title = "Archive"
    if max(load, after) > 2.5:
        title += f" (shared machine under load: load average {load:.1f} -> {after:.1f})"
    print(f"# {title}\n\n| figure | value | target | peer | ratio |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['figure']} | {r['value']} | {r.get('target', '')} | {r.get('peer', '')} | "
              f"{r.get('ratio', '')} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"title": title, "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000, help="live events for the ingest race")
    ap.add_argument("--locations", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=100_000_000, help="rows of the large archive")
    ap.add_argument("--import-rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--parts", default="ingest,queries,import,restart",
                    help="comma-separated: ingest, queries, import, restart")
    ap.add_argument("--json", default="", help="write the rows for bench/run_all.py here")
    ns = ap.parse_args()
    if ns.quick:
        ns.events, ns.rows, ns.import_rows, ns.repeat = 20_000, 2_000_000, 100_000, 3
    asyncio.run(main(ns))
