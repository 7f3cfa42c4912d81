"""Generated data for bench/archive.py: a network config, live events and a large archive.

``generate`` writes N feedback rows straight into an archive file with one DuckDB
``INSERT ... SELECT`` over ``range(N)`` (rows in time order, as the writer appends them),
then builds the rollups with the archive's own SQL, so the queries run on what a real
archive of that size holds. The file is cached under bench/out/archive-cache/ and reused
while its row count and the schema version match.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import duckdb

from archive import rollup
from archive.comments import lemma_text
from archive.counters import CSI, FEEDBACK, select_list
from archive.db import connect
from archive.schema import LATEST, migrate

DAY_MS = 86_400_000
ZONES = (("Europe/Moscow", 3), ("Asia/Yekaterinburg", 5), ("Asia/Novosibirsk", 7),
         ("Europe/Samara", 4))  # fixed offsets: no DST in these zones since 2014
COMMENTS = (
    "Очень долго ждал в очереди, никто не подошёл", "Спасибо, всё отлично!",
    "Грязно в зале и душно", "Консультант был вежлив и быстро помог",
    "Цены выше, чем на сайте", "Не было нужного размера", "Долгое ожидание на кассе",
    "Приложение не показывает наличие", "Хороший магазин, рекомендую",
    "Очередь на возврат полчаса", "Грубый кассир", "Всё понравилось, молодцы",
)


def network_config(locations: int, data_dir: str, extra: str = "") -> str:
    lines = ["[core]", f'data_dir = "{data_dir}"', "max_locations = 5000",
             "snapshot_interval_s = 30", "[archive]", "batch_size = 20000", "[voice]",
             "enabled = false", "[dashboards]", "enabled = false", extra]
    for i in range(10):
        lines += ["[[regions]]", f'id = "reg-{i}"']
    for i in range(locations):
        lines += ["[[locations]]", f'id = "loc-{i:04d}"', f'region = "reg-{i % 10}"',
                  f'timezone = "{ZONES[i % len(ZONES)][0]}"']
    return "\n".join(lines)


def live_events(n: int, locations: int, now_ms: int, seed: int = 1,
                comment_share: float = 0.1) -> list[tuple[str, bytes, str]]:
    """Mixed contract events of the last 30 days (as bench/ingest.py sends), with a comment
    on ``comment_share`` of the NPS answers: (subject, payload, Nats-Msg-Id)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        loc = f"loc-{rng.randrange(locations):04d}"
        base = {"id": f"b{i}", "ts": now_ms - int(rng.random() ** 2 * 30 * DAY_MS), "location": loc}
        r = rng.random()
        kind = "feedback"
        if r < 0.25:
            body = {**base, "type": "nps", "value": rng.randint(0, 10), "session": f"s{i // 2}"}
            if rng.random() < comment_share:
                body["comment"] = rng.choice(COMMENTS)
        elif r < 0.50:
            body = {**base, "type": "button", "value": rng.randint(1, 4), "scale": 4}
        elif r < 0.60:
            body = {**base, "type": "visit"}
        elif r < 0.70:
            body = {**base, "type": "csat", "value": rng.randint(1, 5), "staff": f"st-{i % 8}"}
        elif r < 0.80:
            body = {**base, "type": "csi", "factor": "tangibles", "question": "clean",
                    "value": rng.randint(1, 5)}
        elif r < 0.98:
            kind = "flow"
            body = {**base, "channel": rng.choice(["phone", "site", "email"]),
                    "answered": rng.random() < 0.9, "wait_s": round(rng.uniform(0, 200), 1)}
        else:
            kind = "incident"
            body = {**base, "incident": f"inc-{i}", "action": "open", "category": "claim"}
        out.append((f"cx.{kind}.{loc}", json.dumps(body, ensure_ascii=False).encode(),
                    f"{loc}:b{i}"))
    return out


