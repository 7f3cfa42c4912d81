"""Additive partial results: what one engine knows about a scope over a window.

Every metric is a ratio of sums, so a ``Partial`` holds only sums (counters by name, CSI
answers per question, flow-profile sums, incident counts). Partials of engines that own
disjoint sets of locations add up (``merge``) to exactly the partial one engine holding all
locations would produce, which is how partitioned core workers roll up to one network
view. ``stream.query`` turns a partial into the contract's ``Metrics``.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import numpy.typing as npt

from stream.engine import MetricsEngine
from stream.incident_views import opened_between, problem_counts
from stream.incidents import NONE, SOURCE_CODE, THANKS
from stream.layout import COL, DIM, DIM_COL, FIXED, FLOW_COLS
from stream.windows import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    check_window,
    day_buckets,
    hour_buckets,
    last_hour_minutes,
    profile_hours,
)


class IncidentSums(msgspec.Struct):
    open: int = 0
    opened: int = 0
    resolved: int = 0
    sla_breached: int = 0
    on_time: int = 0
    open_breached: int = 0
    thanks: int = 0
    same_day: int = 0
    resolve_ms: int = 0
    repeats: dict[str, int] = {}  # "location\x1fcategory" -> opened in the window (problems)
    first_actions: int = 0  # incidents whose first step by a person fell in the window
    first_action_ms: int = 0  # their summed time from opening to that step
    # per source ("desk", "api", "auto"): [opened, resolved, on_time, same_day, resolve_ms,
    # first_actions, first_action_ms], all as above
    sources: dict[str, list[int]] = {}


SUMMED = ("open", "opened", "resolved", "sla_breached", "on_time", "open_breached", "thanks",
          "same_day", "resolve_ms", "first_actions", "first_action_ms")
SOURCE_SUMS = 7


class Partial(msgspec.Struct):
    """Sums of one scope over one window, from one engine (or merged from several)."""

    scope: str
    window: str
    start_ms: int
    end_ms: int
    known: bool = False
    counts: dict[str, int] = {}
    csi: dict[str, list[int]] = {}  # "factor\x1fquestion" -> [answers, sum in UNIT]
    profile_sums: list[float] = []  # 7 x 24 flattened, Monday 00:00 first
    profile_hours: list[int] = []
    this_hour: int = 0
    now_cell: int = 0
    incidents: IncidentSums = msgspec.field(default_factory=IncidentSums)
    staff: str | None = None
    touchpoint: str | None = None
    profile_history_h: int = 0  # hours since the oldest contact inside the profile


def merge(parts: list[Partial]) -> Partial:
    """Sum partials of the same scope and window from engines with disjoint locations."""
    known = [p for p in parts if p.known] or parts[:1]
    first = known[0]
    counts: dict[str, int] = {}
    csi: dict[str, list[int]] = {}
    sums = np.zeros(168)
    hours = np.zeros(168, np.int64)
    inc = IncidentSums(repeats={}, sources={})
    for p in known:
        for k, v in p.counts.items():
            counts[k] = counts.get(k, 0) + v
        for k, (n, s) in p.csi.items():
            acc = csi.setdefault(k, [0, 0])
            acc[0] += n
            acc[1] += s
        if p.profile_sums:
            sums += np.asarray(p.profile_sums)
            hours = np.maximum(hours, np.asarray(p.profile_hours))
        _add_incidents(inc, p.incidents)
    return Partial(
        scope=first.scope, window=first.window, start_ms=min(p.start_ms for p in known),
        end_ms=max(p.end_ms for p in known), known=any(p.known for p in parts), counts=counts,
        csi=csi, profile_sums=sums.tolist() if first.profile_sums else [],
        profile_hours=hours.tolist() if first.profile_sums else [],
        this_hour=sum(p.this_hour for p in known), now_cell=first.now_cell, incidents=inc,
        profile_history_h=max(p.profile_history_h for p in known),
        staff=first.staff, touchpoint=first.touchpoint,
    )


def _add_incidents(acc: IncidentSums, part: IncidentSums) -> None:
    """Add ``part``'s incident sums into ``acc`` (every field is additive)."""
    for field in SUMMED:
        setattr(acc, field, getattr(acc, field) + getattr(part, field))
    for k, v in part.repeats.items():
        acc.repeats[k] = acc.repeats.get(k, 0) + v
    for src, values in part.sources.items():
        mine = acc.sources.setdefault(src, [0] * SOURCE_SUMS)
        for i, v in enumerate(values):
            mine[i] += v


