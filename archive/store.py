"""The archive file: exactly-once writes, rollup refresh, pruning and erasure.

One ``ArchiveStore`` owns the DuckDB connection of a deployment's writer. ``write`` is the
consumer's step: new events (not seen before by (location, id)) become rows, inserted in
ONE transaction together with the stream sequences they bring the archive to and the
(location, day) pairs whose rollups they invalidate; only after the commit are the ids
remembered. So a crash at any point either stored the batch and its sequence, or neither,
and the consumer resumes from the stored sequence (``applied``).

Duplicates: the live path checks an in-memory ``IdIndex`` (the core's structure) of every
(location, id) whose event time lies within the live retention, rebuilt from the file at
start; events older than that can only come from ``import_events``, which anti-joins
against the archived rows within the live retention of their time (``dedup_window_ms``
either side). A re-sent event carries its original time, so it is always caught.

Reads open their own cursor (``reader()``): DuckDB serves them concurrently with the
writer (MVCC).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from archive import rollup
from archive.comments import TextHooks
from archive.db import connect
from archive.rows import (
    EVENT_TABLES,
    FEEDBACK_INSERT,
    FEEDBACK_STAGED,
    KEY_SQL,
    SESSION_KEY_SQL,
    SURVEY,
    TABLES,
    LocalDays,
    RowBuilder,
    Sessions,
)
from archive.schema import migrate
from stream.config import StreamSettings
from stream.dedup import IdIndex
from stream.events import InputEvent
from stream.geography import HOUR_MS, ScopeIndex
from stream.windows import DAY_MS

log = logging.getLogger("cxpulse.archive")


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    comments: list[tuple[Any, ...]] = field(default_factory=list)  # new commented feedback


def _frame(rows: Sequence[tuple[Any, ...]], cols: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(cols))


def _as_keys(hashes: Any) -> npt.NDArray[np.int64]:
    """DuckDB's unsigned 64-bit hashes as the id index's keys (0 marks an empty slot)."""
    keys = np.asarray(hashes, np.uint64).view(np.int64).copy()
    keys[keys == 0] = 1
    return keys


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows (tuples in ``TABLES[table]`` order; feedback: ``FEEDBACK_STAGED``)
    through one columnar scan."""
    if table == "feedback":
        con.register("staged", _frame(rows, FEEDBACK_STAGED))
        try:
            con.execute(FEEDBACK_INSERT)
        finally:
            con.unregister("staged")
        return
    cols = ", ".join(TABLES[table])
    con.register("batch_rows", _frame(rows, TABLES[table]))
    try:
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM batch_rows")
    finally:
        con.unregister("batch_rows")


