"""Every metric of the engine equals the naive reference on random event sets, whatever the
arrival order, batching and duplicates."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxpulse.config import load_config_text
from stream.engine import MetricsEngine
from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    FlowEvent,
    IncidentAction,
    IncidentCategory,
    IncidentEvent,
    InputEvent,
    NpsEvent,
    VisitEvent,
)
from stream.query import dimension_metrics, metrics
from tests.stream import reference as ref

CONFIG = """
[core]
default_timezone = "Europe/Moscow"
[[regions]]
id = "east"
[[regions]]
id = "west"
[[locations]]
id = "msk"
region = "east"
timezone = "Europe/Moscow"
[[locations]]
id = "del"
region = "east"
timezone = "Asia/Kolkata"
[[locations]]
id = "nyc"
region = "west"
timezone = "America/New_York"
[locations.hours]
mon = "08:00-20:00"
tue = "08:00-20:00"
wed = "08:00-20:00"
thu = "08:00-20:00"
fri = "08:00-20:00"
sat = "10:00-16:00"
sun = "closed"
"""
CFG = load_config_text(CONFIG)
LOCS = ["msk", "del", "nyc", "stray"]  # "stray" is not configured
SCOPES = ["network", "east", "west", "msk", "del", "nyc", "stray"]
WINDOWS = ["1h", "today", "7d", "30d"]
NOWS = [
    int(dt.datetime(2026, 3, 9, 14, 37, 12, tzinfo=dt.UTC).timestamp() * 1000),  # after US DST
    int(dt.datetime(2026, 11, 28, 21, 5, 0, tzinfo=dt.UTC).timestamp() * 1000),
]
MIN = 60_000
HOUR = 3_600_000


def _offsets() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(-4 * MIN, 90 * MIN),  # the last 1.5 h (and a little future)
        st.integers(-4 * MIN, 2 * 86_400_000),  # today / yesterday
        st.integers(0, 32 * 86_400_000),  # the whole 30 days and beyond
    )


Case = tuple[int, list[tuple[InputEvent, int]], list[tuple[InputEvent, int]], int]
ACTIONS: list[IncidentAction] = ["open", "open", "assign", "resolve", "reopen", "comment"]
RANDOM_CATEGORIES: list[IncidentCategory] = ["claim", "service", "thanks"]
CATEGORIES: list[IncidentCategory] = ["claim", "service", "consultation", "thanks"]  # stories


@st.composite
def event_sets(draw: st.DrawFn) -> Case:
    now = draw(st.sampled_from(NOWS))
    n = draw(st.integers(1, 60))
    events: list[tuple[InputEvent, int]] = []
    for i in range(n):
        loc = draw(st.sampled_from(LOCS))
        ts = now - draw(_offsets())
        kind = draw(st.sampled_from(["button", "nps", "csat", "ces", "csi", "visit", "flow",
                                     "incident"]))
        common: dict[str, Any] = {"id": f"e{i}", "ts": ts, "location": loc}
        ev: InputEvent
        staff = draw(st.sampled_from([None, "anna", "boris"]))
        session = draw(st.sampled_from([None, "s1", "s2", "s3"]))
        if kind == "button":
            scale = draw(st.integers(2, 5))
            ev = ButtonEvent(**common, value=draw(st.integers(1, scale)), scale=scale, staff=staff)
        elif kind == "nps":
            ev = NpsEvent(**common, value=draw(st.integers(0, 10)), session=session, staff=staff)
        elif kind == "csat":
            ev = CsatEvent(**common, value=draw(st.integers(1, 5)), session=session, staff=staff)
        elif kind == "ces":
            ev = CesEvent(**common, value=draw(st.integers(1, 7)), session=session)
        elif kind == "csi":
            scale = draw(st.sampled_from([5, 7, 10]))
            ev = CsiEvent(**common, factor=draw(st.sampled_from(["tangibles", "empathy"])),
                          question=draw(st.sampled_from(["q1", "q2"])),
                          value=draw(st.integers(1, scale)), scale=scale, session=session,
                          staff=staff)
        elif kind == "visit":
            ev = VisitEvent(**common)
        elif kind == "flow":
            maybe = st.one_of(st.none(), st.floats(0, 3600, allow_nan=False))
            ev = FlowEvent(**common, channel=draw(st.sampled_from(["phone", "site", "email"])),
                           answered=draw(st.one_of(st.none(), st.booleans())),
                           wait_s=draw(maybe), handle_s=draw(maybe),
                           first_contact_resolved=draw(st.one_of(st.none(), st.booleans())))
        else:
            action = draw(st.sampled_from(ACTIONS))
            cat = draw(st.sampled_from(RANDOM_CATEGORIES)) if action == "open" else None
            ev = IncidentEvent(**common, incident=draw(st.sampled_from(["i1", "i2", "i3"])),
                               action=action, category=cat,
                               channel=draw(st.sampled_from([None, "phone"])))
        events.append((ev, ts))
    events += draw(incident_stories(now, len(events)))
    n = len(events)
    dup_idx = draw(st.lists(st.integers(0, n - 1), max_size=10))
    arrival = events + [events[i] for i in dup_idx]
    arrival = draw(st.permutations(arrival))
    batch = draw(st.integers(1, 25))
    return now, events, arrival, batch


@st.composite
def incident_stories(draw: st.DrawFn, now: int,
                     first_id: int) -> list[tuple[InputEvent, int]]:
    """Whole incident lives near now: open, assign after hours, resolve after days."""
    out: list[tuple[InputEvent, int]] = []
    for k in range(draw(st.integers(0, 6))):
        loc = draw(st.sampled_from(LOCS))
        opened = now - draw(st.integers(0, 6 * 86_400_000))
        cat = draw(st.sampled_from(CATEGORIES))
        inc = f"story{k}"
        steps: list[tuple[IncidentAction, int]] = [("open", opened)]
        if draw(st.booleans()):
            steps.append(("assign", opened + draw(st.integers(0, 30 * HOUR))))
        if draw(st.booleans()):
            resolved = opened + draw(st.integers(0, 5 * 86_400_000))
            steps.append(("resolve", resolved))
            if draw(st.integers(0, 4)) == 0:
                steps.append(("reopen", resolved + HOUR))
        for j, (action, ts) in enumerate(steps):
            ts = min(ts, now)
            out.append((IncidentEvent(id=f"e{first_id + len(out)}", ts=ts, location=loc,
                                      incident=inc, action=action,
                                      category=cat if action == "open" else None), ts))
            del j
    return out


def _check(got: float | None, want: float | None, what: object) -> None:
    if want is None:
        assert got is None, what
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), what


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_sets())
def test_metrics_equal_reference(case: Case) -> None:
    now, events, arrival, batch = case
    engine = MetricsEngine(CFG)
    for i in range(0, len(arrival), batch):
        engine.apply_batch(arrival[i:i + batch])
    assert engine.applied == len(events)
    assert engine.duplicates == len(arrival) - len(events)
    for scope in SCOPES:
        if not engine.geo.known(scope):
            assert all(ev.location != scope for ev, _ in events)
            continue
        for window in WINDOWS:
            m = metrics(engine, scope, window, now)
            fb = ref.feedback_metrics(CFG, events, scope, window, now)
            what = f"{scope}/{window}"
            for key in ("promoters", "passives", "detractors", "responses", "visits",
                        "sessions", "csat_responses", "ces_responses"):
                assert getattr(m, key) == fb[key], f"{what} {key}"
            for key in ("nps", "response_rate", "nps_with_non_responders", "csat", "ces"):
                _check(getattr(m, key), fb[key], f"{what} {key}")
            _check(m.csi.total, fb["csi_total"], f"{what} csi")
            for f, v in fb["csi_factors"].items():
                _check(m.csi.factors[f], v, f"{what} csi {f}")
            for q in m.csi.questions:
                want = fb["csi_questions"].get((q.factor, q.question), (None, 0))
                _check(q.index, want[0], f"{what} csi {q.question}")
                assert q.answers == want[1]
            assert m.buttons.presses == fb["btn_presses"], what
            _check(m.buttons.index, fb["btn_index"], f"{what} btn index")
            assert m.buttons.shares == pytest.approx(fb["btn_shares"]), what
            fl = ref.flow_metrics(CFG, events, scope, window, now)
            assert m.flow.contacts == fl["contacts"], what
            assert {k: v for k, v in m.flow.by_channel.items() if v} == {
                k: v for k, v in fl["by_channel"].items() if v}, what
            for key in ("answered_share", "fcr", "mean_wait_s", "mean_handle_s", "mean_hold_s"):
                _check(getattr(m.flow, key), fl[key], f"{what} {key}")
            inc = ref.incident_metrics(CFG, events, scope, window, now)
            for key in ("open", "opened", "resolved", "sla_breached", "open_breached"):
                assert getattr(m.incidents, key) == inc[key], f"{what} incidents.{key}"
            for key in ("within_sla", "thanks_share", "mean_resolve_s"):
                _check(getattr(m.incidents, key), inc[key], f"{what} incidents.{key}")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_sets())
def test_staff_breakdown_equals_reference(case: Case) -> None:
    now, events, arrival, _ = case
    engine = MetricsEngine(CFG)
    engine.apply_batch(arrival)
    for loc in ("msk", "nyc", "del"):
        if not engine.geo.known(loc):
            continue
        for window, days in (("today", 1), ("7d", 7), ("30d", 30)):
            m = dimension_metrics(engine, loc, window, now, staff="anna")
            tz = ref.tz_of(CFG, loc)
            today = dt.datetime.fromtimestamp(now / 1000, tz).date()

            def in_days(ts: int, tz: ZoneInfo = tz, today: dt.date = today,
                        days: int = days) -> bool:
                d = dt.datetime.fromtimestamp(ts / 1000, tz).date()
                return 0 <= (today - d).days < days

            mine = [(ev, ts) for ev, ts in events if ev.location == loc
                    and getattr(ev, "staff", None) == "anna" and in_days(ts)]
            nps = [ev.value for ev, _ in mine if isinstance(ev, NpsEvent)]
            assert m.responses == len(nps)
            _check(m.nps, ref.ratio(100 * (sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)),
                                    len(nps)), "staff nps")
            btn = [ev for ev, _ in mine if isinstance(ev, ButtonEvent)]
            assert m.buttons.presses == len(btn)
