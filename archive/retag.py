"""Recompute the tags of archived comments (``cxpulse comments retag``), so that a topic
added or changed in ``[comments]`` applies to the past too.

The archive keeps comments masked; tags are a function of the masked text, the answer it
came with and the configuration (``archive.comments``), so re-tagging reads back exactly
what live tagging saw. Work is split in pages walked in (ts, location, id) order:

    page 1: the leader counts the comments since ``since_ms`` and returns the first rows
    page n: the caller tags page n-1's rows with ITS configuration and sends the tags
            with the request for page n; the leader writes those that changed (one
            UPDATE, under the store's lock, beside the live writer) and returns page n

Tagging runs in the caller (the ``cxpulse comments retag`` process), not in the server
holding the archive, so a long re-tag never takes CPU from the live core and writer
beside it. Rows written while it runs are tagged live with the new configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import msgspec
import pandas as pd

from archive.comments import TagFn

PAGE_ROWS = 2000
PAGE_BYTES = 600_000  # of comment text per page: a forwarded reply stays under NATS's 1 MB
Row = tuple[str, str, int, str, str, int | None, int | None]  # loc, id, ts, text, type, v, s
Update = tuple[str, str, int, list[str], float | None, bool]  # loc, id, ts, topics, sent., urg.
Cursor = tuple[int, str, str]  # ts, location, id of the last row of a page


class RetagRequest(msgspec.Struct, frozen=True, tag="retag"):
    """Apply ``updates`` (the previous page's tags), then return the page after ``after``;
    ``count``: also count every comment since ``since_ms``."""

    since_ms: int = 0
    after: Cursor | None = None
    limit: int = PAGE_ROWS
    updates: list[Update] = []
    count: bool = False


class RetagPage(msgspec.Struct, frozen=True):
    rows: list[Row]
    changed: int = 0
    total: int | None = None


_PAGE_SQL = """
SELECT location, id, ts, comment, CAST(type AS VARCHAR), value, scale FROM feedback
WHERE comment IS NOT NULL AND ts >= ? {after}
ORDER BY ts, location, id LIMIT ?
"""
_AFTER = "AND (ts > ? OR (ts = ? AND (location > ? OR (location = ? AND id > ?))))"
_UPDATE = """
UPDATE feedback
SET topics = CAST(u.topics AS VARCHAR[]), sentiment = CAST(u.sentiment AS REAL),
    urgent = u.urgent
FROM retag_updates u
WHERE feedback.ts = u.ts AND feedback.location = u.location AND feedback.id = u.id
  AND (feedback.topics IS DISTINCT FROM CAST(u.topics AS VARCHAR[])
       OR feedback.sentiment IS DISTINCT FROM CAST(u.sentiment AS REAL)
       OR feedback.urgent IS DISTINCT FROM u.urgent)
"""


def page(con: duckdb.DuckDBPyConnection, since_ms: int, after: Cursor | None,
         limit: int) -> list[Row]:
    """Up to ``limit`` commented rows after ``after`` (and at most ``PAGE_BYTES`` of text)."""
    args: list[Any] = [since_ms]
    if after is not None:
        ts, loc, eid = after
        args += [ts, ts, loc, loc, eid]
    rows = con.execute(_PAGE_SQL.format(after=_AFTER if after is not None else ""),
                       [*args, max(1, limit)]).fetchall()
    out: list[Row] = []
    size = 0
    for r in rows:
        size += len(r[3].encode()) + 64
        if out and size > PAGE_BYTES:
            break
        out.append((r[0], r[1], int(r[2]), r[3], r[4], r[5], r[6]))
    return out


def count(con: duckdb.DuckDBPyConnection, since_ms: int) -> int:
    row = con.execute("SELECT count(*) FROM feedback WHERE comment IS NOT NULL AND ts >= ?",
                      [since_ms]).fetchone()
    return int(row[0]) if row else 0


def apply(con: duckdb.DuckDBPyConnection, updates: Sequence[Update]) -> int:
    """Write the tags that differ from the stored ones; returns the rows changed."""
    if not updates:
        return 0
    frame = pd.DataFrame.from_records(
        list(updates), columns=["location", "id", "ts", "topics", "sentiment", "urgent"])
    con.register("retag_updates", frame)
    try:
        row = con.execute(_UPDATE).fetchone()
    finally:
        con.unregister("retag_updates")
    return int(row[0]) if row else 0


def serve(store: Any, req: RetagRequest) -> RetagPage:
    """One request against an open ``ArchiveStore`` (its lock held while writing)."""
    with store.lock:
        changed = apply(store.con, req.updates)
    con = store.reader()
    return RetagPage(page(con, req.since_ms, req.after, req.limit), changed,
                     count(con, req.since_ms) if req.count else None)


def tags_for(rows: Sequence[Row], tag: TagFn) -> list[Update]:
    """Tags of ``rows`` by ``tag``, read exactly as the live writer reads the answer
    (``archive.rows.RowBuilder._feedback``): the value on its scale, a visit unrated."""
    out: list[Update] = []
    for loc, eid, ts, text, type_, value, scale in rows:
        kind = type_ if value is not None else "unit"
        tags = tag(text, None if value is None else float(value), kind,
                   scale if type_ in ("button", "csi") else None)
        if tags is None:
            continue
        out.append((loc, eid, ts, list(tags.topics), round(float(tags.sentiment), 3),
                    bool(tags.urgent)))
    return out


@dataclass
class RetagSummary:
    total: int = 0
    read: int = 0
    changed: int = 0


Call = Callable[[RetagRequest], Awaitable[RetagPage]]
Progress = Callable[[RetagSummary], None]


async def retag_all(call: Call, tag: TagFn, since_ms: int = 0, *,
                    progress: Progress | None = None, limit: int = PAGE_ROWS) -> RetagSummary:
    """Walk every comment since ``since_ms`` through ``call`` (a leader's ``serve``, local
    or forwarded), tagging each page with ``tag``."""
    summary = RetagSummary()
    got = await call(RetagRequest(since_ms, None, limit, [], count=True))
    summary.total = got.total or 0
    while got.rows:
        updates = tags_for(got.rows, tag)
        last = got.rows[-1]
        summary.read += len(got.rows)
        got = await call(RetagRequest(since_ms, (last[2], last[0], last[1]), limit, updates))
        summary.changed += got.changed
        summary.total = max(summary.total, summary.read)
        if progress is not None:
            progress(summary)
    return summary
