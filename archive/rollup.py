"""Daily rollups: the counters of ``archive.counters`` per (location, local day).

A rollup row is recomputed from the raw rows of its (location, day), never incremented,
so it always equals the same SQL run over the raw table. Writes list the pairs they touch
in ``dirty`` (inside their transaction); ``refresh`` recomputes those pairs and empties
``dirty`` in one transaction. Dirty days are handled in runs of nearby days, each with
constant bounds on ``day`` so DuckDB's min/max zone maps skip the rest of the table.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from archive.counters import CSI, FEEDBACK, FLOW, select_list

GAP_DAYS = 31  # dirty days further apart than this are refreshed in separate passes

_TARGETS = (
    ("feedback_daily", "feedback", "location, day", select_list(FEEDBACK), ""),
    ("csi_daily", "feedback", "location, day, factor, question", select_list(CSI),
     "AND f.type = 'csi'"),
    ("flow_daily", "flow", "location, day", select_list(FLOW), ""),
)


def runs(days: list[dt.date], gap_days: int = GAP_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Sorted days -> [(first, last)] runs whose neighbours are at most ``gap_days`` apart."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days <= gap_days:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute every dirty (location, day); returns the number of pairs."""
    row = con.execute("SELECT count(*) FROM dirty").fetchone()
    if not row or not row[0]:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE refresh_pairs AS "
                    "SELECT DISTINCT location, day FROM dirty")
        days = [d for (d,) in con.execute("SELECT DISTINCT day FROM refresh_pairs").fetchall()]
        for first, last in runs(days):
            _refresh_run(con, first, last)
        row = con.execute("SELECT count(*) FROM refresh_pairs").fetchone()
        con.execute("DELETE FROM dirty")
        con.execute("DROP TABLE refresh_pairs")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(row[0]) if row else 0


def compact(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the rollup tables sorted by (location, day), in one transaction: refreshes
    append, and a location's history then reads one row group instead of every one (the
    min/max zone maps on ``location`` skip the rest). Daily, with the pruning."""
    con.execute("SET preserve_insertion_order = true")
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("feedback_daily", "csi_daily", "flow_daily"):
            con.execute(f"CREATE OR REPLACE TEMP TABLE compact_rows AS SELECT * FROM {table}")
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM compact_rows ORDER BY location, day")
            con.execute("DROP TABLE compact_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("SET preserve_insertion_order = false")


def _refresh_run(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> None:
    for target, source, keys, counters, extra in _TARGETS:
        qualified = ", ".join(f"f.{k.strip()}" for k in keys.split(","))
        con.execute(
            f"DELETE FROM {target} USING refresh_pairs p WHERE {target}.day BETWEEN ? AND ? "
            f"AND {target}.location = p.location AND {target}.day = p.day", [first, last])
        con.execute(
            f"INSERT INTO {target} SELECT {qualified}, {counters} FROM {source} f "
            f"SEMI JOIN refresh_pairs p ON f.location = p.location AND f.day = p.day "
            f"WHERE f.day BETWEEN ? AND ? {extra} GROUP BY {qualified}", [first, last])
