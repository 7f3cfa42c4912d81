"""Incidents as people read them, in one place: views, next deadline, urgency, problems.

- **Next deadline.** Until an incident is *transferred* — its first assignment or resolution,
  ``assigned_ms`` (domain.md: to Customer Service within 3 working hours, minutes for a live
  call) — it races its transfer deadline as well as its resolution deadline (review within
  2 working days, claims within 24 h); the nearer one counts. Once transferred only the
  resolution deadline is left.
- **Urgency.** Unresolved before resolved; overdue (flagged breached, or its next deadline
  has passed) first, most overdue on top; then the nearest deadline; among equal deadlines
  the older incident first. The API, the ``incidents`` topic and the wall all use this order.
- **Problems.** A problem is a repeated incident beyond what is usual: the same category
  at one location more often than its own baseline (and its peers') says, by a Poisson
  test (``stream.problems``); the flag is cached per minute and per change of the book.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

from stream.engine import MetricsEngine
from stream.events import INCIDENT_CATEGORIES
from stream.geography import Place
from stream.incidents import NONE, STATUS_NAMES, THANKS, IncidentBook, IncidentColumns, Step
from stream.problems import CATEGORY_SLOTS, problem_keys
from stream.readmodel import CaseStep, IncidentView, Problem

DeadlineKind = Literal["transfer", "resolve"]
_CATEGORIES = CATEGORY_SLOTS  # key = place * 16 + category code
assert len(INCIDENT_CATEGORIES) <= _CATEGORIES


# -- deadlines and order (of views: the server, the alert service and the wall share them) --

def next_deadline(v: IncidentView) -> tuple[int, DeadlineKind]:
    """The deadline an incident races now, and which one it is."""
    if (v.assigned_ms is None and v.transfer_deadline_ms is not None
            and v.transfer_deadline_ms < v.resolve_deadline_ms):
        return v.transfer_deadline_ms, "transfer"
    return v.resolve_deadline_ms, "resolve"


def is_overdue(v: IncidentView, now_ms: int) -> bool:
    """Breached by the core's last word, or its next deadline has passed since."""
    return v.status != "resolved" and (v.breached or next_deadline(v)[0] < now_ms)


def urgency(v: IncidentView, now_ms: int) -> tuple[int, int, int, str, str]:
    """Sort key: most urgent first (see the module docstring)."""
    if v.status == "resolved":
        return (2, -(v.resolved_ms or 0), v.opened_ms, v.location, v.incident)
    deadline, _ = next_deadline(v)
    return (0 if is_overdue(v, now_ms) else 1, deadline - now_ms, v.opened_ms, v.location,
            v.incident)


def by_urgency(views: list[IncidentView], now_ms: int) -> list[IncidentView]:
    return sorted(views, key=lambda v: urgency(v, now_ms))


# -- problems: repeated incidents beyond the usual (``stream.problems``) ------------------

def opened_between(cols: IncidentColumns, start_ms: npt.NDArray[np.int64] | int,
                   end_ms: int) -> npt.NDArray[np.bool_]:
    """Per row: a real incident (not thanks) opened in ``start_ms..end_ms`` (inclusive);
    ``start_ms`` may be one start per row (each location's own window)."""
    opened = cols.view("opened")
    real = cols.view("valid") & (cols.view("category") != THANKS)
    rows: npt.NDArray[np.bool_] = real & (opened >= start_ms) & (opened <= end_ms)
    return rows


def repeat_keys(cols: IncidentColumns) -> npt.NDArray[np.int64]:
    """Per row: the (location, category) pair a problem is counted over, as one integer."""
    return cols.view("place").astype(np.int64) * _CATEGORIES + cols.view("category")


