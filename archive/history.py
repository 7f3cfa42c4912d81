"""``/api/history``: a metric per local day, ISO week or month, from the archive.

One definition per metric, shared with the live engine: SQL sums the engine's additive
counters (``archive.counters``) per period, over each member location's own local days
(a region or the network sums its members' local periods); the sums become a
``stream.partial.Partial`` and the engine's ``stream.query.assemble`` turns it into the
same ``Metrics`` ``/api/metrics`` serves. Incident metrics replay the archived steps
through the engine's own ``IncidentBook`` (deadlines on each location's working calendar)
and take the engine's window sums for each period. Order of calls: ``ArchiveStore.refresh``
(the rollups must hold every write) -> ``history``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import msgspec

from archive import periods
from archive.counters import CSI, FEEDBACK, FLOW, select_list, sum_list
from archive.metricpath import MetricError, check, counters_of, sample, value
from archive.periods import By
from stream.config import StreamSettings
from stream.engine import MetricsEngine
from stream.events import IncidentEvent
from stream.geography import Place, ScopeIndex
from stream.ids import NETWORK
from stream.layout import FIXED
from stream.partial import IncidentSums, Partial, _incident_sums, merge
from stream.query import assemble

MAX_PERIODS = 2000


class HistoryQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    metric: str
    by: By = "day"
    first: dt.date
    last: dt.date
    compare: str | None = None  # "previous" | "year"
    staff: str | None = None
    touchpoint: str | None = None


class HistoryPoint(msgspec.Struct, frozen=True):
    period: str
    value: float | None
    n: int
    previous: float | None = None


class HistoryResult(msgspec.Struct, frozen=True):
    scope: str
    metric: str
    by: str
    points: list[HistoryPoint]
    compare: str | None = None
    staff: str | None = None
    touchpoint: str | None = None


class Span(msgspec.Struct, frozen=True):
    """The periods a query reads: the asked ones and their comparison partners."""

    asked: list[dt.date]
    needed: list[dt.date]
    lo: dt.date
    hi: dt.date  # last local date read


def span(q: HistoryQuery) -> Span:
    if q.last < q.first:
        raise MetricError("`to` is before `from`")
    asked = periods.series(q.first, q.last, q.by)
    if len(asked) > MAX_PERIODS:
        raise MetricError(f"{len(asked)} periods asked; at most {MAX_PERIODS}")
    extra = [c for s in asked if (c := periods.compare_start(s, q.by, q.compare)) is not None]
    needed = sorted(set(asked) | set(extra))
    hi = periods.next_start(needed[-1], q.by) - dt.timedelta(days=1)
    return Span(asked, needed, needed[0], hi)


def _filter(scope: str, members: Sequence[Place], q: HistoryQuery,
            s: Span) -> tuple[str, list[Any]]:
    where: list[str] = ["day BETWEEN ? AND ?"]
    args: list[Any] = [s.lo, s.hi]
    if scope != NETWORK:
        where.append(f"location IN ({', '.join('?' * len(members))})" if members else "false")
        args += [p.id for p in members]
    for col, val in (("staff", q.staff), ("touchpoint", q.touchpoint)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(val)
    return " AND ".join(where), args


def _sums(con: duckdb.DuckDBPyConnection, sql: str, args: list[Any],
          names: Sequence[str]) -> dict[dt.date, dict[str, int]]:
    return {row[0]: {n: int(v or 0) for n, v in zip(names, row[1:], strict=True)}
            for row in con.execute(sql, args).fetchall()}


def _counter_sums(con: duckdb.DuckDBPyConnection, q: HistoryQuery, fam: str, where: str,
                  args: list[Any]) -> dict[dt.date, dict[str, int]]:
    key = periods.SQL_KEY[q.by]
    if q.staff or q.touchpoint:  # breakdowns read raw rows (rollups are per location)
        sql = f"SELECT {key}, {select_list(FEEDBACK)} FROM feedback WHERE {where} GROUP BY 1"
        return _sums(con, sql, args, [n for n, _ in FEEDBACK])
    table, counters = ("flow_daily", FLOW) if fam == "flow" else ("feedback_daily", FEEDBACK)
    if fam == "incidents":
        return {}
    wanted = counters_of(q.metric)
    if wanted is not None and fam == "feedback":
        counters = tuple(c for c in counters if c[0] in wanted)
    sql = f"SELECT {key}, {sum_list(counters)} FROM {table} WHERE {where} GROUP BY 1"
    return _sums(con, sql, args, [n for n, _ in counters])


def _csi_sums(con: duckdb.DuckDBPyConnection, q: HistoryQuery, where: str,
              args: list[Any]) -> dict[dt.date, dict[str, list[int]]]:
    key = periods.SQL_KEY[q.by]
    sql = (f"SELECT {key}, factor, question, {sum_list(CSI)} FROM csi_daily WHERE {where} "
           "GROUP BY ALL")
    out: dict[dt.date, dict[str, list[int]]] = {}
    for start, factor, question, n, total in con.execute(sql, args).fetchall():
        out.setdefault(start, {})[f"{factor}\x1f{question}"] = [int(n), int(total)]
    return out


def _bounds(members: Sequence[Place], start: dt.date, end: dt.date) -> tuple[int, int]:
    """(earliest local start, latest local end) in ms of a period over the members."""
    if not members:
        return 0, 0
    zones = list({p.tz.key: p for p in members}.values())  # one calendar per zone is enough
    return (min(p.calendar.day_start_ms(start) for p in zones),
            max(p.calendar.day_start_ms(end) for p in zones))


def _incidents(con: duckdb.DuckDBPyConnection, cfg: StreamSettings, members: Sequence[Place],
               scope: str, q: HistoryQuery, s: Span,
               now_ms: int) -> dict[dt.date, list[IncidentSums]]:
    """Per period: the engine's incident sums of each time-zone group of members."""
    engine = MetricsEngine(cfg)
    lo, hi = _bounds(members, s.lo, s.hi + dt.timedelta(days=1))
    loc_sql = "" if scope == NETWORK else (
        f" AND location IN ({', '.join('?' * len(members))})" if members else " AND false")
    rows = con.execute(
        "SELECT s.location, s.id, s.ts, s.incident, s.action, s.category, s.channel, "
        "s.department, s.severity, s.text, s.assignee, s.case_source, s.who, s.escalation "
        "FROM incident_steps s SEMI JOIN "
        "(SELECT DISTINCT location, incident FROM incident_steps WHERE ts BETWEEN ? AND ?"
        f"{loc_sql}) k ON s.location = k.location AND s.incident = k.incident ORDER BY s.ts",
        [lo - 86_400_000, hi + 86_400_000, *([p.id for p in members] if scope != NETWORK else [])],
    ).fetchall()
    for (loc, eid, ts, incident, action, category, channel, dept, severity, text, assignee,
         source, who, escalation) in rows:
        event = IncidentEvent(id=eid, ts=ts, location=loc, incident=incident, action=action,
                              category=category, channel=channel, department=dept,
                              severity=severity, text=text, assignee=assignee, source=source,
                              who=who, escalation=escalation)
        engine.incidents.apply(engine.geo.place(loc), event, ts)
    groups: dict[str, list[Place]] = {}
    for p in members:
        own = engine.geo.place(p.id)
        groups.setdefault(own.tz.key, []).append(own)
    out: dict[dt.date, list[IncidentSums]] = {}
    for start in s.needed:
        end = periods.next_start(start, q.by)
        for group in groups.values():
            starts = {p.idx: p.calendar.day_start_ms(start) for p in group}
            until = min(group[0].calendar.day_start_ms(end) - 1, now_ms)
            out.setdefault(start, []).append(_incident_sums(engine, starts, until))
    return out


