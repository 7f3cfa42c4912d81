"""Simulated traffic run through the real metrics engine shows what the scenarios promise."""

from __future__ import annotations

import time

import numpy as np

from cxpulse.config import Config
from simulators.model import Emission, build_network
from simulators.profiles import hour_weight
from simulators.runner import timeline
from simulators.traffic import generate, make_plan, questionnaire
from stream.engine import MetricsEngine
from stream.events import encode, validate_event
from stream.query import flow_profile, metrics
from tests.support.checks import present
from tests.support.sim_network import DAY_MS, MONDAY_MS


def _engine_with(cfg: Config, events: list[Emission], now_ms: int) -> MetricsEngine:
    """Events through the core's gate (validate_event) into a fresh engine."""
    engine = MetricsEngine(cfg)
    items = []
    for e in events:
        result = validate_event(e.kind, e.location, encode(e.event), now_ms)
        assert isinstance(result, tuple), result
        items.append(result)
    for i in range(0, len(items), 5000):
        engine.apply_batch(items[i:i + 5000])
    return engine


def test_bad_shift_location_scores_clearly_lower(cfg: Config) -> None:
    network = build_network(cfg)
    end = MONDAY_MS + 2 * DAY_MS + 17 * 3_600_000  # Tuesday 17:00 Moscow
    plan = make_plan(network, "bad-shift", end - 8 * 3_600_000, end, seed=11, target="msk-b")
    engine = _engine_with(cfg, generate(plan, network, questionnaire(cfg)), end)
    results = {loc.id: metrics(engine, loc.id, "today", end) for loc in network}
    bad = results.pop("msk-b")
    assert bad.responses > 100
    for loc, m in results.items():
        assert m.responses > 50, loc
        assert present(bad.nps) < present(m.nps) - 40, (loc, bad.nps, m.nps)
        assert present(bad.buttons.index) < present(m.buttons.index) - 25, (
            loc, bad.buttons.index, m.buttons.index)
        assert bad.buttons.shares["1"] > 3 * m.buttons.shares.get("1", 0.0)
        assert bad.incidents.opened > 2 * m.incidents.opened
    network_m = metrics(engine, "network", "today", end)
    assert present(bad.nps) < present(network_m.nps) < max(present(m.nps) for m in results.values())


def test_speed_replay_reproduces_the_hour_profile_in_flow_metrics(cfg: Config) -> None:
    now = int(time.time() * 1000)
    tl = timeline("normal-day", speed=60_480.0, duration_s=10.0, now_ms=now)  # a week in 10 s
    end_ms = present(tl.end_ms)
    assert end_ms - tl.start_ms == 7 * DAY_MS and end_ms <= now + 10_000
    network = build_network(cfg)
    events = generate(make_plan(network, "normal-day", tl.start_ms, end_ms, seed=5), network,
                      questionnaire(cfg))
    engine = _engine_with(cfg, events, end_ms)
    for loc in network:
        got = np.array(flow_profile(engine, loc.id, end_ms + 3_600_000).contacts, dtype=float)
        expected = np.array([[hour_weight(d, h) for h in range(24)] for d in range(7)])
        r = np.corrcoef(got.ravel(), expected.ravel())[0, 1]
        assert r > 0.95, (loc.id, r)  # tens of contacts an hour: some Poisson noise
        weekdays = expected[:5].sum(axis=0)
        busiest = int(np.argmax(got[:5].sum(axis=0)))  # over the working days
        # one of the profile's peak hours (10-16 are within 15 % of its top): Poisson noise
        # decides which, the replay's window (it ends now) shifts it too
        assert weekdays[busiest] >= 0.85 * weekdays.max(), (loc.id, busiest)
        assert got[:, 2:5].mean() < 0.06 * got[:5, 11:14].mean()  # quiet nights
        assert got[5:].sum() < 0.8 * got[:5].sum() * 2 / 5  # a lighter weekend day
