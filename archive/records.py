"""Reading records back: feedback pages with comment search, and exports.

``feedback_page`` lists archived feedback newest first with an opaque cursor; ``q``
matches the lemmas of the masked comment, so «очередь» finds «очереди» (the same
lemmatiser ran at insert, ``archive.comments``). ``export_query`` is the SELECT an
export streams (CSV or Parquet through DuckDB's own writers, ``copy``): v1 field names
plus ``kind``, so an exported CSV is importable again; free text is stored masked, so
the export is masked too.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import duckdb
import msgspec

from archive.comments import query_lemmas
from stream.geography import Place, ScopeIndex
from stream.ids import NETWORK
from stream.windows import DAY_MS

ExportKind = Literal["feedback", "flow", "incidents", "voice", "alerts"]
EXPORT_KINDS: tuple[str, ...] = ("feedback", "flow", "incidents", "voice", "alerts")
MAX_LIMIT = 500
RECENT_MS = 31 * DAY_MS  # a page without `from` looks here first, then further back

_TS = "strftime(epoch_ms(ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts"
_EXPORT_COLUMNS: dict[str, tuple[str, str]] = {
    "feedback": ("feedback", f"'feedback' AS kind, id, {_TS}, location, type, value, scale, "
                 "factor, question, device, staff, touchpoint, session, channel, comment, "
                 "array_to_string(topics, ' ') AS topics, sentiment, urgent"),
    "flow": ("flow", f"'flow' AS kind, id, {_TS}, location, channel, answered, wait_s, "
             "handle_s, hold_s, first_contact_resolved, queue"),
    "incidents": ("incident_steps", f"'incident' AS kind, id, {_TS}, location, incident, action, "
                  "category, channel, department, severity, text, assignee"),
    "voice": ("voice_utterances", f"id, {_TS}, location, mic, start_ms AS start, end_ms AS end, "
              "arousal, anger, loudness_db, keywords, transcript, language, asr"),
    # alert state changes have no local day: the period is cut by time (``_alert_window``)
    "alerts": ("alert_changes", f"{_TS}, alert_id, rule, severity, status, scope, location, "
               "value, json_extract_string(payload, '$.metric') AS metric, "
               "json_extract_string(payload, '$.threshold') AS threshold"),
}


class FeedbackQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: str = NETWORK
    since_ms: int | None = None  # inclusive
    until_ms: int | None = None  # exclusive
    first: dt.date | None = None  # local dates of each location, inclusive
    last: dt.date | None = None
    type: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    has_comment: bool | None = None
    topic: str | None = None
    q: str | None = None
    staff: str | None = None
    touchpoint: str | None = None
    limit: int = 50
    before: str | None = None  # cursor


class FeedbackItem(msgspec.Struct, frozen=True):
    id: str
    ts: str
    location: str
    type: str
    value: int | None
    scale: int | None
    channel: str | None
    session: str | None
    device: str | None
    staff: str | None
    touchpoint: str | None
    comment: str | None
    topics: list[str] | None
    sentiment: float | None
    urgent: bool | None
    factor: str | None = None
    question: str | None = None


class FeedbackPage(msgspec.Struct, frozen=True):
    items: list[FeedbackItem]
    next: str | None


def encode_cursor(ts_ms: int, location: str, event_id: str) -> str:
    raw = msgspec.json.encode([ts_ms, location, event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts_ms, location, event_id = msgspec.json.decode(raw, type=tuple[int, str, str])
    except (ValueError, msgspec.DecodeError) as exc:
        raise ValueError("before: not a cursor of this API") from exc
    return ts_ms, location, event_id


def scope_filter(scope: str, geo: ScopeIndex) -> tuple[str, list[Any]]:
    """SQL condition on ``location`` for a scope (network: none)."""
    if scope == NETWORK:
        return "true", []
    members = geo.members(scope)
    if not members:
        return "false", []
    return f"location IN ({', '.join('?' * len(members))})", [p.id for p in members]


def _conditions(q: FeedbackQuery, geo: ScopeIndex) -> tuple[list[str], list[Any]]:
    where, args = [], []
    cond, cargs = scope_filter(q.scope, geo)
    where.append(cond)
    args += cargs
    checks: Sequence[tuple[object, str]] = (
        (q.since_ms, "ts >= ?"), (q.until_ms, "ts < ?"), (q.first, "day >= ?"),
        (q.last, "day <= ?"), (q.type, "type = ?"),
        (q.min_value, "value >= ?"), (q.max_value, "value <= ?"),
        (q.topic, "list_contains(topics, ?)"),
        (q.staff, "staff = ?"), (q.touchpoint, "touchpoint = ?"),
    )
    for val, sql in checks:
        if val is not None:
            where.append(sql)
            args.append(val)
    if q.has_comment is not None:
        where.append("comment IS NOT NULL" if q.has_comment else "comment IS NULL")
    if q.q:
        lemmas = query_lemmas(q.q)
        if lemmas:
            for lemma in lemmas:
                where.append("lemmas LIKE ?")
                args.append(f"% {lemma} %")
        else:
            where.append("comment ILIKE ?")
            args.append(f"%{q.q}%")
    if q.before:
        ts_ms, loc, eid = decode_cursor(q.before)
        where.append("(ts < ? OR (ts = ? AND (location < ? OR (location = ? AND id < ?))))")
        args += [ts_ms, ts_ms, loc, loc, eid]
    return where, args


_ITEM_SQL = ("SELECT id, ts, location, CAST(type AS VARCHAR), value, scale, channel, session, "
             "device, staff, touchpoint, comment, topics, sentiment, urgent, factor, question "
             "FROM feedback WHERE {where} ORDER BY ts DESC, location DESC, id DESC LIMIT ?")


def feedback_page(con: duckdb.DuckDBPyConnection, geo: ScopeIndex, q: FeedbackQuery,
                  now_ms: int) -> FeedbackPage:
    """One page, newest first. Without ``from`` it looks at the last month first (the
    zone maps on ``ts`` skip older row groups) and only then further back."""
    limit = max(1, min(q.limit, MAX_LIMIT))
    where, args = _conditions(q, geo)
    rows: list[tuple[Any, ...]] = []
    if q.since_ms is None and q.first is None:
        recent = [*where, "ts >= ?"]
        rows = con.execute(_ITEM_SQL.format(where=" AND ".join(recent)),
                           [*args, now_ms - RECENT_MS, limit + 1]).fetchall()
        if len(rows) <= limit:
            older = [*where, "ts < ?"]
            rows += con.execute(_ITEM_SQL.format(where=" AND ".join(older)),
                                [*args, now_ms - RECENT_MS, limit + 1 - len(rows)]).fetchall()
    else:
        rows = con.execute(_ITEM_SQL.format(where=" AND ".join(where)),
                           [*args, limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_item(r, geo) for r in rows]
    last = rows[-1] if rows else None
    return FeedbackPage(items, encode_cursor(last[1], last[2], last[0]) if more and last else None)


def _item(r: tuple[Any, ...], geo: ScopeIndex) -> FeedbackItem:
    place: Place | None = geo.by_id.get(r[2])
    tz = place.tz if place else ZoneInfo("UTC")
    ts = dt.datetime.fromtimestamp(r[1] / 1000, tz).isoformat(timespec="milliseconds")
    sentiment = round(float(r[13]), 4) if r[13] is not None else None
    return FeedbackItem(r[0], ts, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                        list(r[12]) if r[12] is not None else None, sentiment, r[14], r[15], r[16])


def export_query(kind: str, scope: str, geo: ScopeIndex, first: dt.date | None,
                 last: dt.date | None) -> tuple[str, list[Any]]:
    """The SELECT of an export and its parameters (local dates ``first..last``)."""
    if kind not in _EXPORT_COLUMNS:
        raise ValueError(f"kind: one of {', '.join(EXPORT_KINDS)}")
    table, columns = _EXPORT_COLUMNS[kind]
    if kind == "alerts":
        return _alert_window(columns, scope, geo, first, last)
    cond, args = scope_filter(scope, geo)
    where = [cond]
    if first is not None:
        where.append("day >= ?")
        args.append(first)
    if last is not None:
        where.append("day <= ?")
        args.append(last)
    return f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}", args


def _alert_window(columns: str, scope: str, geo: ScopeIndex, first: dt.date | None,
                  last: dt.date | None) -> tuple[str, list[Any]]:
    """Alert changes of a scope's alerts (its own and its locations') between the earliest
    member's local start of ``first`` and the latest member's local end of ``last``."""
    members = geo.members(scope)
    where: list[str] = ["true"]
    args: list[Any] = []
    if scope != NETWORK:
        ids = [scope, *(p.id for p in members)]
        where = [f"(scope IN ({', '.join('?' * len(ids))}) OR location IN "
                 f"({', '.join('?' * len(members)) or 'NULL'}))"]
        args = [*ids, *(p.id for p in members)]
    if first is not None and members:
        where.append("ts >= ?")
        args.append(min(p.calendar.day_start_ms(first) for p in members))
    if last is not None and members:
        where.append("ts < ?")
        args.append(max(p.calendar.day_start_ms(last + dt.timedelta(days=1)) for p in members))
    return (f"SELECT {columns} FROM alert_changes WHERE {' AND '.join(where)} ORDER BY ts",
            args)


def copy(con: duckdb.DuckDBPyConnection, sql: str, args: list[Any], path: Path,
         fmt: Literal["csv", "parquet"]) -> int:
    """Write the query's rows to ``path`` with DuckDB's writer; returns the row count."""
    options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
    escaped = str(path).replace("'", "''")
    row = con.execute(f"COPY ({sql}) TO '{escaped}' ({options})", args).fetchone()
    return int(row[0]) if row else 0


async def tail(path: Path, writing: asyncio.Future[Any],
               chunk_bytes: int = 512 * 1024) -> AsyncIterator[bytes]:
    """Chunks of a file while another task is still appending to it, then the rest."""
    while not path.exists():
        if writing.done():
            writing.result()  # raises the writer's error
            return
        await asyncio.sleep(0.01)
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            if chunk:
                yield chunk
                continue
            if writing.done():
                writing.result()
                rest = fh.read()
                if rest:
                    yield rest
                return
            await asyncio.sleep(0.01)
