
"""Benchmark: the auto-open path of cases, rating published -> case visible (issue 17).

    .venv/bin/python bench/cases_latency.py [--detractors 120] [--rate 100] [--quick]

Starts the real system as a child (``cxpulse run`` on a copy of config.toml with free
ports: the shipped ``[[cases.rules]]``, the embedded NATS with its users), opens one wall
(scope ``network``) in headless Chromium, then publishes as the ``device`` user, like a
terminal (``Nats-Msg-Id`` = ``{location}:{id}``):

* background traffic of ordinary answers at ``--rate`` events/s over all locations (NPS,
  CSAT, CES, buttons 2-3, visits, contacts; no comment a rule would act on), and
* ``--detractors`` detractor NPS answers with a comment, one per survey session, spaced
  0.5-1 s apart, round-robin over the locations: each opens one case, whose id is known in
  advance (``cases.ids.survey_case``).

For each case it measures, from just before the JetStream publish (one machine clock):

* **api**: until ``GET /api/incidents?location=`` lists it (polled every 50 ms while a
  case of that location is pending: the core's state, no push);
* **ws**: until a supervisor's ``/ws`` client receives the ``incidents:{location}`` frame
  that contains it (what the wall subscribes to);
* **wall**: until the wall's incidents tile in Chromium has a row ``data-incident`` of it
  (a MutationObserver in the page, ``Date.now()``).

A case seen on all three is resolved through the API (as the admin), so the tile, which
shows the 11 most urgent open cases, always has room for the next one. Prints p50/p95/max
per path, the counts, and the machine's load average at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.wall import CHROMIUM_ARGS, pct, start_system, wait_up  # noqa: E402
from cases.ids import survey_case  # noqa: E402

ADMIN, SUPERVISOR = "demo-admin", "demo-supervisor"  # the supervisor: regions msk, ural, sib
POLL_S, GIVE_UP_S = 0.05, 20.0
PATHS = ("api", "ws", "wall")
COMMENTS = ("Ждал в очереди сорок минут, окно работало одно",
            "Консультант не поздоровался и говорил со мной через плечо",
            "Товар на полке с истёкшим сроком, на кассе отказались менять",
            "Цена на ценнике одна, на кассе пробили другую",
            "В зале грязно, в примерочной мусор",
            "Приложение не приняло карту, пришлось платить наличными")
WATCH_JS = """
(() => {
  const seen = window.__cxCases = {};
  let observed = null;
  function find(root) {
    if (root.querySelector('[data-k=incidents]')) return root;
    for (const node of root.querySelectorAll('*')) {
      if (node.shadowRoot) { const r = find(node.shadowRoot); if (r) return r; }
    }
    return null;
  }
  function read(root) {
    const now = Date.now();
    for (const tr of root.querySelectorAll('tr[data-incident]')) {
      const id = tr.getAttribute('data-incident');
      if (!(id in seen)) seen[id] = now;
    }
  }
  function attach() {
    const root = find(document);
    if (!root) return;
    read(root);
    if (root === observed) return;
    observed = root;
    new MutationObserver(() => read(root)).observe(root,
      {subtree: true, childList: true, attributes: true, characterData: true});
  }
  setInterval(attach, 250);
  attach();
})();
"""


@dataclass
class Case:
    location: str
    incident: str
    published_ms: int
    seen_ms: dict[str, int] = field(default_factory=dict)
    resolved: bool = False

    def latency(self, path: str) -> float | None:
        seen = self.seen_ms.get(path)
        return None if seen is None else float(seen - self.published_ms)


@dataclass
class Run:
    ports: dict[str, int]
    data_dir: Path
    locations: list[str]
    run_id: str = field(default_factory=lambda: os.urandom(4).hex())
    cases: dict[str, Case] = field(default_factory=dict)
    first_seen: dict[str, dict[str, int]] = field(default_factory=lambda: {p: {} for p in PATHS})
    background: int = 0
    publishing: bool = True

    def seen(self, path: str, incident: str, at_ms: int) -> None:
        self.first_seen[path].setdefault(incident, at_ms)
        case = self.cases.get(incident)
        if case is not None:
            case.seen_ms.setdefault(path, self.first_seen[path][incident])

    def pending(self) -> list[Case]:
        return [c for c in self.cases.values() if not c.resolved]


def now_ms() -> int:
    return int(time.time() * 1000)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def device_js(run: Run) -> tuple[Any, Any]:
    """A JetStream context as the ``device`` user of the child's secured NATS."""
    import nats

    from stream.natsauth import inbox_prefix
    from stream.natscreds import CREDENTIALS_FILE, auth_dir, load_logins

    device = load_logins(auth_dir(run.data_dir) / CREDENTIALS_FILE)["device"]
    nc = await nats.connect(f"nats://127.0.0.1:{run.ports['nats']}", user=device.user,
                            password=device.password, inbox_prefix=inbox_prefix(device.user))
    return nc, nc.jetstream()


