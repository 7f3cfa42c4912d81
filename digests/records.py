"""Ranking a period's exported records: longest waits and holds, comment topics, cases.

The records are the archive's own export (``digests.source``); this module only ranks
and counts them, with an in-memory DuckDB over the CSV files. Cases are the archived
incident steps replayed through the live engine's ``IncidentBook`` (working-time
deadlines per location calendar) and read with the live views (``stream.incident_views``),
so "breached" and "overdue" mean here what they mean on the wall and in ``/api/incidents``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from stream.config import StreamSettings
from stream.engine import MetricsEngine
from stream.events import IncidentEvent
from stream.incident_views import incident_views, is_overdue
from stream.readmodel import IncidentView

_TS_MS = "CAST(epoch_ms(CAST(ts AS TIMESTAMP)) AS BIGINT)"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": 1, "autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    return con


def _csv(path: Path, types: dict[str, str]) -> str:
    cols = ", ".join(f"'{k}': '{v}'" for k, v in types.items())
    escaped = str(path).replace("'", "''")
    return f"read_csv('{escaped}', header = true, columns = {{{cols}}})"


FLOW_TYPES = {"kind": "VARCHAR", "id": "VARCHAR", "ts": "VARCHAR", "location": "VARCHAR",
              "channel": "VARCHAR", "answered": "BOOLEAN", "wait_s": "DOUBLE",
              "handle_s": "DOUBLE", "hold_s": "DOUBLE", "first_contact_resolved": "BOOLEAN",
              "queue": "VARCHAR"}
FEEDBACK_TYPES = {"kind": "VARCHAR", "id": "VARCHAR", "ts": "VARCHAR", "location": "VARCHAR",
                  "type": "VARCHAR", "value": "INTEGER", "scale": "INTEGER", "factor": "VARCHAR",
                  "question": "VARCHAR", "device": "VARCHAR", "staff": "VARCHAR",
                  "touchpoint": "VARCHAR", "session": "VARCHAR", "channel": "VARCHAR",
                  "comment": "VARCHAR", "topics": "VARCHAR", "sentiment": "DOUBLE",
                  "urgent": "BOOLEAN"}
INCIDENT_TYPES = {"kind": "VARCHAR", "id": "VARCHAR", "ts": "VARCHAR", "location": "VARCHAR",
                  "incident": "VARCHAR", "action": "VARCHAR", "category": "VARCHAR",
                  "channel": "VARCHAR", "department": "VARCHAR", "severity": "VARCHAR",
                  "text": "VARCHAR", "assignee": "VARCHAR"}


@dataclass(frozen=True, slots=True)
class Contact:
    ts_ms: int
    location: str
    channel: str
    seconds: float


def longest(flow_csv: Path, column: str, limit: int) -> list[Contact]:
    """The ``limit`` contacts with the longest ``wait_s`` or ``hold_s``."""
    assert column in ("wait_s", "hold_s")
    con = _connect()
    try:
        rows = con.execute(
            f"SELECT {_TS_MS}, location, coalesce(channel, ''), {column} "
            f"FROM {_csv(flow_csv, FLOW_TYPES)} WHERE {column} IS NOT NULL "
            f"ORDER BY {column} DESC, ts, location, id LIMIT ?", [limit]).fetchall()
    finally:
        con.close()
    return [Contact(int(r[0]), r[1], r[2], float(r[3])) for r in rows]


def topic_counts(feedback_csv: Path) -> tuple[Counter[str], int]:
    """Comments per topic, and the number of comments."""
    con = _connect()
    try:
        src = _csv(feedback_csv, FEEDBACK_TYPES)
        rows = con.execute(
            f"SELECT t, count(*) FROM (SELECT unnest(string_split(topics, ' ')) AS t FROM {src} "
            "WHERE comment IS NOT NULL AND topics IS NOT NULL AND topics <> '') GROUP BY t"
        ).fetchall()
        total = con.execute(f"SELECT count(*) FROM {src} WHERE comment IS NOT NULL").fetchone()
    finally:
        con.close()
    return Counter({str(t): int(n) for t, n in rows if t}), int(total[0]) if total else 0


@dataclass(slots=True)
class CategoryCases:
    opened: int = 0  # opened in the period
    breached: int = 0  # of those, past a deadline at the period's end (``sla_breached``)
    resolved: int = 0  # resolved in the period
    on_time: int = 0  # of those, within SLA (``within_sla`` = on_time / resolved)


def _steps(incidents_csv: Path, lo_ms: int | None, hi_ms: int | None,
           unresolved: bool = False) -> list[tuple[Any, ...]]:
    """The steps, in time order; with bounds only those of incidents opened or resolved
    (or reopened) within them (the others cannot change a period's figures), and with
    ``unresolved`` also of those whose last word is not a resolution (still open)."""
    src = _csv(incidents_csv, INCIDENT_TYPES)
    cols = (f"id, {_TS_MS} AS ms, location, incident, action, category, channel, department, "
            "severity, text, assignee")
    con = _connect()
    try:
        if lo_ms is None or hi_ms is None:
            return con.execute(f"SELECT {cols} FROM {src} ORDER BY ms, location, id").fetchall()
        still_open = (" UNION SELECT location, incident FROM s WHERE action IN ('open', "
                      "'resolve', 'reopen') GROUP BY ALL HAVING arg_max(action, ms) <> 'resolve' "
                      "AND NOT bool_or(coalesce(category = 'thanks', false))"
                      if unresolved else "")
        return con.execute(
            f"WITH s AS (SELECT {cols} FROM {src}), k AS (SELECT DISTINCT location, incident "
            "FROM s WHERE action IN ('open', 'resolve', 'reopen') AND ms >= ? AND ms < ?"
            f"{still_open}) SELECT s.* FROM s SEMI JOIN k ON s.location = k.location AND "
            "s.incident = k.incident ORDER BY ms, location, id", [lo_ms, hi_ms]).fetchall()
    finally:
        con.close()


def replay(cfg: StreamSettings, incidents_csv: Path, lo_ms: int | None = None,
           hi_ms: int | None = None, *, unresolved: bool = False) -> MetricsEngine:
    """An engine that holds the exported incident steps (and nothing else); with bounds,
    only the incidents opened, resolved or reopened in ``[lo_ms, hi_ms)`` (and with
    ``unresolved`` those still open)."""
    engine = MetricsEngine(cfg)
    for eid, ms, loc, incident, action, category, channel, dept, severity, text, who in \
            _steps(incidents_csv, lo_ms, hi_ms, unresolved):
        event = IncidentEvent(id=eid, ts=ms, location=loc, incident=incident, action=action,
                              category=category, channel=channel, department=dept,
                              severity=severity, text=text, assignee=who)
        engine.incidents.apply(engine.geo.place(loc), event, ms)
    return engine


def by_category(engine: MetricsEngine, scope: str, first: dt.date, last: dt.date,
                now_ms: int) -> dict[str, CategoryCases]:
    """Per category, over each member location's own local days ``first..last`` and as
    of the period's end (or now), with the definitions of the history's incident sums."""
    end = last + dt.timedelta(days=1)
    bounds = {p.id: (p.calendar.day_start_ms(first), p.calendar.day_start_ms(end))
              for p in engine.geo.members(scope)}
    ends = {min(hi - 1, now_ms) for _, hi in bounds.values()}  # one per zone
    out: dict[str, CategoryCases] = {}
    views = [v for until in sorted(ends) for v in incident_views(engine, scope, until)
             if min(bounds[v.location][1] - 1, now_ms) == until]  # each as of its own end
    for v in views:
        lo, hi = bounds[v.location]
        until = min(hi - 1, now_ms)
        c = out.setdefault(v.category, CategoryCases())
        if lo <= v.opened_ms <= until:
            c.opened += 1
            c.breached += v.breached and v.category != "thanks"
        if (v.category != "thanks" and v.resolved_ms is not None
                and lo <= v.resolved_ms <= until):
            c.resolved += 1
            c.on_time += not v.breached
    return {k: c for k, c in out.items() if c.opened or c.resolved}


def overdue(engine: MetricsEngine, scope: str, now_ms: int) -> list[IncidentView]:
    """Unresolved incidents past a deadline now, most overdue first."""
    return [v for v in incident_views(engine, scope, now_ms)
            if v.status != "resolved" and v.category != "thanks" and is_overdue(v, now_ms)]


def breached_between(engine: MetricsEngine, scope: str, lo_ms: int, hi_ms: int,
                     now_ms: int) -> list[IncidentView]:
    """Incidents resolved in ``[lo_ms, hi_ms)`` after a deadline had passed."""
    return [v for v in incident_views(engine, scope, now_ms, status="resolved", breached=True)
            if v.resolved_ms is not None and lo_ms <= v.resolved_ms < hi_ms]


def period_bounds_ms(scope_tz: dt.tzinfo, first: dt.date,
                     last: dt.date) -> tuple[int, int]:
    """``[first 00:00, last+1 00:00)`` in the scope's zone, as epoch ms."""
    lo = dt.datetime(first.year, first.month, first.day, tzinfo=scope_tz)
    end = last + dt.timedelta(days=1)
    hi = dt.datetime(end.year, end.month, end.day, tzinfo=scope_tz)
    return int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
