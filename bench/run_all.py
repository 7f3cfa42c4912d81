"""``make bench``: run every benchmark script and write one table to bench/RESULTS.md.

Each script measures its figure *and its peer in the same run* (a bare nats-py drain,
webrtcvad, ...), so the ratio between them means something even on a noisy machine. A
script hands its rows over in one of two ways:

* ``--json PATH`` (preferred, when its ``--help`` mentions it): ``{"title": str, "rows":
  [{"figure", "value", "target", "peer"?, "ratio"?}]}``;
* otherwise the markdown table(s) it prints, ``| figure | value | target |`` (optionally
  with ``peer`` and ``ratio`` columns). A row whose target is ``peer`` is a peer: it fills
  the peer column of the rows after it that share its unit, and the ratio is computed.

A missing script is skipped with a note; a failing one is reported with its exit code and
the tail of its output (full logs in bench/out/). Order: ingest, voice, fanout, wall, soak,
archive, digest_build, comments, cases_latency.

    .venv/bin/python bench/run_all.py [--only ingest,soak] [--quick] [--timeout 1800]
    .venv/bin/python bench/run_all.py --from-logs     # re-render the last run's outputs
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
# (script, extra args for a normal run, extra args for --quick)
BENCHMARKS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ingest", (), ("--events", "100000", "--locations", "200")),
    ("voice", (), ()),
    ("fanout", (), ("--clients", "200", "--duration", "10")),
    ("wall", (), ()),
    ("soak", (), ("--event-minutes", "120", "--speed", "60")),
    ("archive", (), ("--quick",)),
    ("digest_build", (), ("--quick",)),
    ("comments", (), ("--quick",)),
    ("cases_latency", (), ("--quick",)),
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    peer: str = ""
    ratio: str = ""


@dataclass
class Section:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


# -- pure: parsing and rendering -----------------------------------------------------------

def number_and_unit(text: str) -> tuple[float, str] | None:
    """``"12,345 ev/s"`` -> (12345.0, "ev/s"); None when the cell holds no number."""
    m = _NUMBER.search(text)
    if m is None:
        return None
    unit = text[m.end():].strip().split(" ")[0] if text[m.end():].strip() else ""
    return float(m.group().replace(",", "")), unit


def ratio_of(value: str, peer: str) -> str:
    a, b = number_and_unit(value), number_and_unit(peer)
    if a is None or b is None or b[0] == 0:
        return ""
    return f"{a[0] / b[0]:.2f}"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_tables(text: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Markdown tables in ``text`` whose header has ``figure`` and ``value`` columns, each
    with the nearest ``#`` heading above it: [(title, [row dicts keyed by header])]."""
    tables: list[tuple[str, list[dict[str, str]]]] = []
    lines = text.splitlines()
    title = ""
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("#"):
            title = line.lstrip("#").strip()
        header = _cells(line) if line.startswith("|") else []
        lowered = [h.lower() for h in header]
        if ("figure" in lowered and "value" in lowered and i + 1 < len(lines)
                and set(lines[i + 1].strip()) <= set("|-: ")):
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _cells(lines[i])
                rows.append(dict(zip(lowered, cells + [""] * (len(lowered) - len(cells)),
                                     strict=False)))
                i += 1
            tables.append((title, rows))
            continue
        i += 1
    return tables


def rows_from_table(rows: list[dict[str, str]]) -> list[Row]:
    """Table rows -> result rows; ``peer`` rows fill the peer column of later same-unit rows."""
    out: list[Row] = []
    peers: dict[str, str] = {}
    for r in rows:
        figure, value, target = r.get("figure", ""), r.get("value", ""), r.get("target", "")
        parsed = number_and_unit(value)
        if target.lower() == "peer":
            if parsed is not None:
                peers[parsed[1]] = f"{value} ({figure})"
            continue
        peer = r.get("peer", "") or (peers.get(parsed[1], "") if parsed else "")
        ratio = r.get("ratio", "") or (ratio_of(value, peer) if peer else "")
        out.append(Row(figure, value, target, peer, ratio))
    return out


def rows_from_json(doc: dict[str, object]) -> list[Row]:
    raw = doc.get("rows", [])
    assert isinstance(raw, list)
    return [Row(str(r.get("figure", "")), str(r.get("value", "")), str(r.get("target", "")),
                str(r.get("peer", "")), str(r.get("ratio", "")))
            for r in raw if isinstance(r, dict)]


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(sections: list[Section], cores: int, when: dt.datetime, argv: str) -> str:
    """The whole RESULTS.md."""
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `bench/run_all.py{argv}` on {when:%Y-%m-%d %H:%M %Z} on a machine with "
        f"{cores} CPU cores. *peer* is the reference measured in the same run; *ratio* = "
        "value / peer. Re-run with `make bench`.",
        "",
        "| benchmark | figure | value | target | peer (same run) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for s in sections:
        for r in s.rows:
            lines.append(f"| {_esc(s.title)} | {_esc(r.figure)} | {_esc(r.value)} | "
                         f"{_esc(r.target)} | {_esc(r.peer)} | {_esc(r.ratio)} |")
    notes = [f"- **{s.name}** ({s.seconds:.0f} s): {s.note}" if s.note else
             f"- **{s.name}**: ran in {s.seconds:.0f} s" for s in sections]
    return "\n".join([*lines, "", "## Runs", "", *notes, ""])


