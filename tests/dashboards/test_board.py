"""Leaderboard ordering: worst first, never ranking a score with too few answers."""

from __future__ import annotations

from collections.abc import Mapping

from dashboards.board import leaderboard
from stream.readmodel import ButtonsResult, IncidentsResult, Metrics


def m(nps: float | None, n: int, *, index: float | None = None, presses: int = 0,
      breached: int = 0, passives: float = 0.2) -> Metrics:
    """``n`` answers with NPS ``nps``, a share ``passives`` of them passives."""
    pa = round(n * passives) if nps is not None else 0
    pro = round((n - pa + (nps or 0) * n / 100) / 2) if nps is not None else 0
    return Metrics(scope="x", window="today", start_ms=0, end_ms=0, nps=nps, responses=n,
                   promoters=pro, passives=pa, detractors=n - pa - pro if nps is not None else 0,
                   buttons=ButtonsResult(index=index, presses=presses),
                   incidents=IncidentsResult(open=breached, open_breached=breached))


def order(today: Mapping[str, Metrics | None], alerts: dict[str, int] | None = None) -> list[str]:
    rows = leaderboard(today, {"a": "Alpha", "b": "Beta", "c": "Gamma", "d": "Delta", "e": "Eps"},
                       alerts or {}, min_sample=10, nps_target=50, csat_target=85)
    return [r.location for r in rows]


def test_worst_nps_first_then_too_few_then_no_data() -> None:
    today = {"a": m(40, 50), "b": m(-80, 3), "c": m(10, 20), "d": None, "e": m(60, 11)}
    assert order(today) == ["c", "a", "e", "b", "d"]


def test_ties_break_on_breached_incidents_then_button_index() -> None:
    today = {"a": m(20, 30, index=70, presses=20), "b": m(20, 30, index=40, presses=20),
             "c": m(20, 30, index=90, presses=20, breached=2)}
    assert order(today) == ["c", "b", "a"]


def test_rows_carry_scores_and_alert_counts() -> None:
    rows = leaderboard({"a": m(12.6, 30, index=55.5, presses=9)}, {"a": "Alpha"}, {"a": 2},
                       10, 50, 85)
    assert rows[0].nps.text == "+13" and rows[0].alerts == 2 and rows[0].name == "Alpha"
    assert rows[0].button_index is None  # 9 presses: too few to show an index


def test_a_few_answers_do_not_top_the_list_by_chance() -> None:
    """12 answers at -20 may well be +20 tomorrow; 400 answers at 0 are surely about 0."""
    today: dict[str, Metrics | None] = {"a": m(-20, 12), "b": m(0, 400), "c": m(-25, 300)}
    assert order(today) == ["c", "b", "a"]
    raw = {k: v.nps for k, v in today.items() if v is not None and v.nps is not None}
    assert sorted(raw, key=lambda k: raw[k]) == ["c", "a", "b"]  # what raw NPS would say
    rows = leaderboard(today, {}, {}, 10, 50, 85)
    small = next(r for r in rows if r.location == "a")
    assert small.nps_interval is not None and small.nps_interval[1] > 0 > small.nps_interval[0]