def background_event(n: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """An ordinary answer: nothing in it a case rule acts on (no red button, no detractor
    comment), so every case of the run is one this benchmark times."""
    i = n % 8
    if i in (0, 4):
        return "feedback", {"type": "button", "value": rng.choice((2, 3)), "scale": 3,
                            "device": f"term-{n % 3}"}
    if i == 1:
        ev: dict[str, Any] = {"type": "nps", "value": rng.randint(0, 10)}
        if ev["value"] >= 9 and rng.random() < 0.2:
            ev["comment"] = "Спасибо, всё быстро и вежливо"
        return "feedback", ev
    if i == 2:
        return "feedback", {"type": "csat", "value": rng.randint(1, 5)}
    if i == 3:
        return "flow", {"channel": ("phone", "site", "email")[n % 3], "answered": True}
    if i == 5:
        return "feedback", {"type": "visit"}
    return "feedback", {"type": "ces", "value": rng.randint(1, 7)}


async def publish_background(run: Run, rate: float) -> None:
    nc, js = await device_js(run)
    rng, n, start = random.Random(7), 0, time.monotonic()
    try:
        while run.publishing:
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            loc = run.locations[n % len(run.locations)]
            kind, ev = background_event(n, rng)
            ev.update(id=f"cb-{run.run_id}-bg{n}", ts=now_ms(), location=loc)
            await js.publish(f"cx.{kind}.{loc}", json.dumps(ev).encode(),
                             headers={"Nats-Msg-Id": f"{loc}:{ev['id']}"})
            n += 1
    finally:
        run.background = n
        await nc.close()


async def publish_detractors(run: Run, count: int) -> None:
    """``count`` detractors with a comment, one per session, 0.5-1 s apart."""
    nc, js = await device_js(run)
    rng = random.Random(11)
    try:
        for i in range(count):
            await asyncio.sleep(rng.uniform(0.5, 1.0))
            loc = run.locations[i % len(run.locations)]
            fid, session = f"cb-{run.run_id}-d{i}", f"cb-{run.run_id}-s{i}"
            incident = survey_case(loc, session, fid)
            ev = {"id": fid, "location": loc, "type": "nps", "value": rng.randint(0, 6),
                  "comment": rng.choice(COMMENTS), "session": session, "channel": "terminal"}
            ev["ts"] = t_pub = now_ms()
            run.cases[incident] = Case(loc, incident, t_pub)
            for path, seen in run.first_seen.items():  # seen before it was registered
                if incident in seen:
                    run.seen(path, incident, seen[incident])
            await js.publish(f"cx.feedback.{loc}", json.dumps(ev).encode(),
                             headers={"Nats-Msg-Id": f"{loc}:{fid}"})
    finally:
        await nc.close()


async def watch_ws(run: Run) -> None:
    """The supervisor's ``/ws`` client on every location's ``incidents:`` topic."""
    import websockets

    url = f"ws://127.0.0.1:{run.ports['server']}/ws"
    async with websockets.connect(url, additional_headers=auth(SUPERVISOR), proxy=None,
                                  max_size=None) as ws:
        await ws.send(json.dumps({"op": "subscribe",
                                  "topics": [f"incidents:{loc}" for loc in run.locations]}))
        async for text in ws:
            at = now_ms()
            msg = json.loads(text)
            if str(msg.get("topic", "")).startswith("incidents:"):
                for view in msg["data"]["incidents"]:
                    run.seen("ws", view["incident"], at)


async def poll_api(run: Run) -> None:
    """``/api/incidents`` of each location that has a case not yet listed, every 50 ms."""
    base = f"http://127.0.0.1:{run.ports['server']}"
    async with httpx.AsyncClient(base_url=base, trust_env=False, headers=auth(SUPERVISOR),
                                 timeout=10) as client:
        while True:
            started = time.monotonic()
            waiting = sorted({c.location for c in run.pending() if "api" not in c.seen_ms})
            for loc in waiting:
                r = await client.get("/api/incidents", params={"location": loc})
                at = now_ms()
                for view in r.json():
                    run.seen("api", view["incident"], at)
            await asyncio.sleep(max(0.0, POLL_S - (time.monotonic() - started)))


async def watch_wall(run: Run, page: Any) -> None:
    while True:
        seen: dict[str, int] = await page.evaluate("window.__cxCases")
        for incident, at in seen.items():
            run.seen("wall", incident, int(at))
        await asyncio.sleep(0.2)


async def resolve_seen(run: Run) -> None:
    """Resolve each case once every path saw it (or it was given up on), as the admin."""
    base = f"http://127.0.0.1:{run.ports['server']}"
    async with httpx.AsyncClient(base_url=base, trust_env=False, headers=auth(ADMIN),
                                 timeout=10) as client:
        while True:
            for case in run.pending():
                done = all(p in case.seen_ms for p in PATHS)
                if done or now_ms() - case.published_ms > GIVE_UP_S * 1000:
                    if "api" in case.seen_ms:
                        r = await client.post(f"/api/incidents/{case.incident}/resolve",
                                              params={"location": case.location}, json={})
                        r.raise_for_status()
                    case.resolved = True
            await asyncio.sleep(0.1)


async def open_wall(run: Run) -> tuple[Any, Any, Any]:
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    await page.goto(f"http://127.0.0.1:{run.ports['dash']}/wall?scope=network&token={ADMIN}")
    await page.locator("[data-k=incidents]").first.wait_for(timeout=60_000)
    await page.evaluate(WATCH_JS)
    return pw, browser, page


async def measure(run: Run, args: argparse.Namespace) -> None:
    pw, browser, page = await open_wall(run)
    watchers = [asyncio.create_task(w) for w in
                (watch_ws(run), poll_api(run), watch_wall(run, page), resolve_seen(run))]
    background = asyncio.create_task(publish_background(run, args.rate))
    try:
        await asyncio.sleep(2.0)  # the background's steady state before the first case
        await publish_detractors(run, args.detractors)
        deadline = time.monotonic() + GIVE_UP_S + 2
        while run.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        run.publishing = False
        await background
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await browser.close()
        await pw.stop()


async def auto_cases(run: Run) -> list[dict[str, Any]]:
    """Every auto case of the run (resolved ones too), for the one-case-per-session check."""
    async with httpx.AsyncClient(trust_env=False, headers=auth(ADMIN), timeout=10) as client:
        r = await client.get(f"http://127.0.0.1:{run.ports['server']}/api/incidents",
                             params={"scope": "network"})
        return [v for v in r.json() if v.get("source") == "auto"]


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from cxpulse.config import load_config

    load_start = os.getloadavg()
    locations = [loc.id for loc in load_config(ROOT / "config.toml").locations]
    with tempfile.TemporaryDirectory(prefix="cxpulse-cases-bench-") as tmp:
        # no speech recognition: it plays no part in the path; loading its model takes a minute
        proc, ports = start_system(Path(tmp), {"voice": {"asr_enabled": "false"}})
        run = Run(ports, Path(tmp) / "var", locations)
        t0 = time.monotonic()
        try:
            await wait_up(ports, 180.0)
            cpu0, started = psutil.Process(proc.pid).cpu_times(), time.monotonic()
            await measure(run, args)
            cpu1 = psutil.Process(proc.pid).cpu_times()
            cpu = 100.0 * (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (
                time.monotonic() - started)
            opened = await auto_cases(run)
        finally:
            stop(proc)
            if args.log:
                Path(args.log).write_bytes((Path(tmp) / "system.log").read_bytes())
    return result(run, args, opened, cpu, load_start, time.monotonic() - t0)


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95),
            "max": max(values, default=float("nan"))}


