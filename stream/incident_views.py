"""Incidents as people read them, in one place: views, next deadline, urgency, problems.

- **Next deadline.** Until an incident is *transferred* — its first assignment or resolution,
  ``assigned_ms`` (domain.md: to Customer Service within 3 working hours, minutes for a live
  call) — it races its transfer deadline as well as its resolution deadline (review within
  2 working days, claims within 24 h); the nearer one counts. Once transferred only the
  resolution deadline is left.
- **Urgency.** Unresolved before resolved; overdue (flagged breached, or its next deadline
  has passed) first, most overdue on top; then the nearest deadline; among equal deadlines
  the older incident first. The API, the ``incidents`` topic and the wall all use this order.
- **Problems.** A problem is a repeated incident: the same category at one location at
  least ``[core] problem_threshold`` times in a period (thanks are not incidents).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt

from stream.engine import MetricsEngine
from stream.events import INCIDENT_CATEGORIES
from stream.geography import Place
from stream.incidents import NONE, STATUS_NAMES, THANKS, IncidentBook, IncidentColumns
from stream.readmodel import IncidentView, Problem
from stream.windows import DAY_MS

DeadlineKind = Literal["transfer", "resolve"]
_CATEGORIES = 16  # key = place * 16 + category code; INCIDENT_CATEGORIES has fewer
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


# -- problems: repeated incidents --------------------------------------------------------

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


def repeats(engine: MetricsEngine, rows: npt.NDArray[np.bool_]) -> dict[str, int]:
    """Incidents per ``"location\\x1fcategory"`` among ``rows`` (additive across workers)."""
    uniq, counts = np.unique(repeat_keys(engine.incidents.cols)[rows], return_counts=True)
    places = engine.geo.places
    return {f"{places[int(k) // _CATEGORIES].id}\x1f"
            f"{INCIDENT_CATEGORIES[int(k) % _CATEGORIES]}": int(n)
            for k, n in zip(uniq, counts, strict=True)}


def problems(counts: Mapping[str, int], threshold: int) -> list[Problem]:
    """Problems among repeat counts, most repeated first."""
    out = []
    for key, n in counts.items():
        if n >= threshold:
            location, category = key.split("\x1f", 1)
            out.append(Problem(location, category, n))
    return sorted(out, key=lambda x: (-x.count, x.location, x.category))


def _problem_keys(engine: MetricsEngine, now_ms: int) -> set[int]:
    """Repeat keys that are a problem over the last ``[core] problem_window_days``."""
    core = engine.cfg.core
    recent = opened_between(engine.incidents.cols, now_ms - core.problem_window_days * DAY_MS,
                            np.iinfo(np.int64).max)
    uniq, counts = np.unique(repeat_keys(engine.incidents.cols)[recent], return_counts=True)
    return set(uniq[counts >= core.problem_threshold].tolist())


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
    problem_keys = _problem_keys(engine, now_ms)
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
    return IncidentView(
        location=place.id, incident=info.incident,
        category=INCIDENT_CATEGORIES[int(c.category[row])], status=STATUS_NAMES[int(c.status[row])],
        opened_ms=int(c.opened[row]), assigned_ms=_opt(c.handled[row]),
        resolved_ms=_opt(c.resolved[row]), transfer_deadline_ms=_opt(c.transfer_dl[row]),
        resolve_deadline_ms=int(c.resolve_dl[row]), breached=late, problem=problem,
        severity=info.severity, channel=info.channel, department=info.department,
        assignee=info.assignee, text=info.text,
    )