# -- fallbacks for scripts that print prose instead of a table (until they print one) ------

def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def voice_rows(text: str) -> list[Row]:
    rows: list[Row] = []
    if m := _search(r"frames/s \(CPU, one core\):\s+ours ([\d,.]+k)(.*)$", text):
        ours = f"{m.group(1)} frames/s"
        webrtc = re.findall(r"webrtc\d ([\d,.]+)k", m.group(2))
        if webrtc:
            best = f"{max(webrtc, key=lambda v: float(v.replace(',', '')))}k frames/s"
            rows.append(Row("VAD, one core (ours)", ours, "", f"{best} (fastest webrtcvad mode)",
                            ratio_of(ours, best)))
        if silero := re.search(r"silero ([\d,.]+)k", m.group(2)):
            peer = f"{silero.group(1)}k frames/s"
            rows.append(
                Row("VAD, one core (ours)", ours, "", f"{peer} (silero)", ratio_of(ours, peer))
            )
    for chunk, streams in re.findall(r"(\d+) ms chunks: .*-> ([\d,]+) concurrent real-time", text):
        rows.append(Row(f"live mic streams per machine, {chunk} ms chunks (no ASR)",
                        f"{streams} streams"))
    if m := _search(r"clean\s+arousal AUC ([\d.]+)\s+anger AUC ([\d.]+)", text):
        rows += [Row("emotion arousal AUC, clean speech", m.group(1)),
                 Row("emotion anger AUC, clean speech", m.group(2))]
    if m := _search(r"RTF packed backlog[^:]*: ([\d.]+)\s+one utterance per call: ([\d.]+)", text):
        rows.append(Row("ASR real-time factor, packed backlog", m.group(1), "< 1",
                        f"{m.group(2)} (one utterance per call)", ratio_of(m.group(1), m.group(2))))
    return rows


def fanout_rows(text: str) -> list[Row]:
    """One block of rows per ``== fan-out at N updates/s per topic ==`` section."""
    parts = re.split(r"== fan-out at ([\d.]+) updates/s per topic ==", text)
    sections = list(zip(parts[1::2], parts[2::2], strict=True)) or [("", text)]
    rows: list[Row] = []
    for rate, part in sections:
        rows += _fanout_section(rate, part)
    return rows


def _fanout_section(rate: str, text: str) -> list[Row]:
    rows: list[Row] = []
    head = _search(r"(\d+) clients connected and subscribed; publishing (\d+) ev/s", text)
    who = f"{head.group(1)} clients, {head.group(2)} ev/s" if head else "clients"
    if rate:
        who += f", {rate} updates/s"
    target = _search(r"target p99 <= (\d+) ms", text)
    floor = _search(r"coalescing wait alone at [\d.]+ updates/s: p99 (\d+) ms", text)
    if m := _search(r"latency publish -> client, all\s*: p50\s+([\d.]+)\s+p90\s+[\d.]+\s+"
                    r"p99\s+([\d.]+)", text):
        rows += [Row(f"publish -> websocket client p50 ({who})", f"{m.group(1)} ms"),
                 Row(f"publish -> websocket client p99 ({who})", f"{m.group(2)} ms",
                     f"<= {target.group(1)} ms" if target else "",
                     f"{floor.group(1)} ms (the coalescing wait alone)" if floor else "")]
    if m := _search(r"fan-out \(frame computed -> client\): p50\s+([\d.]+)\s+p90\s+[\d.]+\s+"
                    r"p99\s+([\d.]+)", text):
        rows.append(Row(f"fan-out only (frame computed -> client) p99 ({rate or '?'}/s)",
                        f"{m.group(2)} ms"))
    if m := _search(r"events never seen by a client\s*: (\d+)", text):
        rows.append(Row(f"events never seen by a client ({rate or '?'}/s)", m.group(1), "0"))
    if m := _search(r"server CPU (\d+)% of one core", text):
        rows.append(Row(f"server CPU (core + hub + uvicorn) ({rate or '?'}/s)",
                        f"{m.group(1)} % of one core"))
    return rows