def result(run: Run, args: argparse.Namespace, opened: list[dict[str, Any]], cpu: float,
           load_start: tuple[float, float, float], seconds: float) -> dict[str, Any]:
    lat = {p: [x for c in run.cases.values() if (x := c.latency(p)) is not None] for p in PATHS}
    ours = {(c.location, c.incident) for c in run.cases.values()}
    found = [(v["location"], v["incident"]) for v in opened]
    return {"detractors": len(run.cases), "background_events": run.background,
            "rate_per_s": args.rate, "locations": len(run.locations),
            "latency_ms": {p: summary(v) for p, v in lat.items()},
            "never_seen": {p: len(run.cases) - len(v) for p, v in lat.items()},
            "cases_opened": len(set(found) & ours), "cases_twice": len(found) - len(set(found)),
            "other_auto_cases": len(set(found) - ours), "cxpulse_cpu_percent": cpu,
            "load_start": load_start[0], "load_end": os.getloadavg()[0], "seconds": seconds,
            "cores": os.cpu_count()}


WHAT = {"api": "GET /api/incidents lists it (50 ms poll)",
        "ws": "incidents:{location} frame at a supervisor's /ws client",
        "wall": "row in the wall's incidents tile (Chromium DOM)"}


def rows(r: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for path in PATHS:
        lat = r["latency_ms"][path]
        out += [{"figure": f"rating published -> {WHAT[path]} p50", "value": f"{lat['p50']:.0f} ms",
                 "target": ""},
                {"figure": f"rating published -> {WHAT[path]} p95", "value": f"{lat['p95']:.0f} ms",
                 "target": ""}]
    out += [{"figure": "cases opened / detractors published (one per session)",
             "value": f"{r['cases_opened']} / {r['detractors']}", "target": "all, once"},
            {"figure": "cases never seen on the wall within 20 s",
             "value": str(r["never_seen"]["wall"]), "target": "0"}]
    return out


def report(r: dict[str, Any]) -> str:
    title = (f"Cases (auto-open path: {r['detractors']} cases in {r['rate_per_s']:g} ev/s of "
             f"background; load average {r['load_start']:.1f} -> {r['load_end']:.1f} on "
             f"{r['cores']} cores)")
    print(f"cases bench: {r['detractors']} detractors with a comment over {r['locations']} "
          f"locations, background {r['rate_per_s']:g} ev/s ({r['background_events']} events), "
          f"{r['seconds']:.0f} s in all")
    for path in PATHS:
        lat = r["latency_ms"][path]
        print(f"  publish -> {WHAT[path]}: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
              f"max {lat['max']:.0f} ms (n={lat['n']}, never seen {r['never_seen'][path]})")
    print(f"  cases opened {r['cases_opened']} of {r['detractors']}, opened twice "
          f"{r['cases_twice']}, other auto cases {r['other_auto_cases']}; cxpulse run CPU "
          f"{r['cxpulse_cpu_percent']:.0f}% of one core; load average {r['load_start']:.2f} "
          f"-> {r['load_end']:.2f} (1 min)")
    print(f"\n# {title}\n\n| figure | value | target |\n|---|---|---|")
    for row in rows(r):
        print(f"| {row['figure']} | {row['value']} | {row['target']} |")
    return title


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detractors", type=int, default=120, help="cases to open")
    parser.add_argument("--rate", type=float, default=100.0, help="background events per second")
    parser.add_argument("--quick", action="store_true", help="20 cases at 50 ev/s (under 60 s)")
    parser.add_argument("--json", metavar="PATH", help="write the rows for bench/run_all.py")
    parser.add_argument("--log", metavar="PATH", help="keep the system's log here")
    args = parser.parse_args()
    if args.quick:
        args.detractors, args.rate = 20, 50.0
    r = asyncio.run(bench(args))
    title = report(r)
    if args.json:
        Path(args.json).write_text(json.dumps({"title": title, "rows": rows(r), "result": r},
                                              ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if r["never_seen"]["wall"] == 0 and r["cases_twice"] == 0 else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
