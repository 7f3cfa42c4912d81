"""SLA urgency and countdown math of open incidents."""

from __future__ import annotations

from typing import Any

from dashboards.incidents import by_urgency, incident_row, next_deadline
from stream.readmodel import IncidentView

NOW = 1_800_000_000_000
MIN = 60_000


def view(iid: str, *, status: str = "open", transfer: int | None = None, resolve: int = 10 * MIN,
         breached: bool = False, **kw: Any) -> IncidentView:
    return IncidentView(location="a", incident=iid, category="claim", status=status,  # type: ignore[arg-type]
                        opened_ms=NOW - 60 * MIN,
                        assigned_ms=None if status == "open" else NOW - 30 * MIN, resolved_ms=None,
                        transfer_deadline_ms=None if transfer is None else NOW + transfer,
                        resolve_deadline_ms=NOW + resolve, breached=breached, problem=False, **kw)


def test_transfer_deadline_counts_until_assigned() -> None:
    assert next_deadline(view("x", transfer=5 * MIN)) == (NOW + 5 * MIN, "transfer")
    assigned = view("x", transfer=5 * MIN, status="assigned")
    assert next_deadline(assigned) == (NOW + 10 * MIN, "resolve")
    assert next_deadline(view("x")) == (NOW + 10 * MIN, "resolve")


def test_a_passed_deadline_is_breached_before_the_server_says_so() -> None:
    row = incident_row(view("x", resolve=-MIN), NOW)
    assert row.breached and row.remaining_ms == -MIN and row.tone == "bad"
    assert incident_row(view("y", resolve=30 * MIN), NOW).tone == "warn"
    assert incident_row(view("z", resolve=3 * 60 * MIN), NOW).tone == "neutral"


def test_breached_first_most_overdue_on_top_then_nearest_deadline_resolved_dropped() -> None:
    views = [view("later", resolve=90 * MIN), view("soon", resolve=5 * MIN),
             view("late", resolve=-MIN), view("very-late", resolve=-60 * MIN),
             view("flagged", resolve=200 * MIN, breached=True),
             view("done", status="resolved", resolve=-500 * MIN)]
    assert [r.incident for r in by_urgency(views, NOW)] == \
        ["very-late", "late", "flagged", "soon", "later"]
