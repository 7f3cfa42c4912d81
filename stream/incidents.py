"""Incidents, claims and thanks as a state machine with working-time SLA deadlines.

An incident's record is *derived* from all of its steps sorted by event time, never updated
in arrival order, so a late ``assign`` or a ``resolve`` that arrives before its ``open``
gives the same result as an orderly stream. Derived records live in numpy columns, so
window metrics over tens of thousands of incidents are vectorised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from stream.config import SlaConfig
from stream.events import INCIDENT_CATEGORIES, INCIDENT_SOURCES, IncidentEvent, IncidentLink
from stream.geography import Place
from stream.state import ArrayBlob, IncidentDetail, IncidentStep

CATEGORY_CODE = {c: i for i, c in enumerate(INCIDENT_CATEGORIES)}
THANKS = CATEGORY_CODE["thanks"]
RANK = {"open": 0, "assign": 1, "comment": 2, "resolve": 3, "reopen": 4}
SOURCE_CODE = {s: i for i, s in enumerate(INCIDENT_SOURCES)}  # desk 0, api 1, auto 2
SEVERITY_STEPS = ("low", "normal", "high", "critical")
NONE = -1
_UNSET_COLS = ("handled", "resolved", "transfer_dl", "first_action")
IncidentStatus = Literal["open", "assigned", "resolved"]
STATUS_NAMES: tuple[IncidentStatus, ...] = ("open", "assigned", "resolved")
ColumnName = Literal["place", "category", "opened", "handled", "resolved", "transfer_dl",
                     "resolve_dl", "opened_day", "resolved_day", "status", "valid", "source",
                     "first_action"]


@dataclass(frozen=True, slots=True)
class Step:
    ts_ms: int
    rank: int
    event_id: str
    event: IncidentEvent


@dataclass(slots=True)
class Details:
    """What a person reads about an incident (not needed for the window metrics)."""

    incident: str
    status: int = 0
    severity: str | None = None
    channel: str | None = None
    department: str | None = None
    assignee: str | None = None
    text: str | None = None
    reopens: int = 0
    source: str = "desk"
    who: str | None = None
    linked: IncidentLink | None = None
    escalations: int = 0


class IncidentColumns:
    """Derived records as growable numpy columns, one row per incident."""

    NAMES: tuple[ColumnName, ...] = (
        "place", "category", "opened", "handled", "resolved", "transfer_dl", "resolve_dl",
        "opened_day", "resolved_day", "status", "valid", "source", "first_action")

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.place = np.zeros(capacity, np.int32)
        self.category = np.zeros(capacity, np.int8)
        self.opened = np.zeros(capacity, np.int64)
        self.handled = np.full(capacity, NONE, np.int64)
        self.resolved = np.full(capacity, NONE, np.int64)
        self.transfer_dl = np.full(capacity, NONE, np.int64)
        self.resolve_dl = np.zeros(capacity, np.int64)
        self.opened_day = np.zeros(capacity, np.int32)
        self.resolved_day = np.zeros(capacity, np.int32)
        self.status = np.zeros(capacity, np.int8)
        self.valid = np.zeros(capacity, np.bool_)
        self.source = np.zeros(capacity, np.int8)  # SOURCE_CODE of the opening step
        self.first_action = np.full(capacity, NONE, np.int64)  # first step by a person

    def keep(self, rows: npt.NDArray[np.int64]) -> None:
        """Compact to the given rows, in that order (row i becomes rows.index(i))."""
        for name in self.NAMES:
            col = getattr(self, name)
            kept = col[rows]
            grown = np.full(max(col.shape[0], 1024), NONE if name in _UNSET_COLS else 0,
                            col.dtype)
            grown[: kept.shape[0]] = kept
            setattr(self, name, grown)
        self.size = int(rows.shape[0])

    def load(self, columns: dict[str, npt.NDArray[Any]], size: int) -> None:
        """Take ``size`` rows of every column (as ``snapshot`` gave them)."""
        self.size = 0
        while self.place.shape[0] < size:  # grow by doubling, as ``new_row`` does
            self.size = self.place.shape[0]
            self.new_row()
        for name, values in columns.items():
            getattr(self, name)[:size] = values
        self.size = size

    def new_row(self) -> int:
        if self.size == self.place.shape[0]:
            for name in self.NAMES:
                col = getattr(self, name)
                grown = np.full(col.shape[0] * 2, NONE if name in _UNSET_COLS else 0,
                                col.dtype)
                grown[: col.shape[0]] = col
                setattr(self, name, grown)
        self.size += 1
        return self.size - 1

    @overload
    def view(self, name: Literal["opened", "handled", "resolved", "transfer_dl",
                                 "resolve_dl", "first_action"]) -> npt.NDArray[np.int64]: ...
    @overload
    def view(self, name: Literal["place", "opened_day",
                                 "resolved_day"]) -> npt.NDArray[np.int32]: ...
    @overload
    def view(self, name: Literal["category", "status", "source"]) -> npt.NDArray[np.int8]: ...
    @overload
    def view(self, name: Literal["valid"]) -> npt.NDArray[np.bool_]: ...

    def view(self, name: str) -> npt.NDArray[Any]:
        """The first ``size`` rows of column ``name`` (a view, not a copy)."""
        out: npt.NDArray[Any] = getattr(self, name)[: self.size]
        return out


class IncidentBook:
    """All incidents of the network, keyed by (location, incident id)."""

    def __init__(self, sla: SlaConfig) -> None:
        self.sla = sla
        self.steps: dict[tuple[int, str], list[Step]] = {}
        self.rows: dict[tuple[int, str], int] = {}
        self.details: list[Details] = []
        self.cols = IncidentColumns()
        self.version = 0  # +1 per change (caches of derived reads key on it)
        self.problem_cache: tuple[tuple[int, int], set[int]] | None = None

    def apply(self, place: Place, event: IncidentEvent, ts_ms: int) -> None:
        self.version += 1
        key = (place.idx, event.incident)
        steps = self.steps.setdefault(key, [])
        steps.append(Step(ts_ms, RANK[event.action], event.id, event))
        if key not in self.rows:
            self.rows[key] = self.cols.new_row()
            self.details.append(Details(event.incident))
        self._derive(place, key)

    def _deadlines(self, place: Place, opened: int, category: int,
                   channel: str | None) -> tuple[int, int]:
        if channel in self.sla.live_call_channels:
            transfer = opened + int(self.sla.live_call_transfer_minutes * 60_000)
        else:
            transfer = place.calendar.add_working_ms(
                opened, int(self.sla.transfer_working_hours * 3_600_000))
        if category == CATEGORY_CODE["claim"]:
            resolve = opened + int(self.sla.claim_hours * 3_600_000)
        else:
            resolve = place.calendar.end_of_working_day(opened, self.sla.review_working_days)
        return transfer, resolve

    def _derive(self, place: Place, key: tuple[int, str]) -> None:
        """Recompute one incident from its steps in event-time order."""
        steps = sorted(self.steps[key], key=lambda s: (s.ts_ms, s.rank, s.event_id))
        row, c = self.rows[key], self.cols
        c.place[row] = place.idx
        opens = [s for s in steps if s.rank == 0]
        if not opens:
            c.valid[row] = False
            return
        first, opened = opens[0].event, opens[0].ts_ms
        category = CATEGORY_CODE[first.category or "other"]
        life = _life(steps)
        handled, resolved, status = life.handled, life.resolved, life.status
        if category == THANKS:
            handled, resolved, status = opened, opened, 2
        transfer_dl, resolve_dl = self._deadlines(place, opened, category, first.channel)
        c.category[row], c.opened[row], c.handled[row], c.resolved[row] = (
            category, opened, handled, resolved)
        c.transfer_dl[row], c.resolve_dl[row] = transfer_dl, resolve_dl
        c.opened_day[row] = place.day_of(opened)
        c.resolved_day[row] = place.day_of(resolved) if resolved != NONE else 0
        c.status[row], c.valid[row] = status, True
        c.source[row] = SOURCE_CODE[first.source or "desk"]
        c.first_action[row] = opened if category == THANKS else life.first_action
        info = self.details[row]
        info.status, info.reopens, info.assignee = status, life.reopens, life.assignee
        info.severity, info.channel = life.severity, first.channel
        info.department, info.text = first.department, first.text
        info.source, info.who = first.source or "desk", first.who
        info.linked, info.escalations = life.linked, life.escalations

    def expire(self, horizon_ms: int) -> int:
        """Forget incidents whose latest step is older than ``horizon_ms`` (the retention
        window: their events are gone from the stream too); returns how many."""
        old = [key for key, steps in self.steps.items()
               if max(s.ts_ms for s in steps) < horizon_ms]
        if not old:
            return 0
        self.version += 1
        for key in old:
            del self.steps[key]
        keep = sorted(self.rows[key] for key in self.steps)
        renumber = {row: i for i, row in enumerate(keep)}
        self.rows = {key: renumber[row] for key, row in self.rows.items() if key in self.steps}
        self.details = [self.details[row] for row in keep]
        self.cols.keep(np.asarray(keep, np.int64))
        return len(old)

    def snapshot(self) -> tuple[list[IncidentStep], list[IncidentDetail], dict[str, ArrayBlob]]:
        """Steps, per-row details and the derived columns (so a restore derives nothing)."""
        steps = [IncidentStep(s.ts_ms, s.event) for lst in self.steps.values() for s in lst]
        place_of = {row: pidx for (pidx, _), row in self.rows.items()}
        rows = [IncidentDetail(place_of[i], d.incident, d.status, d.severity, d.channel,
                               d.department, d.assignee, d.text, d.reopens, d.source, d.who,
                               d.linked, d.escalations)
                for i, d in enumerate(self.details)]
        return steps, rows, {name: ArrayBlob.of(self.cols.view(name)) for name in self.cols.NAMES}

    @classmethod
    def restore(cls, sla: SlaConfig, place_of: Callable[[str], int], steps: Sequence[IncidentStep],
                rows: Sequence[IncidentDetail], columns: dict[str, ArrayBlob]) -> IncidentBook:
        """The book a snapshot holds; ``place_of`` maps a location id to its place index."""
        book = cls(sla)
        for step in steps:
            key = (place_of(step.event.location), step.event.incident)
            book.steps.setdefault(key, []).append(Step(step.ts_ms, RANK[step.event.action],
                                                       step.event.id, step.event))
        for row, d in enumerate(rows):
            book.rows[(d.location, d.incident)] = row
            book.details.append(Details(d.incident, d.status, d.severity, d.channel,
                                        d.department, d.assignee, d.text, d.reopens,
                                        d.source, d.who, d.linked, d.escalations))
        book.cols.load({name: blob.array() for name, blob in columns.items()}, len(rows))
        return book

    def breached(self, now_ms: int) -> npt.NDArray[np.bool_]:
        """Per row: a deadline passed before its action (or is past now without it)."""
        c = self.cols
        handled, resolved = c.view("handled"), c.view("resolved")
        tdl, rdl = c.view("transfer_dl"), c.view("resolve_dl")
        late_transfer = np.where(handled == NONE, now_ms > tdl, handled > tdl)
        late_resolve = np.where(resolved == NONE, now_ms > rdl, resolved > rdl)
        late: npt.NDArray[np.bool_] = ((late_transfer | late_resolve) & c.view("valid")
                                       & (c.view("category") != THANKS))
        return late


@dataclass(slots=True)
class Life:
    """What an incident's steps after its opening say (``_life``)."""

    handled: int = NONE
    resolved: int = NONE
    first_action: int = NONE
    status: int = 0
    reopens: int = 0
    escalations: int = 0
    assignee: str | None = None
    severity: str | None = None
    linked: IncidentLink | None = None


