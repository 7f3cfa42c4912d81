"""The archive's tables, created and changed by numbered migrations run at start-up.

``schema_version`` holds one row per applied migration. ``migrate`` runs the missing ones
in order, each in its own transaction together with its ``schema_version`` row, so a
crash leaves the file at a whole version. A file written by a newer cxpulse (a version
above the last one known here) is refused rather than guessed at.

Tables (times are epoch ms; ``day`` is the location's local calendar day of ``ts``):

- ``feedback``, ``flow``, ``incident_steps``, ``voice_utterances``, ``encounters``: one
  row per accepted event, ``(location, id)`` once. Free text (``comment``, ``text``,
  ``transcript``) is stored masked; ``lemmas`` is the masked comment's lemmas for search.
- ``alert_changes``: every alert state change from the alerts stream.
- ``applied``: the last stream sequence applied per consumed stream, written in the same
  transaction as the rows it brought (exact resume after a crash).
- ``feedback_daily``, ``csi_daily``, ``flow_daily``: the counters of ``archive.counters``
  per (location, day); ``dirty`` lists the (location, day) pairs written since the last
  refresh (kept in the write transaction, so a crash cannot leave a stale rollup).
- ``erasures``: the audit log of personal-data erasures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from archive.counters import CSI, FEEDBACK, FLOW, rollup_columns

_EVENT = "location VARCHAR NOT NULL, id VARCHAR NOT NULL, ts BIGINT NOT NULL, day DATE NOT NULL"

V1 = f"""
CREATE TYPE feedback_type AS ENUM ('button', 'nps', 'csat', 'ces', 'csi', 'visit');
CREATE TABLE applied (stream VARCHAR NOT NULL, seq BIGINT NOT NULL);
CREATE TABLE feedback (
    {_EVENT}, type feedback_type NOT NULL, value SMALLINT, scale SMALLINT, units SMALLINT,
    factor VARCHAR, question VARCHAR, device VARCHAR, staff VARCHAR, touchpoint VARCHAR,
    session VARCHAR, channel VARCHAR, sess_first BOOLEAN NOT NULL, comment VARCHAR,
    lemmas VARCHAR, topics VARCHAR[], sentiment REAL, urgent BOOLEAN, source VARCHAR
);
CREATE TABLE flow (
    {_EVENT}, channel VARCHAR NOT NULL, answered BOOLEAN, wait_s DOUBLE, handle_s DOUBLE,
    hold_s DOUBLE, wait_ds INTEGER, handle_ds INTEGER, hold_ds INTEGER,
    first_contact_resolved BOOLEAN, queue VARCHAR, source VARCHAR
);
CREATE TABLE incident_steps (
    {_EVENT}, incident VARCHAR NOT NULL, action VARCHAR NOT NULL, category VARCHAR,
    channel VARCHAR, department VARCHAR, severity VARCHAR, text VARCHAR, assignee VARCHAR,
    source VARCHAR
);
CREATE TABLE voice_utterances (
    {_EVENT}, mic VARCHAR NOT NULL, start_ms BIGINT, end_ms BIGINT, arousal REAL, anger REAL,
    loudness_db REAL, keywords VARCHAR, transcript VARCHAR, language VARCHAR, asr VARCHAR
);
CREATE TABLE encounters (
    {_EVENT}, mic VARCHAR NOT NULL, start_ms BIGINT, end_ms BIGINT, utterances INTEGER,
    greeting BOOLEAN, thanks BOOLEAN, farewell BOOLEAN, anger_max REAL, closed_by VARCHAR,
    rating REAL
);
CREATE TABLE alert_changes (
    seq BIGINT NOT NULL, ts BIGINT NOT NULL, alert_id VARCHAR, rule VARCHAR, severity VARCHAR,
    status VARCHAR, scope VARCHAR, location VARCHAR, value DOUBLE, payload VARCHAR
);
CREATE TABLE feedback_daily (location VARCHAR NOT NULL, day DATE NOT NULL,
                             {rollup_columns(FEEDBACK)});
CREATE TABLE csi_daily (location VARCHAR NOT NULL, day DATE NOT NULL, factor VARCHAR NOT NULL,
                        question VARCHAR NOT NULL, {rollup_columns(CSI)});
CREATE TABLE flow_daily (location VARCHAR NOT NULL, day DATE NOT NULL, {rollup_columns(FLOW)});
CREATE TABLE dirty (location VARCHAR NOT NULL, day DATE NOT NULL);
CREATE TABLE erasures (
    at_ms BIGINT NOT NULL, who VARCHAR NOT NULL, location VARCHAR, session VARCHAR,
    id VARCHAR, rows INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: str | Callable[[duckdb.DuckDBPyConnection], None]


# the case fields of contract v2 on incident steps: who acted (``desk``/``api``/``auto`` and
# the name) and the escalation level, so history has the per-source incident metrics
V2 = """
ALTER TABLE incident_steps ADD COLUMN case_source VARCHAR;
ALTER TABLE incident_steps ADD COLUMN who VARCHAR;
ALTER TABLE incident_steps ADD COLUMN escalation INTEGER;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "tables of records, rollups, applied sequences and the erasure audit", V1),
    Migration(2, "incident steps keep their case source, who and escalation", V2),
)
LATEST = MIGRATIONS[-1].version


class SchemaTooNew(RuntimeError):
    """The file was written by a newer cxpulse."""


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER NOT NULL, name VARCHAR, applied_ms BIGINT)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, now_ms: int,
            migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the missing migrations in order, each in one transaction; returns the
    versions applied now."""
    have = current_version(con)
    known = migrations[-1].version if migrations else 0
    if have > known:
        raise SchemaTooNew(f"archive schema version {have} is newer than this cxpulse "
                           f"knows ({known}); upgrade cxpulse or use another file")
    done: list[int] = []
    for m in migrations:
        if m.version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            if isinstance(m.apply, str):
                con.execute(m.apply)
            else:
                m.apply(con)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [m.version, m.name, now_ms])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        done.append(m.version)
    return done
