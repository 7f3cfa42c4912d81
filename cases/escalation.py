"""Overdue cases step up once per working day (pure).

A case is *overdue since* the first deadline it missed: its transfer deadline when it was
not assigned (or resolved) by then, else its resolution deadline once that has passed
(``stream.incident_views`` holds the deadlines; the core marks such a case breached).

Escalation moments, in the location's working calendar (``stream.workcal``): the first at
the first working instant at or after the missed deadline (a deadline missed on Saturday
escalates at Monday's opening, not on the weekend), then one at the opening of every
following working day -- weekends and holidays skipped, in the location's time zone.
The level due at ``now`` is the number of moments passed; each step publishes the level
reached (``escalation``) and the severity stepped up by the levels added (``low`` ->
``normal`` -> ``high`` -> ``critical``, then it stays critical while the level still
counts). After a gap (the service was down for days) one step catches up to the level due.
"""

from __future__ import annotations

from cases import ids
from stream.events import SEVERITIES, IncidentEvent
from stream.readmodel import IncidentView
from stream.workcal import WorkCalendar

MAX_LEVELS = 400  # more than a year of working days: stop counting
_TEXT = {"ru": "просрочен: эскалация {n}, важность {severity}",
         "en": "overdue: escalation {n}, severity {severity}"}


def overdue_since(v: IncidentView, now_ms: int) -> int | None:
    """When the case missed its first deadline, or None while it has missed none."""
    if v.status == "resolved":
        return None
    tdl = v.transfer_deadline_ms
    if tdl is not None and tdl < now_ms and (v.assigned_ms is None or v.assigned_ms > tdl):
        return tdl
    return v.resolve_deadline_ms if v.resolve_deadline_ms < now_ms else None


def level_due(cal: WorkCalendar, since_ms: int, now_ms: int) -> int:
    """Escalation moments passed between ``since_ms`` (a missed deadline) and ``now_ms``."""
    moment = cal.add_working_ms(since_ms, 0)  # the first working instant from then on
    level = 0
    while moment <= now_ms and level < MAX_LEVELS:
        level += 1
        closing = cal.end_of_working_day(moment, 0)
        following = cal.add_working_ms(closing, 0)  # the next working day's opening
        if following <= moment:  # a calendar with no opening hours: one moment only
            break
        moment = following
    return level


def stepped(severity: str | None, levels: int) -> str:
    """``severity`` (``normal`` when unset) raised by ``levels`` steps, at most critical."""
    base = SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("normal")
    return SEVERITIES[min(base + max(levels, 0), len(SEVERITIES) - 1)]


def escalation(v: IncidentView, cal: WorkCalendar, now_ms: int, who: str,
               lang: str = "ru") -> IncidentEvent | None:
    """The step that brings an overdue case to the level due now, or None (not overdue,
    or already there). Its id names the level, so a re-sent step is a duplicate."""
    since = overdue_since(v, now_ms)
    if since is None:
        return None
    due = level_due(cal, since, now_ms)
    if due <= v.escalations:
        return None
    severity = stepped(v.severity, due - v.escalations)
    return IncidentEvent(
        id=ids.step_id(v.incident, f"esc{due}"), ts=now_ms, location=v.location,
        incident=v.incident, action="comment", severity=severity,  # type: ignore[arg-type]
        source="auto", who=who, escalation=due,
        text=_TEXT["en" if lang == "en" else "ru"].format(n=due, severity=severity))
