"""Open incidents by SLA urgency, with live countdowns (pure; ``now_ms`` is passed in).

An incident not yet transferred races its transfer deadline (3 working hours, minutes for a
live call) as well as its resolution deadline; the nearer one counts. The server's
``breached`` flag is refreshed every ``ws_refresh_s``; a deadline that has passed since
then is breached on the wall at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dashboards.fmt import Tone
from stream.readmodel import IncidentView

URGENT_MS = 3_600_000  # under an hour left: amber


@dataclass(frozen=True)
class IncidentRow:
    location: str
    incident: str
    category: str
    severity: str | None
    status: str
    opened_ms: int
    deadline_ms: int
    deadline: Literal["transfer", "resolve"]
    remaining_ms: int  # negative: overdue by that much
    breached: bool
    problem: bool
    tone: Tone
    text: str | None
    assignee: str | None


def next_deadline(v: IncidentView) -> tuple[int, Literal["transfer", "resolve"]]:
    """The deadline the incident races now: the transfer one until it is assigned."""
    if v.status == "open" and v.transfer_deadline_ms is not None \
            and v.transfer_deadline_ms < v.resolve_deadline_ms:
        return v.transfer_deadline_ms, "transfer"
    return v.resolve_deadline_ms, "resolve"


def incident_row(v: IncidentView, now_ms: int) -> IncidentRow:
    deadline_ms, kind = next_deadline(v)
    remaining = deadline_ms - now_ms
    breached = v.breached or remaining < 0
    tone: Tone = "bad" if breached else ("warn" if remaining < URGENT_MS else "neutral")
    return IncidentRow(v.location, v.incident, v.category, v.severity, v.status, v.opened_ms,
                       deadline_ms, kind, remaining, breached, v.problem, tone, v.text,
                       v.assignee)


def by_urgency(views: Iterable[IncidentView], now_ms: int) -> list[IncidentRow]:
    """Unresolved incidents, breached first (most overdue on top), then nearest deadline."""
    rows = [incident_row(v, now_ms) for v in views if v.status != "resolved"]
    rows.sort(key=lambda r: (not r.breached, r.remaining_ms, r.opened_ms, r.incident))
    return rows
