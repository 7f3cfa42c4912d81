"""Benchmark: N open wall sessions at full update rate.

    .venv/bin/python bench/wall.py [--sessions 10] [--rate 200] [--seconds 20] [--scope msk]

Starts the real system as a child (``cxpulse run`` on a copy of config.toml with free
ports; the walls open with the demo admin token, exchanged for the wall's cookie), then:

1. *idle walls*: a steady publisher sends ``--rate`` feedback/flow events per second to
   JetStream for the locations of ``--scope`` (every topic of the page changes all the time,
   so the server pushes each at its ``ws_max_updates_per_s``) with no browser open;
2. *walls*: the same load with ``--sessions`` Chromium pages on ``/wall?scope=...``.

For each phase it prints the CPU of the ``cxpulse run`` process (core + server +
dashboards; 100% = one core) and of nats-server. In phase 2 every page carries a
MutationObserver on the loyalty-button tile: each published press has a known cumulative
count, so publish -> visible latency is the time until a page's ``data-presses`` reaches
that count (publish time taken before the JetStream publish; same machine clock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stream.nats_server import free_port, port_open  # noqa: E402

TOKEN = "demo-admin"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
WATCH_JS = """
(() => {
  const seen = window.__cxSeen = [];
  let last = null, observed = null;
  function find(root) {
    const el = root.querySelector('[data-k=buttons]');
    if (el) return [root, el];
    for (const node of root.querySelectorAll('*')) {
      if (node.shadowRoot) { const r = find(node.shadowRoot); if (r) return r; }
    }
    return null;
  }
  function read(root) {
    const el = root.querySelector('[data-k=buttons]');
    const v = el && el.getAttribute('data-presses');
    if (v !== null && v !== last) { last = v; seen.push([Date.now(), Number(v)]); }
  }
  function attach() {
    const found = find(document);
    if (!found || found[0] === observed) return;
    observed = found[0];
    read(observed);
    new MutationObserver(() => read(found[0])).observe(found[0],
      {subtree: true, childList: true, attributes: true, characterData: true});
  }
  setInterval(attach, 250);
  attach();
})();
"""


def patched(text: str, values: dict[str, dict[str, str]]) -> str:
    """``text`` (TOML) with ``key = value`` set in each ``[section]`` (replaced or added)."""
    for section, pairs in values.items():
        head = re.search(rf"(?m)^\[{re.escape(section)}\]\s*$", text)
        assert head, section
        end = re.search(r"(?m)^\[", text[head.end():])
        body_end = head.end() + (end.start() if end else len(text) - head.end())
        body = text[head.end():body_end]
        for key, value in pairs.items():
            line = f"{key} = {value}"
            body, n = re.subn(rf"(?m)^{key}\s*=.*$", line, body)
            if n == 0:
                body = f"\n{line}" + body
        text = text[:head.end()] + body + text[body_end:]
    return text


def start_system(tmp: Path, extra: dict[str, dict[str, str]] | None = None,
                 ) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """``cxpulse run`` on config.toml as shipped but for free ports, a fresh data dir and
    the ``extra`` keys (section -> key -> TOML value); its log goes to ``system.log``."""
    ports = {"server": free_port(), "dash": free_port(), "nats": free_port()}
    text = patched((ROOT / "config.toml").read_text(encoding="utf-8"), {
        "core": {"data_dir": json.dumps(str(tmp / "var"))},
        "nats": {"embedded_port": str(ports["nats"])},
        "server": {"port": str(ports["server"])},
        "dashboards": {"port": str(ports["dash"])},
        **(extra or {}),
    })
    cfg_path = tmp / "config.toml"
    cfg_path.write_text(text, encoding="utf-8")
    with (tmp / "system.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cxpulse.cli", "run", "--config",
                                 str(cfg_path)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return proc, ports


async def wait_up(ports: dict[str, int], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                r = await client.get(f"http://127.0.0.1:{ports['server']}/api/health")
                if r.status_code == 200 and port_open("127.0.0.1", ports["dash"]):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the system did not come up (see system.log)")


class Publisher:
    """Steady feedback/flow traffic for a scope's locations; every 4th event a loyalty
    press at the probe location, whose cumulative count the latency is measured on."""

    def __init__(self, nats_url: str, locations: list[str], rate: float,
                 data_dir: Path | None = None) -> None:
        self.url, self.locations, self.rate = nats_url, locations, rate
        self.data_dir = data_dir  # of `cxpulse run`: its NATS has users; we are a device
        self.presses: list[tuple[int, int]] = []  # (publish ms, cumulative presses)
        self.sent = 0
        self.run_id = os.urandom(4).hex()  # ids never repeat across phases (the core dedups)

    async def run(self, seconds: float, base_presses: int) -> None:
        import nats

        from stream.natsauth import inbox_prefix
        from stream.natscreds import CREDENTIALS_FILE, auth_dir, load_logins

        auth: dict[str, str] = {}
        if self.data_dir is not None:
            device = load_logins(auth_dir(self.data_dir) / CREDENTIALS_FILE)["device"]
            auth = {"user": device.user, "password": device.password,
                    "inbox_prefix": inbox_prefix(device.user)}
        nc = await nats.connect(self.url, **auth)
        js = nc.jetstream()
        n, presses, start = 0, base_presses, time.monotonic()
        try:
            while time.monotonic() - start < seconds:
                due = start + n / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                loc = self.locations[n % len(self.locations)]
                kind, ev = self.event(n, loc)
                now_ms = int(time.time() * 1000)
                if ev.get("type") == "button":
                    presses += 1
                    self.presses.append((now_ms, presses))
                ev.update(id=f"bench-{self.run_id}-{n}", ts=now_ms, location=loc)
                await js.publish(f"cx.{kind}.{loc}", json.dumps(ev).encode(),
                                 headers={"Nats-Msg-Id": f"{loc}:{ev['id']}"})
                n += 1
        finally:
            self.sent += n
            await nc.close()

    def event(self, n: int, loc: str) -> tuple[str, dict[str, Any]]:
        del loc
        i = n % 8
        if i in (0, 4):
            return "feedback", {"type": "button", "value": 1 + n % 3, "scale": 3}
        if i == 1:
            return "feedback", {"type": "nps", "value": n % 11}
        if i == 2:
            return "feedback", {"type": "csat", "value": 1 + n % 5}
        if i == 3:
            return "flow", {"channel": ("phone", "site", "email")[n % 3], "answered": True}
        if i == 5:
            return "feedback", {"type": "visit"}
        if i == 6:
            return "feedback", {"type": "ces", "value": 1 + n % 7}
        return "feedback", {"type": "csi", "factor": "empathy", "question": "attention",
                            "value": 1 + n % 5}


def cpu_of(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


async def measure_cpu(procs: dict[str, psutil.Process], seconds: float) -> dict[str, float]:
    """CPU of each process over ``seconds`` (100 = one core), plus the whole machine's."""
    before: dict[str, float] = {}
    for k, p in procs.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            before[k] = cpu_of(p)
    psutil.cpu_percent()
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - t0
    out: dict[str, float] = {}
    for k, p in procs.items():
        try:
            used = 100.0 * (cpu_of(p) - before[k]) / wall
        except (psutil.NoSuchProcess, KeyError):
            continue
        name = k.split("#")[0]
        out[name] = out.get(name, 0.0) + used
    out["machine"] = psutil.cpu_percent() * (psutil.cpu_count() or 1)
    return out


