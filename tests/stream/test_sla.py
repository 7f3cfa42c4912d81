"""Working-hours SLA deadlines across nights, weekends, holidays, DST and time zones."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cxpulse.config import load_config_text
from stream.config import HoursConfig
from stream.engine import MetricsEngine
from stream.events import IncidentAction, IncidentCategory, IncidentEvent
from stream.query import incident_views, metrics
from stream.workcal import WorkCalendar

MSK = ZoneInfo("Europe/Moscow")
NYC = ZoneInfo("America/New_York")
OFFICE = HoursConfig().minutes()  # Mon-Fri 09:00-18:00


def ms(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=tz).timestamp() * 1000)


@pytest.mark.parametrize(
    ("opened", "deadline"),
    [
        ((2026, 11, 23, 17, 0), (2026, 11, 24, 11, 0)),  # Mon evening -> Tue morning
        ((2026, 11, 24, 2, 0), (2026, 11, 24, 12, 0)),  # night -> counts from opening
        ((2026, 11, 27, 16, 0), (2026, 11, 30, 10, 0)),  # Fri -> over the weekend to Mon
        ((2026, 11, 28, 12, 0), (2026, 11, 30, 12, 0)),  # Saturday (closed)
        ((2026, 11, 23, 10, 30), (2026, 11, 23, 13, 30)),  # inside the day
    ],
)
def test_three_working_hours_moscow(opened: tuple[int, ...], deadline: tuple[int, ...]) -> None:
    cal = WorkCalendar(MSK, OFFICE)
    assert cal.add_working_ms(ms(MSK, *opened), 3 * 3_600_000) == ms(MSK, *deadline)


def test_holiday_is_skipped() -> None:
    cal = WorkCalendar(MSK, OFFICE, frozenset({dt.date(2026, 11, 30)}))
    assert cal.add_working_ms(ms(MSK, 2026, 11, 27, 16, 0), 3 * 3_600_000) == ms(
        MSK, 2026, 12, 1, 10, 0
    )


@pytest.mark.parametrize(
    ("opened", "deadline"),
    [
        ((2026, 11, 23, 15, 0), (2026, 11, 25, 18, 0)),  # Mon -> Wed closing
        ((2026, 11, 27, 15, 0), (2026, 12, 1, 18, 0)),  # Fri -> Tue closing
        ((2026, 11, 28, 15, 0), (2026, 12, 1, 18, 0)),  # Sat -> Mon is day 1, Tue day 2
    ],
)
def test_two_working_days(opened: tuple[int, ...], deadline: tuple[int, ...]) -> None:
    cal = WorkCalendar(MSK, OFFICE)
    assert cal.end_of_working_day(ms(MSK, *opened), 2) == ms(MSK, *deadline)


def test_dst_change_in_new_york() -> None:
    """US DST starts Sunday 2026-03-08: the Monday 11:00 deadline is 15:00 UTC, not 16:00."""
    cal = WorkCalendar(NYC, OFFICE)
    due = cal.add_working_ms(ms(NYC, 2026, 3, 6, 17, 0), 3 * 3_600_000)
    assert due == ms(NYC, 2026, 3, 9, 11, 0)
    assert dt.datetime.fromtimestamp(due / 1000, dt.UTC).hour == 15


CFG = load_config_text("""
[[locations]]
id = "nsk"
timezone = "Asia/Novosibirsk"
""")


def _ev(i: int, ts: int, action: IncidentAction, **kw: Any) -> tuple[IncidentEvent, int]:
    return IncidentEvent(id=f"e{i}", ts=ts, location="nsk", incident=kw.pop("inc", "A"),
                         action=action, **kw), ts


NSK = ZoneInfo("Asia/Novosibirsk")


def test_incident_state_machine_is_order_independent() -> None:
    t0 = ms(NSK, 2026, 11, 23, 10, 0)  # Monday 10:00 local
    story = [
        _ev(1, t0, "open", category="service"),
        _ev(2, t0 + 2 * 3_600_000, "assign", assignee="cs-1"),
        _ev(3, t0 + 26 * 3_600_000, "resolve"),
    ]
    now = t0 + 30 * 3_600_000
    results = []
    for order in (story, story[::-1], [story[2], story[0], story[1]]):
        engine = MetricsEngine(CFG)
        for item in order:
            engine.apply_batch([item])
        results.append(
            (incident_views(engine, "nsk", now), metrics(engine, "nsk", "7d", now).incidents)
        )
    assert results[0] == results[1] == results[2]
    (view,), inc = results[0]
    assert view.status == "resolved" and not view.breached and view.assignee == "cs-1"
    assert view.transfer_deadline_ms == t0 + 3 * 3_600_000
    assert view.resolve_deadline_ms == ms(NSK, 2026, 11, 25, 18, 0)
    assert inc.resolved == 1 and inc.within_sla == 1.0 and inc.open == 0


def test_claims_live_calls_thanks_and_breaches() -> None:
    t0 = ms(NSK, 2026, 11, 27, 17, 30)  # Friday evening
    engine = MetricsEngine(CFG)
    engine.apply_batch([
        _ev(1, t0, "open", category="claim", inc="claim"),  # 24 calendar hours
        _ev(2, t0, "open", category="service", channel="phone", inc="call"),  # live call
        _ev(3, t0 + 60_000, "assign", inc="call"),  # within 5 minutes
        _ev(4, t0, "open", category="thanks", inc="thx"),
        _ev(5, t0, "open", category="consultation", inc="late"),
    ])
    now = t0 + 25 * 3_600_000  # Saturday evening: the claim is overdue
    views = {v.incident: v for v in incident_views(engine, "nsk", now)}
    assert views["claim"].resolve_deadline_ms == t0 + 24 * 3_600_000
    assert views["claim"].breached
    assert not views["call"].breached
    # "late": its transfer deadline is Monday 11:30 (30 min on Friday + 2.5 h on Monday)
    assert views["late"].transfer_deadline_ms == ms(NSK, 2026, 11, 30, 11, 30)
    assert not views["late"].breached
    inc = metrics(engine, "nsk", "7d", now).incidents
    assert (inc.open, inc.opened, inc.thanks, inc.appeals) == (3, 3, 1, 4)
    assert inc.thanks_share == pytest.approx(0.25)
    assert inc.open_breached == 1
    # reopen puts the incident back in the open count
    engine.apply_batch([_ev(6, t0 + 3_600_000, "resolve", inc="late"),
                        _ev(7, t0 + 2 * 3_600_000, "reopen", inc="late")])
    assert metrics(engine, "nsk", "7d", now).incidents.open == 3


PEERS = load_config_text("""
[[locations]]
id = "nsk"
timezone = "Asia/Novosibirsk"
""" + "".join(f'[[locations]]\nid = "peer{i}"\ntimezone = "Asia/Novosibirsk"\n'
              for i in range(5)))


def _peer_ev(i: int, ts: int, location: str,
             category: IncidentCategory) -> tuple[IncidentEvent, int]:
    return IncidentEvent(id=f"{location}-{i}", ts=ts, location=location, incident=f"i{i}",
                         action="open", category=category), ts


def test_problems_are_repeats_beyond_the_usual_at_that_location() -> None:
    """Three product-quality incidents where peers have about one: a problem; three claims
    where every location has about three: usual, not a problem."""
    t0 = ms(NSK, 2026, 11, 23, 10, 0)
    engine = MetricsEngine(PEERS)
    events = [_peer_ev(i, t0 + i * 60_000, "nsk", "product_quality") for i in range(5)]
    events += [_peer_ev(10 + i, t0 + i * 60_000, loc, "claim")
               for loc in ("nsk", *(f"peer{j}" for j in range(5))) for i in range(3)]
    events += [_peer_ev(20, t0, "peer0", "product_quality")]
    engine.apply_batch(events)
    now = t0 + 3_600_000
    inc = metrics(engine, "nsk", "7d", now).incidents
    assert [(p.category, p.count) for p in inc.problems] == [("product_quality", 5)]
    views = incident_views(engine, "nsk", now)
    assert all(v.problem == (v.category == "product_quality") for v in views)
    assert not any(v.problem for v in incident_views(engine, "peer0", now))


def test_a_location_usually_this_busy_has_no_problem() -> None:
    """Its own four weeks of baseline at the same rate make five a week usual."""
    t0 = ms(NSK, 2026, 11, 23, 10, 0)
    engine = MetricsEngine(PEERS)
    week = 7 * 86_400_000
    engine.apply_batch([_peer_ev(w * 10 + i, t0 - w * week + i * 3_600_000, "nsk", "claim")
                        for w in range(5) for i in range(5)])
    assert metrics(engine, "nsk", "7d", t0 + 6 * 3_600_000).incidents.problems == []
    engine.apply_batch([_peer_ev(100 + i, t0 + 7 * 3_600_000 + i * 60_000, "nsk", "claim")
                        for i in range(10)])  # fifteen this week: beyond the usual five
    [problem] = metrics(engine, "nsk", "7d", t0 + 8 * 3_600_000).incidents.problems
    assert (problem.category, problem.count) == ("claim", 15)
