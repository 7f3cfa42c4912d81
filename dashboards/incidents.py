"""Open incidents by SLA urgency, with live countdowns (pure; ``now_ms`` is passed in).

Which deadline an incident races and the urgency order are the stream layer's
(``stream.incident_views``); this module adds what the wall shows: the countdown and its
tone. The server's ``breached`` flag is refreshed every ``ws_refresh_s``; a deadline that
has passed since then is breached on the wall at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboards.fmt import Tone
from stream.incident_views import DeadlineKind, is_overdue, next_deadline, urgency
from stream.readmodel import IncidentView

URGENT_MS = 3_600_000  # under an hour left: amber
__all__ = ["URGENT_MS", "IncidentRow", "by_urgency", "incident_row", "next_deadline"]


@dataclass(frozen=True)
class IncidentRow:
    location: str
    incident: str
    category: str
    severity: str | None
    status: str
    opened_ms: int
    deadline_ms: int
    deadline: DeadlineKind
    remaining_ms: int  # negative: overdue by that much
    breached: bool
    problem: bool
    tone: Tone
    text: str | None
    assignee: str | None


def incident_row(v: IncidentView, now_ms: int) -> IncidentRow:
    deadline_ms, kind = next_deadline(v)
    remaining = deadline_ms - now_ms
    breached = is_overdue(v, now_ms)
    tone: Tone = "bad" if breached else ("warn" if remaining < URGENT_MS else "neutral")
    return IncidentRow(v.location, v.incident, v.category, v.severity, v.status, v.opened_ms,
                       deadline_ms, kind, remaining, breached, v.problem, tone, v.text,
                       v.assignee)


def by_urgency(views: Iterable[IncidentView], now_ms: int) -> list[IncidentRow]:
    """Unresolved incidents, most urgent first (``stream.incident_views.urgency``)."""
    unresolved = sorted((v for v in views if v.status != "resolved"),
                        key=lambda v: urgency(v, now_ms))
    return [incident_row(v, now_ms) for v in unresolved]