def _life(steps: Sequence[Step]) -> Life:
    """Walk the steps in event-time order: transfer and resolution times, status, the
    first step a person took (``source`` other than ``auto``), the assignee, the latest
    severity (the opening one, raised by escalations or any step that sets one) and the
    latest link (a case's link may be completed by a later ``auto`` step)."""
    out = Life()
    for s in steps:
        ev = s.event
        out.assignee = ev.assignee or out.assignee
        out.severity = ev.severity or out.severity
        out.linked = ev.linked or out.linked
        if ev.escalation is not None:
            out.escalations = max(out.escalations, ev.escalation)
        if s.rank == 0:
            continue
        if ev.source != "auto" and out.first_action == NONE and ev.action != "reopen":
            out.first_action = s.ts_ms
        if ev.action == "assign":
            out.handled = s.ts_ms if out.handled == NONE else min(out.handled, s.ts_ms)
            out.status = max(out.status, 1) if out.status != 2 else 2
        elif ev.action == "resolve":
            out.handled = s.ts_ms if out.handled == NONE else min(out.handled, s.ts_ms)
            out.resolved, out.status = s.ts_ms, 2
        elif ev.action == "reopen" and out.status == 2:
            out.resolved, out.reopens = NONE, out.reopens + 1
            out.status = 1 if out.handled != NONE else 0
    return out