def _window_sums(engine: MetricsEngine, scope: str, window: str,
                 now_ms: int) -> tuple[npt.NDArray[np.int64], dict[int, int]]:
    """Column totals of a scope over a window, and each member place's window start (ms)."""
    geo = engine.geo
    members = geo.members(scope)
    ent = np.array([geo.scope_entity[scope]], np.int64)
    if check_window(window) == "1h":
        first, last = last_hour_minutes(now_ms)
        sums = engine.minutes.sum(ent, np.array([first]), np.array([last]))
        return sums, {p.idx: first * MINUTE_MS for p in members}
    if window == "today":
        starts = {p.idx: p.day_start_ms(now_ms) for p in members}
        ents = np.array([p.entity for p in members], np.int64)
        firsts = np.array([(starts[p.idx] - p.offsets_ms[0]) // HOUR_MS for p in members], np.int64)
        lasts = np.array([p.hour_bucket(now_ms) for p in members], np.int64)
        return engine.hours.sum(ents, firsts, lasts), starts
    offset = members[0].offsets_ms[0] if (scope in geo.by_id and members) else 0
    first, last = hour_buckets(window, now_ms, offset)
    sums = engine.hours.sum(ent, np.array([first]), np.array([last]))
    return sums, {p.idx: first * HOUR_MS + offset for p in members}


@functools.lru_cache(maxsize=256)
def _profile_cells(tzname: str, offset_ms: int, first: int, last: int) -> npt.NDArray[np.int64]:
    """Local weekday * 24 + hour of each hour bucket first..last (DST-aware, cached)."""
    tz = ZoneInfo(tzname)
    out = np.empty(last - first + 1, np.int64)
    for i, b in enumerate(range(first, last + 1)):
        local = dt.datetime.fromtimestamp((b * HOUR_MS + offset_ms) / 1000, tz)
        out[i] = local.weekday() * 24 + local.hour
    return out


ProfileSums = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], int, int, int]


def _profile(engine: MetricsEngine, scope: str, now_ms: int) -> ProfileSums:
    """Contacts per (local weekday, hour) over the 4 weeks of completed hours before the
    current one, the number of hours behind each cell, this hour's contacts, its cell, and
    how many hours of history the profile holds."""
    geo = engine.geo
    ents = np.array([geo.scope_entity[scope]], np.int64)
    place = geo.by_id.get(scope)
    offset = place.offsets_ms[0] if place else 0
    tz = geo.timezone(scope)
    first, last, now_h = profile_hours(now_ms, offset)
    per = np.zeros(last - first + 1, np.int64)
    this_hour = 0
    for col in FLOW_COLS:
        per += engine.hours.per_bucket(ents, first, last, col)
        this_hour += int(engine.hours.per_bucket(ents, now_h, now_h, col)[0])
    cells = _profile_cells(tz.key, offset, first, last)
    local = dt.datetime.fromtimestamp(now_ms / 1000, tz)
    seen = np.flatnonzero(per)
    history_h = int(per.shape[0] - seen[0]) if seen.shape[0] else 0
    # numpy's stubs type every bincount as intp; astype(copy=False) is a no-op that says the dtype
    contacts = np.bincount(cells, weights=per, minlength=168).astype(np.float64, copy=False)
    hours = np.bincount(cells, minlength=168).astype(np.int64, copy=False)
    return (contacts, hours, this_hour, local.weekday() * 24 + local.hour, history_h)


