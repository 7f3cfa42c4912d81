"""The Poisson rule behind the problem flag (``stream.problems``), on its own numbers."""

from __future__ import annotations

import math

import pytest

from stream.problems import is_problem, poisson_tail, usual_count


def test_poisson_tail_matches_the_sum_of_the_mass_function() -> None:
    mu = 2.5
    exact = 1 - sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(4))
    assert poisson_tail(4, mu) == pytest.approx(exact)
    assert poisson_tail(0, mu) == 1.0 and poisson_tail(3, 0.0) == 0.0


def test_usual_count_leans_on_peers_until_history_builds_up() -> None:
    assert usual_count(0, 0.0, 1.0) == 1.0  # no history: the peers' rate
    assert usual_count(20, 4.0, 1.0) == pytest.approx(21 / 5)  # four weeks at five a week
    assert math.isinf(usual_count(0, 0.0, None))  # neither history nor peers


def test_threshold_and_significance_both_needed() -> None:
    assert not is_problem(2, 0.1, threshold=3, alpha=0.01)  # rare, but only two
    assert is_problem(5, 1.0, threshold=3, alpha=0.01)
    assert not is_problem(5, 4.0, threshold=3, alpha=0.01)  # five where four is usual
    assert not is_problem(9, math.inf, threshold=3, alpha=0.01)
