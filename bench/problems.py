"""Benchmark: how often the wall's «ПРОБЛЕМА» flag is raised on the demo (issue 17).

    .venv/bin/python bench/problems.py [--days 35] [--burst 4]

A problem is a repeated incident beyond what is usual at its location
(``stream.problems``: a one-sided Poisson test against the location's own 28-day baseline
shrunk towards its peers). This runs the demo's history generator (``simulators.backfill``,
the same events a fresh ``make run`` back-fills: every location of ``config.toml``, with
its seasons and one improving and one declining location) through the metrics engine,
then reads the incident views at noon UTC of each of the last 7 days and prints how many
incidents are open and how many of them carry the flag, in total and by category. Then it
adds ``--live-hours`` of the live demo's own traffic (``simulators.traffic``, scenario
``normal-day``, which runs at several times an ordinary branch's rate and opens incidents
accordingly) and reads the views every hour: the wall of a running demo.

Then ``--burst`` extra claims of one category are opened at one location within a day
(a real repeat: a broken terminal, a rude cashier) and the same views are read again: the
flag should now mark them and nothing else.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxpulse.config import load_config
from simulators.backfill import history_events
from simulators.model import build_network
from simulators.traffic import generate, make_plan, questionnaire
from stream.engine import MetricsEngine
from stream.events import (
    IncidentEvent,
    Limits,
    Rejection,
    encode,
    validate_event,
)
from stream.incident_views import incident_views

DAY_MS = 86_400_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--burst", type=int, default=4)
    ap.add_argument("--live-hours", type=int, default=8)
    args = ap.parse_args()
    cfg = load_config(Path(__file__).resolve().parent.parent / "config.toml")
    today = dt.datetime.now(dt.UTC).date()
    end = int(dt.datetime.combine(today, dt.time(12), dt.UTC).timestamp() * 1000)
    limits = Limits(retention_ms=(args.days + 2) * DAY_MS)
    t0 = time.perf_counter()
    items, rejected = [], collections.Counter[str]()
    for kind, location, payload in history_events(cfg, end + DAY_MS, days=args.days):
        result = validate_event(kind, location, payload, end, limits)
        if isinstance(result, Rejection):
            rejected[result.code] += 1
        else:
            items.append(result)
    items.sort(key=lambda r: r[1])
    engine = MetricsEngine(cfg)
    for i in range(0, len(items), 20_000):
        engine.apply_batch(items[i:i + 20_000])
    incidents = sum(1 for ev, _ in items if isinstance(ev, IncidentEvent) and ev.action == "open")
    print(f"{len(items):,} events of {args.days} days ({incidents:,} incidents opened) "
          f"in {time.perf_counter() - t0:.1f} s; rejected {dict(rejected)}")

    def read(now: int, label: str) -> tuple[int, int]:
        views = [v for v in incident_views(engine, "network", now) if v.status != "resolved"]
        flagged = [v for v in views if v.problem]
        cats = collections.Counter(f"{v.location}/{v.category}" for v in flagged)
        print(f"  {label}: open {len(views):4d}, flagged {len(flagged):3d} "
              f"({100 * len(flagged) / max(len(views), 1):4.1f} %) {dict(cats)}")
        return len(views), len(flagged)

    print("the demo's history, noon UTC of each of the last 7 days:")
    totals = [read(end - d * DAY_MS, (dt.date.fromordinal(today.toordinal() - d)).isoformat())
              for d in range(6, -1, -1)]
    opened, flagged = sum(t[0] for t in totals), sum(t[1] for t in totals)
    print(f"  all 7 readings: {flagged} of {opened} open incidents flagged "
          f"({100 * flagged / max(opened, 1):.1f} %)")

    live_start = end
    network = build_network(cfg)
    plan = make_plan(network, "normal-day", live_start, live_start + args.live_hours * 3_600_000,
                     seed=7)
    live = []
    for e in generate(plan, network, questionnaire(cfg)):
        result = validate_event(e.kind, e.location, encode(e.event), e.ts_ms, limits)
        if not isinstance(result, Rejection):
            live.append(result)
    live.sort(key=lambda r: r[1])
    n_open = sum(1 for ev, _ in live if isinstance(ev, IncidentEvent) and ev.action == "open")
    print(f"then {args.live_hours} h of the live demo's traffic ({len(live):,} events, "
          f"{n_open} incidents opened), read every hour:")
    done, seen = 0, []
    for h in range(1, args.live_hours + 1):
        now = live_start + h * 3_600_000
        upto = next((i for i, (_, ts) in enumerate(live[done:], done) if ts > now), len(live))
        engine.apply_batch(live[done:upto])
        done = upto
        seen.append(read(now, f"+{h} h"))
    opened, flagged = sum(t[0] for t in seen), sum(t[1] for t in seen)
    print(f"  all {args.live_hours} readings: {flagged} of {opened} open incidents flagged "
          f"({100 * flagged / max(opened, 1):.1f} %)")
    end = live_start + args.live_hours * 3_600_000

    where = engine.geo.locations()[0].id
    burst = [IncidentEvent(id=f"burst-{i}", ts=end - (i + 1) * 3_600_000, location=where,
                           incident=f"burst-{i}", action="open", category="claim",
                           text="терминал не работает")
             for i in range(args.burst)]
    for ev in burst:
        result = validate_event("incident", where, encode(ev), end, limits)
        assert not isinstance(result, Rejection), result
        engine.apply_batch([result])
    print(f"after {args.burst} claims at {where} within {args.burst} hours:")
    read(end, "then")


if __name__ == "__main__":
    main()
