"""bench/run_all.py's pure part: reading the scripts' tables and writing RESULTS.md."""

from __future__ import annotations

import datetime as dt

from bench.run_all import Row, Section, number_and_unit, parse_tables, render, rows_from_table

PRINTED = """
published 1,000 events
## Voice (2 cores)

| figure | value | target |
|---|---|---|
| webrtcvad frames | 90,000 frames/s | peer |
| cxpulse VAD frames | 45,000 frames/s | >= 20,000 frames/s |
| VAD agreement | 97% | >= 95% |

| not | a result |
|---|---|
"""


def test_number_and_unit() -> None:
    assert number_and_unit("12,345 ev/s") == (12345.0, "ev/s")
    assert number_and_unit("0.75 s") == (0.75, "s")
    assert number_and_unit("n/a") is None


def test_peer_rows_fill_the_peer_column_of_same_unit_rows() -> None:
    [(title, rows)] = parse_tables(PRINTED)
    assert title == "Voice (2 cores)"
    out = rows_from_table(rows)
    assert [r.figure for r in out] == ["cxpulse VAD frames", "VAD agreement"]
    assert out[0].peer == "90,000 frames/s (webrtcvad frames)" and out[0].ratio == "0.50"
    assert out[1].peer == "" and out[1].ratio == ""


def test_render_has_cores_date_and_notes() -> None:
    sections = [Section("ingest", "Ingest", [Row("core", "30,000 ev/s", ">= 30,000 ev/s",
                                                 "40,000 ev/s (bare)", "0.75")], seconds=12),
                Section("wall", "wall", note="skipped: bench/wall.py does not exist yet")]
    text = render(sections, 2, dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), "")
    assert "2 CPU cores" in text and "2026-01-02 03:04" in text
    assert "| Ingest | core | 30,000 ev/s | >= 30,000 ev/s | 40,000 ev/s (bare) | 0.75 |" in text
    assert "**wall** (0 s): skipped" in text