class ArchiveStore:
    """The writer's connection and in-memory indexes."""

    def __init__(self, cfg: StreamSettings, path: str | Path, *, hooks: TextHooks | None = None,
                 memory_limit_mb: int = 1024, threads: int = 2) -> None:
        self.cfg = cfg
        self.path = path
        self.hooks = hooks or TextHooks.default()
        self.con = connect(path, memory_limit_mb=memory_limit_mb, threads=threads)
        self.lock = threading.RLock()
        self.geo = ScopeIndex(cfg)
        self.days = LocalDays(self.geo)
        self.ids = IdIndex()
        self.sessions = Sessions()
        self.applied: dict[str, int] = {}
        self.dedup_window_ms = cfg.core.retention_days * DAY_MS
        self.rows_written = 0

    # -- opening -----------------------------------------------------------------------------

    def open(self, now_ms: int) -> None:
        """Migrate, then load the applied sequences, the id index and session memory of the
        live retention window."""
        with self.lock:
            done = migrate(self.con, now_ms)
            if done:
                log.info("archive: schema migrations %s applied", done)
            self.applied = dict(self.con.execute("SELECT stream, seq FROM applied").fetchall())
            self._load_recent(now_ms - self.dedup_window_ms - DAY_MS)

    def _load_recent(self, horizon_ms: int) -> None:
        for table in EVENT_TABLES:
            cols = self.con.execute(f"SELECT {KEY_SQL} AS key, ts // {HOUR_MS} AS hour "
                                    f"FROM {table} WHERE ts >= ?", [horizon_ms]).fetchnumpy()
            if len(cols["key"]):
                self.ids.add(_as_keys(cols["key"]), np.asarray(cols["hour"], np.int32))
        self._reload_sessions(horizon_ms)
        for (loc,) in self.con.execute("SELECT DISTINCT location FROM feedback_daily UNION "
                                       "SELECT DISTINCT location FROM flow_daily").fetchall():
            self.geo.place(loc)

    def close(self) -> None:
        with self.lock:
            self.con.close()

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one read (its own connection to the same database)."""
        return self.con.cursor()

    # -- writing -----------------------------------------------------------------------------

    def write(self, items: Sequence[tuple[InputEvent, int]], seqs: dict[str, int] | None = None,
              *, alerts: Sequence[tuple[int, int, dict[str, Any], str]] = (),
              source: str = "live") -> WriteResult:
        """Store the new ones of ``items`` (and alert changes ``(seq, ts, view, json)``) with
        the stream sequences ``seqs`` in one transaction."""
        with self.lock:
            keys = self.keys(items)
            known = self.ids.contains(keys)
            fresh: list[int] = []
            seen: set[int] = set()
            for i, key in enumerate(keys.tolist()):
                if not known[i] and key not in seen:
                    seen.add(key)
                    fresh.append(i)
            new_items = [items[i] for i in fresh]
            result = self._commit(new_items, seqs or {}, alerts, source)
            self.ids.add(keys[fresh], np.fromiter((items[i][1] // HOUR_MS for i in fresh),
                                                   np.int32, len(fresh)))
            result.duplicates = len(items) - len(fresh)
            return result

    def import_events(self, items: Sequence[tuple[InputEvent, int]], now_ms: int,
                      source: str = "import") -> WriteResult:
        """Store past events (``cxpulse import``): duplicates by (location, id) against the
        file, within the live retention of each event's time, and within ``items``."""
        with self.lock:
            keys = self.keys(items)
            stored = self._stored_keys(items) | set(keys[self.ids.contains(keys)].tolist())
            fresh: list[int] = []
            for i, key in enumerate(keys.tolist()):
                if key not in stored:
                    stored.add(key)
                    fresh.append(i)
            result = self._commit([items[i] for i in fresh], {}, (), source)
            horizon = now_ms - self.dedup_window_ms - DAY_MS
            recent = [i for i in fresh if items[i][1] >= horizon]
            self.ids.add(keys[recent], np.fromiter((items[i][1] // HOUR_MS for i in recent),
                                                    np.int32, len(recent)))
            result.duplicates = len(items) - len(fresh)
            return result

    def keys(self, items: Sequence[tuple[InputEvent, int]]) -> npt.NDArray[np.int64]:
        """Dedup keys of events (DuckDB's hash of location and id, as in ``_load_recent``)."""
        if not items:
            return np.zeros(0, np.int64)
        cols = self.con.execute(
            f"SELECT {KEY_SQL} AS key FROM (SELECT unnest(?::VARCHAR[]) AS location, "
            "unnest(?::VARCHAR[]) AS id, unnest(range(?)) AS o) ORDER BY o",
            [[ev.location for ev, _ in items], [ev.id for ev, _ in items], len(items)],
        ).fetchnumpy()
        return _as_keys(cols["key"])

    def _session_keys(self, items: Sequence[tuple[InputEvent, int]]) -> dict[int, int]:
        """Index in ``items`` -> (location, session) key of each survey answer with a
        session (``SESSION_KEY_SQL``, one query for the batch)."""
        at = [i for i, (ev, _) in enumerate(items)
              if isinstance(ev, SURVEY) and getattr(ev, "session", None)]
        if not at:
            return {}
        cols = self.con.execute(
            f"SELECT {SESSION_KEY_SQL} AS key FROM (SELECT unnest(?::VARCHAR[]) AS location, "
            "unnest(?::VARCHAR[]) AS session, unnest(range(?)) AS o) ORDER BY o",
            [[items[i][0].location for i in at], [getattr(items[i][0], "session", "") for i in at],
             len(at)]).fetchnumpy()
        return dict(zip(at, _as_keys(cols["key"]).tolist(), strict=True))

    def _stored_keys(self, items: Sequence[tuple[InputEvent, int]]) -> set[int]:
        """Keys of ``items`` already in the file (within the dedup window of their times)."""
        if not items:
            return set()
        builder = RowBuilder(self.geo, self.hooks, Sessions())
        by_table: dict[str, list[tuple[str, str, int]]] = {}
        for ev, ts in items:
            table = builder.table_of(ev)
            by_table.setdefault(table, []).append((ev.location, ev.id, ts))
        out: set[int] = set()
        for table, cand in by_table.items():
            lo = min(c[2] for c in cand) - self.dedup_window_ms
            hi = max(c[2] for c in cand) + self.dedup_window_ms
            frame = _frame(cand, ("location", "id", "ts"))
            self.con.register("cand", frame)
            try:
                found = self.con.execute(
                    f"SELECT {KEY_SQL} FROM cand c SEMI JOIN "
                    f"(SELECT location, id FROM {table} WHERE ts BETWEEN ? AND ?) t "
                    f"ON c.location = t.location AND c.id = t.id", [lo, hi]).fetchall()
            finally:
                self.con.unregister("cand")
            out.update(_as_keys(np.array([k for (k,) in found], np.uint64)).tolist())
        return out

    def _commit(self, items: Sequence[tuple[InputEvent, int]], seqs: dict[str, int],
                alerts: Sequence[tuple[int, int, dict[str, Any], str]],
                source: str) -> WriteResult:
        builder = RowBuilder(self.geo, self.hooks, self.sessions, source, self.days)
        session_keys = self._session_keys(items)
        for i, (ev, ts) in enumerate(items):
            builder.add(ev, ts, session_keys.get(i))
        for seq, ts, view, payload in alerts:
            builder.add_alert(seq, ts, view, payload)
        result = WriteResult(stored=len(items))
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for table, rows in builder.rows.items():
                if rows:
                    _insert(con, table, rows)
                    result.by_table[table] = len(rows)
            for ts, loc, session in builder.unfirst:
                con.execute("UPDATE feedback SET sess_first = false WHERE ts = ? AND "
                            "location = ? AND session = ? AND sess_first", [ts, loc, session])
            if builder.touched:
                con.register("touched", _frame(sorted(builder.touched), ("location", "day")))
                con.execute("INSERT INTO dirty SELECT location, day FROM touched")
                con.unregister("touched")
            for stream, seq in seqs.items():
                con.execute("DELETE FROM applied WHERE stream = ?", [stream])
                con.execute("INSERT INTO applied VALUES (?, ?)", [stream, seq])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self._forget_sessions()
            raise
        self.applied.update(seqs)
        self.rows_written += builder.count()
        result.comments = [r for r in builder.rows["feedback"] if r[5] is not None]
        return result

    def _forget_sessions(self) -> None:
        """A failed write must not leave its sessions marked as seen: reload them."""
        self.sessions = Sessions()
        self._reload_sessions(self._horizon_ms())

    def _reload_sessions(self, horizon_ms: int) -> None:
        cols = self.con.execute(
            f"SELECT {SESSION_KEY_SQL} AS key, min(ts) AS ts FROM feedback WHERE ts >= ? AND "
            "session IS NOT NULL AND type IN ('nps', 'csat', 'ces', 'csi') GROUP BY 1",
            [horizon_ms]).fetchnumpy()
        self.sessions.first = dict(zip(_as_keys(cols["key"]).tolist(), cols["ts"].tolist(),
                                       strict=True))

    def _horizon_ms(self) -> int:
        row = self.con.execute("SELECT max(ts) FROM feedback").fetchone()
        latest = int(row[0]) if row and row[0] is not None else 0
        return latest - self.dedup_window_ms - DAY_MS

    # -- housekeeping ------------------------------------------------------------------------

    def refresh(self) -> int:
        """Recompute the rollups of every dirty (location, day); returns how many."""
        with self.lock:
            return rollup.refresh(self.con)

    def expire(self, now_ms: int) -> None:
        """Forget ids and sessions beyond the live retention (memory stays bounded)."""
        with self.lock:
            horizon = now_ms - self.dedup_window_ms - DAY_MS
            self.ids.expire(horizon // HOUR_MS)
            self.sessions.expire(horizon)

    def prune(self, now_ms: int, retention_days: int,
              today: dt.date | None = None) -> dict[str, int]:
        """Delete rows older than ``retention_days`` and re-sort the rollups (daily; the
        day is recorded as ``applied['pruned']``); returns rows deleted per table."""
        cutoff_ms = now_ms - retention_days * DAY_MS
        cutoff_day = (dt.datetime.fromtimestamp(cutoff_ms / 1000, dt.UTC).date()
                      - dt.timedelta(days=1))
        out: dict[str, int] = {}
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                for table in (*EVENT_TABLES, "alert_changes"):
                    row = self.con.execute(f"DELETE FROM {table} WHERE ts < ?",
                                           [cutoff_ms]).fetchone()
                    out[table] = int(row[0]) if row else 0
                for table in ("feedback_daily", "csi_daily", "flow_daily"):
                    self.con.execute(f"DELETE FROM {table} WHERE day < ?", [cutoff_day])
                if today is not None:
                    self.con.execute("DELETE FROM applied WHERE stream = 'pruned'")
                    self.con.execute("INSERT INTO applied VALUES ('pruned', ?)",
                                     [today.toordinal()])
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            rollup.refresh(self.con)
            rollup.compact(self.con)
            if today is not None:
                self.applied["pruned"] = today.toordinal()
        return out

    def erase(self, who: str, now_ms: int, *, location: str | None = None,
              session: str | None = None, event_id: str | None = None) -> int:
        """Remove the personal content (comment, its lemmas and tags, session and device
        ids) of one survey (``session``) or one answer (``event_id``), keeping the ratings
        that the metrics count; logged in ``erasures``. Returns rows changed."""
        if not (session or event_id):
            raise ValueError("session or id: give one")
        where, args = [], []
        for col, val in (("location", location), ("session", session), ("id", event_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                row = self.con.execute(
                    "UPDATE feedback SET comment = NULL, lemmas = NULL, topics = NULL, "
                    "sentiment = NULL, urgent = NULL, session = NULL, device = NULL "
                    f"WHERE {' AND '.join(where)}", args).fetchone()
                changed = int(row[0]) if row else 0
                self.con.execute("INSERT INTO erasures VALUES (?, ?, ?, ?, ?, ?)",
                                 [now_ms, who, location, session, event_id, changed])
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
        return changed

    def counts(self) -> dict[str, int]:
        """Rows per table (health, tests)."""
        out: dict[str, int] = {}
        for table in (*EVENT_TABLES, "alert_changes"):
            row = self.reader().execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
        return out
