"""One home for the next deadline, the urgency order and problems (``stream.incident_views``).

Three copies used to decide "what is most urgent": the core's (``stream.query``), the
wall's (``dashboards.incidents``) and the API's merge for supervisors (``server.api``).
The cases below are the ones on which they disagreed.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from cxpulse.config import load_config_text
from stream.engine import MetricsEngine
from stream.events import IncidentEvent
from stream.incident_views import by_urgency, incident_views, next_deadline, problems
from stream.incidents import IncidentBook
from stream.readmodel import IncidentView, Problem

CFG = load_config_text("""
[[locations]]
id = "a"
timezone = "UTC"
[[locations]]
id = "b"
timezone = "UTC"
""")  # default calendar: Mon-Fri 09:00-18:00; transfer 3 working hours, phone 5 minutes
HOUR = 3_600_000


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def opened(i: int, ts: int, loc: str, inc: str, **kw: str) -> tuple[IncidentEvent, int]:
    return IncidentEvent(id=f"e{i}", ts=ts, location=loc, incident=inc, action="open",
                         category=kw.pop("category", "service"), **kw), ts  # type: ignore[arg-type]


def step(i: int, ts: int, loc: str, inc: str, action: str) -> tuple[IncidentEvent, int]:
    return IncidentEvent(id=f"e{i}", ts=ts, location=loc, incident=inc,
                         action=action), ts  # type: ignore[arg-type]


def test_equal_deadlines_older_incident_first_everywhere() -> None:
    """Incidents opened overnight share the transfer deadline (3 working hours after
    opening). The core ordered them by location id, the wall by opening time: now both
    (and the API) put the older one first."""
    engine = MetricsEngine(CFG)
    engine.apply_batch([opened(1, utc(2026, 3, 2, 22), "b", "night"),  # Mon 22:00
                        opened(2, utc(2026, 3, 3, 6), "a", "dawn")])  # Tue 06:00
    now = utc(2026, 3, 3, 10)
    views = incident_views(engine, "network", now)
    assert {v.transfer_deadline_ms for v in views} == {utc(2026, 3, 3, 12)}
    assert [v.incident for v in views] == ["night", "dawn"]
    assert [v.incident for v in by_urgency(views[::-1], now)] == ["night", "dawn"]


def test_an_untransferred_live_call_outranks_a_later_resolution_deadline() -> None:
    """A supervisor's merged ``/api/incidents`` sorted by the resolution deadline only, so
    an unassigned live call (transfer due in minutes) sank below a claim due in hours."""
    t0 = utc(2026, 3, 3, 10)
    engine = MetricsEngine(CFG)
    engine.apply_batch([opened(1, t0 - 20 * HOUR, "a", "claim", category="claim"),
                        step(2, t0 - 19 * HOUR, "a", "claim", "assign"),
                        opened(3, t0, "b", "call", channel="phone")])
    now = t0 + 60_000
    views = incident_views(engine, "network", now)
    call = next(v for v in views if v.incident == "call")
    assert next_deadline(call) == (t0 + 5 * 60_000, "transfer")
    assert [v.incident for v in views] == ["call", "claim"]
    assert [v.incident for v in by_urgency(views[::-1], now)] == ["call", "claim"]


def test_the_countdown_follows_the_recorded_transfer_like_the_breach_flag() -> None:
    """The wall chose the deadline by ``status``, the core by ``assigned_ms`` (the time of
    the first assignment or resolution, which the SLA measures and the breach flag uses).
    On a view whose status says "assigned" but whose transfer is not recorded, the transfer
    deadline still counts, as it does for the core's breach flag."""
    t0 = utc(2026, 3, 3, 10)
    engine = MetricsEngine(CFG)
    engine.apply_batch([opened(1, t0, "a", "x")])
    view = incident_views(engine, "a", t0)[0]
    assert next_deadline(view) == (utc(2026, 3, 3, 13), "transfer")
    inconsistent = msgspec.structs.replace(view, status="assigned")
    assert next_deadline(inconsistent) == (utc(2026, 3, 3, 13), "transfer")
    book: IncidentBook = engine.incidents
    assert bool(book.breached(utc(2026, 3, 3, 13) + 1)[0])  # unmet transfer: breached
    engine.apply_batch([step(2, t0 + HOUR, "a", "x", "assign")])
    assigned = incident_views(engine, "a", t0 + 2 * HOUR)[0]
    assert next_deadline(assigned) == (assigned.resolve_deadline_ms, "resolve")


def test_a_late_transfer_stays_breached_and_then_races_the_resolution() -> None:
    t0 = utc(2026, 3, 3, 10)
    engine = MetricsEngine(CFG)
    engine.apply_batch([opened(1, t0, "a", "late"), step(2, t0 + 5 * HOUR, "a", "late", "assign"),
                        opened(3, t0 + 5 * HOUR, "a", "calm")])
    now = t0 + 6 * HOUR
    views = {v.incident: v for v in incident_views(engine, "a", now)}
    assert views["late"].breached and next_deadline(views["late"])[1] == "resolve"
    assert not views["calm"].breached and next_deadline(views["calm"])[1] == "transfer"
    assert [v.incident for v in incident_views(engine, "a", now)] == ["late", "calm"]


def test_problems_listed_most_repeated_first() -> None:
    counts = {"a\x1fclaim": 3, "b\x1fservice": 0, "b\x1fclaim": 4}
    assert problems(counts) == [Problem("b", "claim", 4), Problem("a", "claim", 3)]


def test_resolved_last_newest_first() -> None:
    def view(incident: str, resolved_ms: int | None) -> IncidentView:
        return IncidentView(location="a", incident=incident, category="service",
                            status="open" if resolved_ms is None else "resolved", opened_ms=0,
                            assigned_ms=resolved_ms, resolved_ms=resolved_ms,
                            transfer_deadline_ms=None, resolve_deadline_ms=10, breached=False,
                            problem=False)

    views = [view("old", 1), view("new", 5), view("open", None)]
    assert [v.incident for v in by_urgency(views, 100)] == ["open", "new", "old"]
