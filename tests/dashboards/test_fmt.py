"""Formatting and the "too few answers" rule."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards import fmt


@pytest.mark.parametrize(("value", "text"), [(42.4, "+42"), (-7.2, "\u22127"), (0.3, "0"),
                                             (100.0, "+100"), (-100.0, "\u2212100")])
def test_signed(value: float, text: str) -> None:
    assert fmt.signed(value) == text


def test_percent_count_decimal_index() -> None:
    assert fmt.pct(0.834) == "83%" and fmt.pct(None) == fmt.DASH and fmt.pct(0.5, 1) == "50.0%"
    assert fmt.count(12345) == "12\u202f345"
    assert fmt.decimal(6.04) == "6.0" and fmt.decimal(None) == fmt.DASH
    assert fmt.index3(0.8339) == "0.834" and fmt.index3(None) == fmt.DASH


def test_score_states_never_show_a_number_below_min_sample() -> None:
    assert fmt.score(None, 0, 10, "x", "good").state == "none"
    few = fmt.score(80.0, 9, 10, "80%", "good")
    assert (few.state, few.text, few.tone, few.sample) == ("few", fmt.DASH, "neutral", 9)
    ok = fmt.score(80.0, 10, 10, "80%", "good")
    assert (ok.state, ok.text, ok.tone) == ("ok", "80%", "good")


def test_tones_against_targets() -> None:
    assert fmt.nps_score(55, 50, 10, 50).tone == "good"
    assert fmt.nps_score(35, 50, 10, 50).tone == "warn"
    assert fmt.nps_score(29, 50, 10, 50).tone == "bad"
    assert fmt.csat_score(80, 50, 10, 85).tone == "warn"
    assert fmt.csat_score(74, 50, 10, 85).tone == "bad"
    assert fmt.ces_score(5.6, 50, 10).tone == "good" and fmt.ces_score(4.4, 50, 10).tone == "bad"
    assert fmt.nps_score(-20, 50, 10, 50).text == "\u221220"


def test_duration_and_clock() -> None:
    assert fmt.duration(65_000) == "01:05"
    assert fmt.duration(3_723_000) == "1:02:03"
    assert fmt.duration(2 * 86_400_000 + 3_600_000) == "2d 01:00"
    assert fmt.duration(-5) == "00:00"
    tz = dt.timezone(dt.timedelta(hours=5))
    assert fmt.clock(0, tz) == "05:00" and fmt.clock(1_000, tz, seconds=True) == "05:00:01"