def latencies(presses: list[tuple[int, int]], seen: list[list[float]]) -> list[float]:
    """Per published press: ms until the page first showed a count at least its own."""
    out, j = [], 0
    for t_pub, count in presses:
        while j < len(seen) and seen[j][1] < count:
            j += 1
        if j == len(seen):
            break
        out.append(seen[j][0] - t_pub)
    return out


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95),
            "max": max(values, default=float("nan")),
            "mean": statistics.fmean(values) if values else float("nan")}


def chromium_procs() -> dict[str, psutil.Process]:
    """This benchmark's Chromium processes, measured together as one ("chromium")."""
    found = [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()]
    return {f"chromium#{p.pid}": p for p in found}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def open_walls(url: str, sessions: int) -> tuple[Any, Any, list[Any]]:
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    pages = []
    for _ in range(sessions):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await page.goto(url)
        await page.locator("[data-k=buttons]").first.wait_for(timeout=30_000)
        await page.evaluate(WATCH_JS)
        pages.append(page)
    return pw, browser, pages


async def ws_probe(ports: dict[str, int], scope: str, seen: list[tuple[int, int]]) -> None:
    """A bare /ws client on ``metrics:{scope}``: when the server's frames carry each count
    (the server's share of the latency, without the dashboards)."""
    import websockets

    url = f"ws://127.0.0.1:{ports['server']}/ws"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"},
                                  proxy=None, max_size=None) as ws:
        await ws.send(json.dumps({"op": "subscribe", "topics": [f"metrics:{scope}"],
                                  "windows": ["today"]}))
        async for text in ws:
            msg = json.loads(text)
            if msg.get("topic") == f"metrics:{scope}":
                presses = msg["data"]["windows"]["today"]["buttons"]["presses"]
                seen.append((int(time.time() * 1000), presses))