def _generate_sql(rows: int, locations: int, start_ms: int, span_ms: int) -> str:
    step = span_ms / rows
    comments = ", ".join("'" + c.replace("'", "''") + "'" for c in COMMENTS)
    lemmas = ", ".join("'" + lemma_text(c).replace("'", "''") + "'" for c in COMMENTS)
    offsets = ", ".join(str(h) for _, h in ZONES)
    return f"""
    INSERT INTO feedback
    SELECT location, id, ts, CAST(to_timestamp(ts / 1000 + 3600 * off) AS DATE) AS day,
           type, value, scale, units, factor, question, NULL, staff, NULL, session, channel,
           type IN ('nps', 'csat', 'ces', 'csi') AS sess_first,
           CASE WHEN c >= 0 THEN [{comments}][c + 1] END,
           CASE WHEN c >= 0 THEN [{lemmas}][c + 1] END, NULL, NULL, NULL, 'bench'
    FROM (
      SELECT *, CASE type WHEN 'nps' THEN CAST(v % 11 AS SMALLINT)
                          WHEN 'button' THEN CAST(1 + v % 4 AS SMALLINT)
                          WHEN 'csat' THEN CAST(1 + v % 5 AS SMALLINT)
                          WHEN 'ces' THEN CAST(1 + v % 7 AS SMALLINT)
                          WHEN 'csi' THEN CAST(1 + v % 5 AS SMALLINT) END AS value,
             CASE type WHEN 'button' THEN 4 WHEN 'csi' THEN 5 END AS scale,
             CASE type WHEN 'button' THEN CAST((v % 4) * 2520 // 3 AS SMALLINT)
                       WHEN 'csi' THEN CAST((v % 5) * 2520 // 4 AS SMALLINT) END AS units,
             CASE WHEN type = 'csi' THEN 'tangibles' END AS factor,
             CASE WHEN type = 'csi' THEN 'q' || (v % 4) END AS question,
             CASE WHEN type = 'csat' THEN 'st-' || (v % 8) END AS staff,
             CASE WHEN type IN ('nps', 'csat', 'ces', 'csi') THEN 's' || i END AS session,
             CASE WHEN type = 'button' THEN NULL ELSE 'terminal' END AS channel,
             CASE WHEN type = 'nps' AND v % 20 = 0 THEN CAST((v // 20) % {len(COMMENTS)} AS INT)
                  ELSE -1 END AS c
      FROM (
        SELECT i, 'loc-' || lpad(CAST(l AS VARCHAR), 4, '0') AS location, 'g' || i AS id,
               CAST({start_ms} + i * {step} AS BIGINT) AS ts, [{offsets}][l % 4 + 1] AS off,
               CAST(CASE WHEN t < 35 THEN 'nps' WHEN t < 60 THEN 'button'
                         WHEN t < 75 THEN 'visit' WHEN t < 85 THEN 'csat' WHEN t < 90 THEN 'ces'
                         ELSE 'csi' END AS feedback_type) AS type, v
        FROM (SELECT i, CAST(hash(i) % {locations} AS BIGINT) AS l,
                     CAST(hash(i + 1) % 100 AS BIGINT) AS t,
                     CAST(hash(i + 2) % 1000000 AS BIGINT) AS v FROM range({rows}) r(i))
      )
    )
    """


def generate(path: Path, rows: int, locations: int, end_ms: int, days: int,
             threads: int = 2) -> dict[str, float]:
    """Build (or reuse) the archive file; returns timings and sizes."""
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("rows") == rows and info.get("schema") == LATEST:
            return {**info, "reused": 1.0}
    path.unlink(missing_ok=True)
    path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path, memory_limit_mb=6000, threads=threads)
    migrate(con, end_ms)
    t0 = time.perf_counter()
    con.execute(_generate_sql(rows, locations, end_ms - days * DAY_MS, days * DAY_MS))
    t1 = time.perf_counter()
    con.execute(f"INSERT INTO feedback_daily SELECT location, day, {select_list(FEEDBACK)} "
                "FROM feedback GROUP BY ALL")
    con.execute(f"INSERT INTO csi_daily SELECT location, day, factor, question, "
                f"{select_list(CSI)} FROM feedback WHERE type = 'csi' GROUP BY ALL")
    rollup.compact(con)  # what the daily housekeeping does
    con.execute("CHECKPOINT")
    t2 = time.perf_counter()
    con.close()
    info = {"rows": rows, "schema": LATEST, "end_ms": end_ms, "generate_s": t1 - t0,
            "rollup_s": t2 - t1, "bytes": path.stat().st_size}
    meta.write_text(json.dumps(info))
    return info


def open_read(path: Path) -> duckdb.DuckDBPyConnection:
    return connect(path, read_only=True)