def wall_rows(doc: dict[str, object]) -> list[Row]:
    lat, model = doc.get("latency_ms"), doc.get("model_latency_ms")
    busy, idle = doc.get("cpu_with_walls"), doc.get("cpu_idle_walls")
    rows: list[Row] = []
    if isinstance(lat, dict) and isinstance(model, dict):
        dom, srv = f"{lat['p50']} ms", f"{model['p50']} ms"
        rows += [Row("publish -> visible in the wall (browser DOM) p50", dom, "",
                     f"{srv} (server-side session model)", ratio_of(dom, srv)),
                 Row("publish -> visible in the wall p95", f"{lat['p95']} ms")]
    if isinstance(busy, dict) and isinstance(idle, dict) and "cxpulse run" in busy:
        now, base = f"{busy['cxpulse run']:.1f} %", f"{idle['cxpulse run']:.1f} %"
        rows.append(Row(f"cxpulse run CPU with {doc.get('sessions', '?')} walls open", now, "",
                        f"{base} (no walls)", ratio_of(now, base)))
    return rows


PROSE = {"voice": voice_rows, "fanout": fanout_rows}


# -- shell: running the scripts ------------------------------------------------------------

def _supports_json(script: Path) -> bool:
    try:
        helptext = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                                  text=True, timeout=120, cwd=ROOT).stdout
    except subprocess.TimeoutExpired:
        return False
    return "--json" in helptext


def collect(name: str, output: str, code: int | None, seconds: float,
            timeout_s: float) -> Section:
    """A script's rows from its ``--json`` file, else its tables, else its prose."""
    section = Section(name, name.capitalize(), seconds=seconds)
    json_path = OUT / f"{name}.json"
    if json_path.exists():
        doc = json.loads(json_path.read_text())
        section.title, section.rows = str(doc.get("title", section.title)), rows_from_json(doc)
        if not section.rows and name == "wall":
            section.rows = wall_rows(doc)
    if not section.rows and code is not None:
        for title, table in parse_tables(output):
            section.title = title or section.title
            section.rows += rows_from_table(table)
        if not section.rows and name in PROSE:
            section.rows = PROSE[name](output)
    if code is None:
        section.note = f"timed out after {timeout_s:.0f} s (log: bench/out/{name}.log)"
    elif code != 0:
        tail = " ".join(output.strip().splitlines()[-3:])[:300]
        section.note = f"exit code {code}: {tail} (log: bench/out/{name}.log)"
    elif not section.rows:
        section.note = "ran, but printed no `| figure | value | target |` table"
    return section


def _text(output: str | bytes | None) -> str:
    """What a timed-out child printed: ``TimeoutExpired`` keeps bytes even with ``text=True``."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run_one(name: str, args: tuple[str, ...], timeout_s: float) -> Section:
    script = BENCH / f"{name}.py"
    if not script.exists():
        return Section(name, name, note=f"skipped: bench/{name}.py does not exist yet")
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").unlink(missing_ok=True)
    cmd = [sys.executable, str(script), *args]
    if _supports_json(script):
        cmd += ["--json", str(OUT / f"{name}.json")]
    print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
        output, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = _text(exc.stdout) + _text(exc.stderr), None
    seconds = time.monotonic() - t0
    (OUT / f"{name}.log").write_text(output)
    (OUT / f"{name}.meta.json").write_text(json.dumps({"code": code, "seconds": seconds}))
    section = collect(name, output, code, seconds, timeout_s)
    print(f"   {len(section.rows)} rows in {seconds:.0f} s {section.note}", flush=True)
    return section


def from_logs(name: str) -> Section:
    """Rebuild a section from bench/out/ of the last run, without running anything."""
    log = OUT / f"{name}.log"
    if not log.exists():
        return Section(name, name, note=f"skipped: no bench/out/{name}.log from an earlier run")
    meta_path = OUT / f"{name}.meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"code": 0, "seconds": 0}
    section = collect(name, log.read_text(), meta["code"], meta["seconds"], 0)
    if not section.note:
        ended = dt.datetime.fromtimestamp(log.stat().st_mtime, dt.UTC)
        section.note = f"run ended {ended:%Y-%m-%d %H:%M} UTC (bench/out/{name}.log)"
    return section


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated subset, e.g. ingest,soak")
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per script")
    ap.add_argument("--output", default=str(BENCH / "RESULTS.md"))
    ap.add_argument("--from-logs", action="store_true",
                    help="re-render from bench/out/ of the last run instead of running")
    args = ap.parse_args(argv)
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    sections = [from_logs(name) if args.from_logs else
                run_one(name, quick if args.quick else normal, args.timeout)
                for name, normal, quick in BENCHMARKS if not only or name in only]
    flags = "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:])
                    if a != "--output" and not a.endswith(".md"))
    text = render(sections, os.cpu_count() or 0, dt.datetime.now(dt.UTC).astimezone(), flags)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")
    failed = [s.name for s in sections if s.note.startswith(("exit code", "timed out"))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