def current_problems(engine: MetricsEngine, now_ms: int) -> set[int]:
    """Repeat keys that are a problem now (cached for a minute of ``now_ms`` per state of
    the incident book: every read of every scope asks)."""
    book = engine.incidents
    stamp = (book.version, now_ms // 60_000)
    if book.problem_cache is None or book.problem_cache[0] != stamp:
        keys = problem_keys(book.cols, len(engine.geo.places), engine.cfg.core, now_ms)
        book.problem_cache = (stamp, keys)
    return book.problem_cache[1]


def problem_counts(engine: MetricsEngine, rows: npt.NDArray[np.bool_],
                   now_ms: int) -> dict[str, int]:
    """Incidents among ``rows`` per ``"location\x1fcategory"`` that is a problem now
    (additive across workers: a location belongs to one)."""
    keys = current_problems(engine, now_ms)
    if not keys:
        return {}
    uniq, counts = np.unique(repeat_keys(engine.incidents.cols)[rows], return_counts=True)
    places = engine.geo.places
    return {f"{places[int(k) // _CATEGORIES].id}\x1f"
            f"{INCIDENT_CATEGORIES[int(k) % _CATEGORIES]}": int(n)
            for k, n in zip(uniq, counts, strict=True) if int(k) in keys}


def problems(counts: Mapping[str, int]) -> list[Problem]:
    """Problems among problem counts, most repeated first."""
    out = []
    for key, n in counts.items():
        if n > 0:
            location, category = key.split("\x1f", 1)
            out.append(Problem(location, category, n))
    return sorted(out, key=lambda x: (-x.count, x.location, x.category))


# -- the engine's incidents as views -------------------------------------------------------

def incident_views(engine: MetricsEngine, scope: str, now_ms: int, status: str | None = None,
                   breached: bool | None = None) -> list[IncidentView]:
    """Incidents of a scope, most urgent first."""
    book, cols = engine.incidents, engine.incidents.cols
    members = {p.idx for p in engine.geo.members(scope)}
    if cols.size == 0 or not members:
        return []
    late = book.breached(now_ms)
    keys = repeat_keys(cols)
    problem_keys = current_problems(engine, now_ms)
    out = []
    for (pidx, _), row in book.rows.items():
        if pidx not in members or not cols.valid[row]:
            continue
        view = _view(engine.geo.places[pidx], book, row, bool(late[row]),
                     int(keys[row]) in problem_keys)
        if ((status is None or view.status == status)
                and (breached is None or view.breached == breached)):
            out.append(view)
    return by_urgency(out, now_ms)


def _opt(v: int) -> int | None:
    return None if v == NONE else int(v)


def _view(place: Place, book: IncidentBook, row: int, late: bool, problem: bool) -> IncidentView:
    c, info = book.cols, book.details[row]
    view = IncidentView(
        location=place.id, incident=info.incident,
        category=INCIDENT_CATEGORIES[int(c.category[row])], status=STATUS_NAMES[int(c.status[row])],
        opened_ms=int(c.opened[row]), assigned_ms=_opt(c.handled[row]),
        resolved_ms=_opt(c.resolved[row]), transfer_deadline_ms=_opt(c.transfer_dl[row]),
        resolve_deadline_ms=int(c.resolve_dl[row]), breached=late, problem=problem,
        severity=info.severity, channel=info.channel, department=info.department,
        assignee=info.assignee, text=info.text, source=info.source, who=info.who,
        opened=int(c.opened[row]), linked=info.linked, escalations=info.escalations,
        first_action_ms=_opt(c.first_action[row]),
        steps=case_steps(book.steps.get((place.idx, info.incident), [])),
    )
    return msgspec.structs.replace(view, due=next_deadline(view)[0])


def case_steps(steps: list[Step]) -> list[CaseStep]:
    """An incident's steps as people read them, in event-time order."""
    ordered = sorted(steps, key=lambda s: (s.ts_ms, s.rank, s.event_id))
    return [CaseStep(action=s.event.action, ts=s.ts_ms, who=s.event.who, text=s.event.text,
                     assignee=s.event.assignee, severity=s.event.severity,
                     source=s.event.source or "desk", escalation=s.event.escalation)
            for s in ordered]
