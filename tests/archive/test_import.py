"""``cxpulse import``: live validation per line, nothing of a bad line, duplicates once,
the summary, CSV round trip of an export, and the live path through a running writer."""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from archive.comments import TextHooks
from archive.service import ArchiveService
from archive.store import ArchiveStore
from cxpulse import cli
from cxpulse.importer import import_file
from stream.core import Core
from stream.nats_server import EmbeddedNats
from stream.windows import DAY_MS
from tests.archive.support import Sent, config, make_events
from tests.support.checks import present


def _args(path: Path, **kw: Any) -> argparse.Namespace:
    return argparse.Namespace(path=str(path), format=kw.get("format"), config="",
                              nats_url=kw.get("nats_url"), direct=kw.get("direct", True),
                              archive=kw.get("archive"))


def _write_jsonl(path: Path, events: list[Sent],
                 extra_lines: Sequence[tuple[int, str]] = ()) -> None:
    lines = [json.dumps(b, ensure_ascii=False) for _, b in events]
    for at, text in extra_lines:
        lines.insert(at, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_jsonl_bad_lines_duplicates_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(data_dir=str(tmp_path))
    now = int(time.time() * 1000)
    events = make_events(300, now - 200 * DAY_MS, random.Random(1), span_ms=150 * DAY_MS)
    src = tmp_path / "old.jsonl"
    bad = [(5, '{"id": "x1", "type": "nps", "value": 11, "location": "a", "ts": 1700000000000}'),
           (9, "not json"),
           (12, json.dumps({"id": "x2", "location": "a", "ts": now - 2000 * DAY_MS,
                            "type": "visit"}))]
    _write_jsonl(src, events + events[:40], bad)  # 40 duplicates
    summary = await import_file(cfg, _args(src))
    assert summary.read == 343
    assert summary.stored == 300 and summary.duplicates == 40
    assert summary.rejected == {"out_of_range": 1, "not_json": 1, "too_old_ts": 1}
    err = capsys.readouterr().err
    assert "line 6: out_of_range" in err and "line 10: not_json" in err
    again = await import_file(cfg, _args(src))
    assert again.stored == 0 and again.duplicates == 340
    store = ArchiveStore(cfg, tmp_path / "archive" / "cx.duckdb", hooks=TextHooks(mask=str))
    store.open(now)
    kinds = [s.split(".")[1] for s, _ in events]
    assert store.counts()["feedback"] == kinds.count("feedback")
    assert store.reader().execute("SELECT count(*) FROM feedback WHERE id IN ('x1', 'x2')"
                                  ).fetchall()[0][0] == 0
    assert store.reader().execute("SELECT count(*) FROM dirty").fetchall()[0][0] == 0
    store.close()
    assert "rows read 343; stored 300; duplicates 40; rejected 3" in summary.text()


async def test_csv_round_trip_of_an_export(tmp_path: Path) -> None:
    cfg = config(data_dir=str(tmp_path))
    now = int(time.time() * 1000)
    events = make_events(200, now - 100 * DAY_MS, random.Random(2), span_ms=50 * DAY_MS)
    src = tmp_path / "a.jsonl"
    _write_jsonl(src, events)
    await import_file(cfg, _args(src))
    service = ArchiveService(cfg, None, hooks=TextHooks(mask=str))
    await service.start()
    parts = []
    for kind in ("feedback", "flow", "incidents"):
        parts.append(b"".join([c async for c in service.export(kind, "network", None, None)]))
    await service.stop()
    rows = []
    for part in parts:
        rows += list(csv.DictReader(io.StringIO(part.decode())))
    out = tmp_path / "b.csv"
    fields = sorted({k for r in rows for k in r})
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    other = config(data_dir=str(tmp_path / "second"))
    summary = await import_file(other, _args(out))
    assert summary.rejected == {} and summary.stored == 200
    first = ArchiveStore(cfg, tmp_path / "archive" / "cx.duckdb", hooks=TextHooks(mask=str))
    second = ArchiveStore(other, tmp_path / "second" / "archive" / "cx.duckdb",
                          hooks=TextHooks(mask=str))
    first.open(now)
    second.open(now)
    cols = "location, id, ts, day, type, value, scale, units, staff, session, sess_first, comment"
    for store in (first, second):
        store.refresh()
    a = first.reader().execute(f"SELECT {cols} FROM feedback ORDER BY ALL").fetchall()
    b = second.reader().execute(f"SELECT {cols} FROM feedback ORDER BY ALL").fetchall()
    assert a == b
    assert (first.reader().execute("SELECT * FROM feedback_daily ORDER BY ALL").fetchall()
            == second.reader().execute("SELECT * FROM feedback_daily ORDER BY ALL").fetchall())
    first.close()
    second.close()


async def test_recent_events_also_reach_the_live_core(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    cfg = config(data_dir=str(tmp_path))
    core = Core(cfg, nats_server.url)
    await core.start()
    writer = ArchiveService(cfg, core.nc, hooks=TextHooks(mask=str))
    await writer.start()
    now = int(time.time() * 1000)
    recent = make_events(150, now, random.Random(3), span_ms=3_600_000, prefix="r")
    old = make_events(150, now - 300 * DAY_MS, random.Random(4), span_ms=DAY_MS, prefix="o")
    src = tmp_path / "mixed.jsonl"
    _write_jsonl(src, old + recent)
    summary = await import_file(cfg, _args(src, nats_url=nats_server.url, direct=False))
    assert summary.stored == 300 and summary.published == 150
    assert await core.wait_idle(20) and await present(writer.writer).wait_idle(20)
    assert core.engine.applied == 150
    counts = present(writer.store).counts()
    assert sum(counts[t] for t in ("feedback", "flow", "incident_steps")) == 300
    await writer.stop()
    await core.stop()


def test_cli_parses_import(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["import", str(tmp_path / "x.csv"), "--direct"])
    assert args.func.__name__ == "run_import" and args.direct