def _partial(q: HistoryQuery, start: dt.date, members: Sequence[Place], counts: dict[str, int],
             csi: dict[str, list[int]], incidents: list[IncidentSums], now_ms: int) -> Partial:
    lo, hi = _bounds(members, start, periods.next_start(start, q.by))
    breakdown = bool(q.staff or q.touchpoint)
    base = {name: 0 for name in FIXED} | {"csi_n": 0, "csi_sum": 0} | counts
    if breakdown:
        base = {k: v for k, v in base.items() if k not in ("visits", "sessions")}
    parts = [Partial(q.scope, q.by, lo, min(hi, now_ms), True, base, csi, staff=q.staff,
                     touchpoint=q.touchpoint)]
    parts += [Partial(q.scope, q.by, lo, min(hi, now_ms), True, incidents=i) for i in incidents]
    return merge(parts)  # keeps the first part's staff / touchpoint


def _any_incident(s: IncidentSums) -> bool:
    return bool(s.open or s.opened or s.resolved or s.sla_breached or s.thanks
                or s.open_breached)


def history(con: duckdb.DuckDBPyConnection, cfg: StreamSettings, geo: ScopeIndex,
            q: HistoryQuery, now_ms: int) -> HistoryResult:
    """Every asked period's value, sample and comparison value."""
    fam = check(q.metric, breakdown=bool(q.staff or q.touchpoint))
    if not geo.known(q.scope):
        raise LookupError(f"unknown scope {q.scope!r}")
    members = geo.members(q.scope)
    s = span(q)
    where, args = _filter(q.scope, members, q, s)
    counts = _counter_sums(con, q, fam, where, args)
    breakdown = bool(q.staff or q.touchpoint)
    csi = _csi_sums(con, q, where, args) if fam == "csi" and not breakdown else {}
    incidents = _incidents(con, cfg, members, q.scope, q, s, now_ms) if fam == "incidents" else {}
    values: dict[dt.date, tuple[float | None, int]] = {}
    empty: tuple[float | None, int] | None = None  # a period without data: computed once
    for start in s.needed:
        sums = incidents.get(start, [])
        if start not in counts and start not in csi and not any(map(_any_incident, sums)):
            if empty is None:
                p = _partial(q, start, members, {}, {}, [], now_ms)
                empty = (value(q.metric, assemble(cfg, p)), sample(q.metric, assemble(cfg, p), p))
            values[start] = empty
            continue
        p = _partial(q, start, members, counts.get(start, {}), csi.get(start, {}), sums, now_ms)
        m = assemble(cfg, p)
        values[start] = (value(q.metric, m), sample(q.metric, m, p))
    points = []
    for start in s.asked:
        v, n = values[start]
        other = periods.compare_start(start, q.by, q.compare)
        prev = values[other][0] if other is not None and other in values else None
        points.append(HistoryPoint(periods.label(start, q.by), v, n, prev))
    return HistoryResult(q.scope, q.metric, q.by, points, q.compare, q.staff, q.touchpoint)