async def presses_now(ports: dict[str, int], scope: str) -> int:
    async with httpx.AsyncClient(
        trust_env=False, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        r = await c.get(f"http://127.0.0.1:{ports['server']}/api/metrics/{scope}")
        return int(r.json()["buttons"]["presses"])


async def phase(ports: dict[str, int], procs: dict[str, psutil.Process], args: argparse.Namespace,
                locations: list[str]) -> tuple[Publisher, dict[str, float]]:
    """Publish for ``--seconds``; CPU is sampled over the middle of the run."""
    await asyncio.sleep(1.0)  # let the previous phase's backlog drain
    pub = Publisher(f"nats://127.0.0.1:{ports['nats']}", locations, args.rate, args.data_dir)
    base = await presses_now(ports, args.scope)
    task = asyncio.create_task(pub.run(args.seconds, base))
    await asyncio.sleep(2.0)
    cpu = await measure_cpu(procs, args.seconds - 3.0)
    await task
    return pub, cpu


def children(proc: psutil.Process) -> dict[str, psutil.Process]:
    found = {"cxpulse run": proc}
    for child in proc.children(recursive=True):
        if "nats-server" in child.name():
            found["nats-server"] = child
    return found


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from cxpulse.config import load_config

    cfg = load_config(ROOT / "config.toml")
    locations = [loc.id for loc in cfg.locations if loc.region == args.scope] or \
        [loc.id for loc in cfg.locations]
    with tempfile.TemporaryDirectory(prefix="cxpulse-wall-bench-") as tmp:
        proc, ports = start_system(Path(tmp))
        args.data_dir = Path(tmp) / "var"
        try:
            await wait_up(ports)
            procs = children(psutil.Process(proc.pid))
            _, idle_cpu = await phase(ports, procs, args, locations)
            url = f"http://127.0.0.1:{ports['dash']}/wall?scope={args.scope}&token={TOKEN}"
            pw, browser, pages = await open_walls(url, args.sessions)
            probe: list[tuple[int, int]] = []
            probe_task = asyncio.create_task(ws_probe(ports, args.scope, probe))
            try:
                procs.update(chromium_procs())
                pub, wall_cpu = await phase(ports, procs, args, locations)
                await asyncio.sleep(2.0)
                seen = [await p.evaluate("window.__cxSeen") for p in pages]
                async with httpx.AsyncClient(trust_env=False) as c:
                    stats = await c.get(f"http://127.0.0.1:{ports['dash']}/stats",
                                        headers={"Authorization": f"Bearer {TOKEN}"})
                    renders = stats.json()["renders"]
            finally:
                probe_task.cancel()
                await browser.close()
                await pw.stop()
            async with httpx.AsyncClient(trust_env=False) as c:
                health = (await c.get(f"http://127.0.0.1:{ports['server']}/api/health")).json()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if args.log:
                Path(args.log).write_bytes((Path(tmp) / "system.log").read_bytes())
    lat = [ms for s in seen for ms in latencies(pub.presses, s)]
    model = [ms for s in renders.values() for ms in latencies(pub.presses, s)]
    server = latencies(pub.presses, [list(x) for x in probe])
    half = len(pub.presses) // 2
    late = [ms for s in seen for ms in latencies(pub.presses[half:], s)]
    updates = [len(s) / args.seconds for s in seen]
    return {"sessions": args.sessions, "rate_per_s": args.rate, "seconds": args.seconds,
            "events": pub.sent, "presses": len(pub.presses), "cpu_idle_walls": idle_cpu,
            "cpu_with_walls": wall_cpu, "latency_ms": summary(lat),
            "latency_second_half_ms": summary(late), "model_latency_ms": summary(model),
            "server_latency_ms": summary(server),
            "tile_updates_per_s_per_session": statistics.fmean(updates) if updates else 0.0,
            "hub": health.get("server", {})}


def report(r: dict[str, Any]) -> None:
    print(f"wall bench: {r['sessions']} sessions on one scope, {r['rate_per_s']:g} events/s "
          f"for {r['seconds']:g} s per phase ({r['events']} events, {r['presses']} probe presses)")
    for name, used in r["cpu_with_walls"].items():
        idle = r["cpu_idle_walls"].get(name)
        idle_text = f"{idle:6.1f}%" if idle is not None else "     -"
        print(f"  CPU {name:12s} no walls {idle_text}   {r['sessions']} walls {used:6.1f}%"
              f"   (100% = one core of {psutil.cpu_count()})")
    for key, what in (("server_latency_ms", "publish -> /ws frame (server alone)"),
                      ("model_latency_ms", "publish -> session model (dashboards)"),
                      ("latency_ms", "publish -> visible in the browser DOM"),
                      ("latency_second_half_ms", "  ... second half of the run")):
        lat = r[key]
        print(f"  {what}: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms"
              f" ({lat['n']} press x session pairs)")
    print(f"  button tile repaints per session: {r['tile_updates_per_s_per_session']:.1f}/s; "
          f"hub frames sent {r['hub'].get('frames')}, computations {r['hub'].get('computations')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--scope", default="msk")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--log", metavar="PATH", help="keep the system's log here")
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
