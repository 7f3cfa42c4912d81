"""Confidence intervals of the wall's flags and ranking, against known values."""

from __future__ import annotations

import random

import pytest

from stream.confidence import clearly_below, nps_interval, wilson


def test_wilson_matches_the_textbook_values() -> None:
    lo, hi = wilson(0.5, 12)  # 6 of 12
    assert lo == pytest.approx(0.2538, abs=1e-4) and hi == pytest.approx(0.7462, abs=1e-4)
    lo, hi = wilson(0.0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson(0.7, 0) == (0.0, 1.0)
    assert wilson(1.3, 5)[1] == 1.0  # clamped into [0, 1]


def test_wilson_narrows_with_more_answers() -> None:
    widths = [hi - lo for lo, hi in (wilson(0.8, n) for n in (10, 100, 1000))]
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.05


def test_noise_is_not_a_flag_but_a_real_gap_is() -> None:
    assert not clearly_below(0.832, 60, 0.837)  # the 0.832 against 0.837
    assert not clearly_below(0.832, 5000, 0.837)
    assert not clearly_below(0.5, 12, 0.7)  # 12 answers cannot tell 0.5 from 0.7
    assert clearly_below(0.5, 200, 0.7)
    assert clearly_below(0.60, 400, 0.66)
    assert not clearly_below(0.1, 0, 0.9)


def test_wilson_covers_likert_means_at_least_as_often_as_promised() -> None:
    """Conservative for [0, 1] answers: a seeded simulation of 1..5 answers, n = 20."""
    rng = random.Random(5)
    weights = [0.05, 0.1, 0.2, 0.35, 0.3]
    true = sum(w * (v / 4) for v, w in enumerate(weights))
    hits = 0
    for _ in range(2000):
        answers = rng.choices(range(5), weights, k=20)
        lo, hi = wilson(sum(answers) / 4 / 20, 20)
        hits += lo <= true <= hi
    assert hits / 2000 >= 0.95


def test_nps_interval() -> None:
    assert nps_interval(0, 0, 0) is None
    forty = nps_interval(60, 20, 20)  # NPS +40 over 100: about 23..54 (Rocks 2016)
    assert forty is not None and 23 < forty[0] < 24 and 54 < forty[1] < 55
    all_promoters = nps_interval(10, 0, 0)
    assert all_promoters is not None and all_promoters[1] == 100.0 and 45 < all_promoters[0] < 50
    small, large = nps_interval(3, 4, 5), nps_interval(120, 160, 120)
    assert small is not None and large is not None
    assert small[1] - small[0] > 3 * (large[1] - large[0])