def _incident_sums(engine: MetricsEngine, starts: dict[int, int], now_ms: int) -> IncidentSums:
    cols = engine.incidents.cols
    if cols.size == 0 or not starts:
        return IncidentSums(repeats={}, sources={})
    never = np.iinfo(np.int64).max
    start_of = np.full(len(engine.geo.places), never, np.int64)
    for idx, start_ms in starts.items():
        start_of[idx] = start_ms
    start = start_of[cols.view("place")]
    in_scope = cols.view("valid") & (start != never)
    cat, opened, resolved = cols.view("category"), cols.view("opened"), cols.view("resolved")
    opened_w = opened_between(cols, start, now_ms)
    real = in_scope & (cat != THANKS)
    resolved_w = real & (resolved != NONE) & (resolved >= start) & (resolved <= now_ms)
    breached = engine.incidents.breached(now_ms)
    open_now = real & (cols.view("status") != 2) & (opened <= now_ms)
    first = cols.view("first_action")
    acted_w = real & (first != NONE) & (first >= start) & (first <= now_ms)
    same_day = resolved_w & (cols.view("resolved_day") == cols.view("opened_day"))
    masks = (opened_w, resolved_w, resolved_w & ~breached, same_day, acted_w)
    return IncidentSums(
        open=int(open_now.sum()), opened=int(opened_w.sum()), resolved=int(resolved_w.sum()),
        sla_breached=int((opened_w & breached).sum()), on_time=int((resolved_w & ~breached).sum()),
        open_breached=int((open_now & breached).sum()),
        thanks=int((in_scope & (cat == THANKS) & (opened >= start) & (opened <= now_ms)).sum()),
        same_day=int(same_day.sum()),
        resolve_ms=int((resolved - opened)[resolved_w].sum()),
        repeats=problem_counts(engine, opened_w, now_ms),
        first_actions=int(acted_w.sum()), first_action_ms=int((first - opened)[acted_w].sum()),
        sources=_by_source(cols.view("source"), masks, resolved - opened, first - opened),
    )


def _by_source(source: npt.NDArray[np.int8], masks: tuple[npt.NDArray[np.bool_], ...],
               resolve_ms: npt.NDArray[np.int64],
               first_ms: npt.NDArray[np.int64]) -> dict[str, list[int]]:
    """The per-source sums of ``IncidentSums.sources`` (sources with no incident left out)."""
    opened_w, resolved_w, on_time, same_day, acted_w = masks
    out: dict[str, list[int]] = {}
    for name, code in SOURCE_CODE.items():
        mine = source == code
        row = [int((opened_w & mine).sum()), int((resolved_w & mine).sum()),
               int((on_time & mine).sum()), int((same_day & mine).sum()),
               int(resolve_ms[resolved_w & mine].sum()), int((acted_w & mine).sum()),
               int(first_ms[acted_w & mine].sum())]
        if any(row):
            out[name] = row
    return out


def partial(engine: MetricsEngine, scope: str, window: str, now_ms: int) -> Partial:
    """This engine's sums for a scope and window (``known=False`` if it never saw it)."""
    if not engine.geo.known(scope):
        return Partial(scope, check_window(window), now_ms, now_ms)
    sums, starts = _window_sums(engine, scope, window, now_ms)
    counts = {name: int(sums[i]) for i, name in enumerate(FIXED)}
    csi = {f"{f}\x1f{q}": [int(sums[c]), int(sums[c + 1])] for (f, q), c in engine.csi_keys.items()}
    psums, phours, this_hour, cell, history_h = _profile(engine, scope, now_ms)
    return Partial(scope, window, min(starts.values(), default=now_ms), now_ms, True, counts, csi,
                   psums.tolist(), phours.tolist(), this_hour, cell,
                   _incident_sums(engine, starts, now_ms), profile_history_h=history_h)


def dimension_partial(engine: MetricsEngine, scope: str, window: str, now_ms: int, *,
                      staff: str | None = None, touchpoint: str | None = None) -> Partial:
    """Feedback sums of one staff member or touchpoint (daily resolution)."""
    first_day, last_day = day_buckets(window, 0)  # raises for a window not kept per day
    kind, key = ("staff", staff) if staff else ("touchpoint", touchpoint)
    members = engine.geo.members(scope)
    rows: list[tuple[int, int, int]] = []  # (entity, first day, last day)
    for p in members:
        ent = engine.dim_keys.get((kind, p.idx, key or ""))
        if ent is not None:
            rows.append((ent, *day_buckets(window, p.day_of(now_ms))))
    table = np.array(rows, np.int64).reshape(-1, 3)
    sums = engine.dims.sum(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())
    span_ms = (last_day - first_day) * DAY_MS
    start = min((p.day_start_ms(now_ms) - span_ms for p in members), default=now_ms)
    counts = {name: int(sums[DIM_COL[name]]) for name in DIM}
    return Partial(scope, window, start, now_ms, engine.geo.known(scope), counts,
                   staff=staff, touchpoint=touchpoint)


__all__ = ["COL", "IncidentSums", "Partial", "dimension_partial", "merge", "partial"]
