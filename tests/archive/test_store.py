"""The archive file on its own: migrations, offline connection, pruning, erasure, rollups."""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

import pytest

from archive import rollup
from archive.comments import TextHooks, lemma_text, query_lemmas
from archive.db import connect
from archive.rows import LocalDays
from archive.schema import LATEST, Migration, SchemaTooNew, migrate
from archive.store import ArchiveStore
from cxpulse.config import Config, load_config_text
from stream.events import Limits
from stream.geography import ScopeIndex
from tests.archive.support import config, make_events, validated

DAY_MS = 86_400_000


def test_migrations_run_once_in_order_and_refuse_a_newer_file(tmp_path: Path) -> None:
    con = connect(tmp_path / "a.duckdb")
    assert migrate(con, 1) == list(range(1, LATEST + 1))
    assert migrate(con, 2) == []
    extra = (*__import__("archive.schema", fromlist=["MIGRATIONS"]).MIGRATIONS,
             Migration(LATEST + 1, "broken", "CREATE TABLE x (a INT); SELECT * FROM nowhere"))
    with pytest.raises(Exception):  # noqa: B017 - the failing statement's own error
        migrate(con, 3, extra)
    assert con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] == LATEST
    assert not con.execute("SELECT * FROM information_schema.tables WHERE table_name = 'x'"
                           ).fetchall()  # the failed migration left nothing behind
    con.execute("INSERT INTO schema_version VALUES (?, 'future', 0)", [LATEST + 5])
    with pytest.raises(SchemaTooNew):
        migrate(con, 4)


def test_a_version_1_file_gains_the_case_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    from archive.schema import MIGRATIONS

    path = tmp_path / "v1.duckdb"
    con = connect(path)
    assert migrate(con, 1, MIGRATIONS[:1]) == [1]
    con.execute("INSERT INTO incident_steps (location, id, ts, day, incident, action, category)"
                " VALUES ('a', 'x1', 0, DATE '2026-01-05', 'i1', 'open', 'claim')")
    assert migrate(con, 2) == list(range(2, LATEST + 1))
    assert con.execute("SELECT id, case_source, who, escalation FROM incident_steps"
                       ).fetchall() == [("x1", None, None, None)]  # a desk's step, as before


def test_the_connection_never_loads_extensions(tmp_path: Path) -> None:
    con = connect(tmp_path / "b.duckdb")
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    assert settings == {"autoinstall_known_extensions": "false",
                        "autoload_known_extensions": "false"}
    with pytest.raises(Exception, match=r"(?i)extension"):
        con.execute("SELECT stem('running', 'porter')")  # an fts function: not loaded


def _store(tmp_path: Path, now: int) -> tuple[Config, ArchiveStore]:
    cfg = config(data_dir=str(tmp_path))
    store = ArchiveStore(cfg, tmp_path / "s.duckdb", hooks=TextHooks(mask=lambda s: s.replace(
        "+7 916 123-45-67", "[телефон]")))
    store.open(now)
    return cfg, store


def test_prune_erase_and_rollups(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    _cfg, store = _store(tmp_path, now)
    events = make_events(800, now, random.Random(9), span_ms=200 * DAY_MS)
    items = validated(events, now, Limits(retention_ms=400 * DAY_MS))
    store.write(items, {"input": 1})
    store.refresh()
    raw = store.reader().execute("SELECT count(*) FROM feedback").fetchall()[0][0]
    rolled = store.reader().execute(
        "SELECT sum(nps_promoters + nps_passives + nps_detractors + visits + csat_n + ces_n + "
        "btn_n + csi_n) FROM feedback_daily").fetchall()[0][0]
    assert rolled == raw
    rollup.compact(store.con)
    assert (
        store.reader().execute("SELECT sum(visits) FROM feedback_daily").fetchall()[0][0]
        == store.reader()
        .execute("SELECT count(*) FROM feedback WHERE type = 'visit'")
        .fetchall()[0][0]
    )
    old = store.reader().execute("SELECT count(*) FROM feedback WHERE ts < ?",
                                 [now - 100 * DAY_MS]).fetchall()[0][0]
    deleted = store.prune(now, 100, dt.date.today())
    assert deleted["feedback"] == old > 0
    assert store.applied["pruned"] == dt.date.today().toordinal()
    assert store.reader().execute("SELECT count(*) FROM feedback_daily WHERE day < ?",
                                  [dt.date.today() - dt.timedelta(days=102)]).fetchall()[0][0] == 0
    row = store.reader().execute("SELECT location, session FROM feedback WHERE comment LIKE "
                                 "'%[телефон]%' AND session IS NOT NULL LIMIT 1").fetchone()
    assert row is not None
    before = store.reader().execute("SELECT sum(sessions) FROM feedback_daily").fetchall()[0][0]
    assert store.erase("admin", now, location=row[0], session=row[1]) >= 1
    left = store.reader().execute("SELECT count(*) FROM feedback WHERE session = ? AND "
                                  "location = ?", [row[1], row[0]]).fetchall()[0][0]
    assert left == 0
    store.refresh()
    assert (
        store.reader().execute("SELECT sum(sessions) FROM feedback_daily").fetchall()[0][0]
        == before
    )
    assert store.reader().execute("SELECT who, session FROM erasures").fetchall() == \
        [("admin", row[1])]
    store.close()


def test_search_lemmas_match_word_forms() -> None:
    assert "очередь" in lemma_text("Стояли в очереди полчаса")
    assert query_lemmas("ОЧЕРЕДЯМИ") == ["очередь"]
    assert "телефон" not in lemma_text("звоните [телефон]")


def test_local_days_equal_the_engines_day_in_every_kind_of_zone() -> None:
    """Memoised spans give each location's own calendar day: DST changes, half- and
    quarter-hour zones, the UTC day boundary, in random order."""
    zones = {"msk": "Europe/Moscow", "ber": "Europe/Berlin", "nyc": "America/New_York",
             "del": "Asia/Kolkata", "ktm": "Asia/Kathmandu", "chat": "Pacific/Chatham"}
    text = "".join(f'[[locations]]\nid = "{loc}"\nname = "{loc}"\ntimezone = "{tz}"\n'
                   for loc, tz in zones.items())
    cfg = load_config_text(text)
    days, engine = LocalDays(ScopeIndex(cfg)), ScopeIndex(cfg)
    rng = random.Random(5)
    start = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
    for _ in range(20_000):
        loc = rng.choice(list(zones))
        ts = start + rng.randrange(400 * 86_400_000)
        want = dt.date.fromordinal(engine.place(loc).day_of(ts))
        assert days(loc, ts) == want, (loc, ts)
