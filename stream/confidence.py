"""Confidence intervals for the wall's comparisons (pure): is a CSI question really below
its factor, and how bad is a location's NPS at least.

- ``wilson``: Wilson's score interval for a mean of answers normalised to [0, 1] (a CSI
  index). It is the interval of a proportion; a variable in [0, 1] with mean p has a
  variance of at most p(1 - p), the proportion's, so for Likert answers the interval is
  conservative (never narrower than the truth). The engine keeps only the count and the
  sum of answers per question, which is exactly what it needs.
- ``nps_interval``: Rocks' adjusted-Wald interval for the net promoter score (The
  American Statistician 70(3), 2016): add 3/4 promoter, 3/2 passive and 3/4 detractor,
  then a normal interval on the mean of the scores +1/0/-1. It stays inside [-100, 100]
  and behaves at 10 answers, where the plain Wald interval is too narrow.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 %


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's 95 % interval of a proportion (or a [0, 1] mean) ``p`` over ``n`` answers;
    (0, 1) without answers."""
    if n <= 0:
        return 0.0, 1.0
    p = min(max(p, 0.0), 1.0)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def clearly_below(index: float, n: int, reference: float, z: float = Z95) -> bool:
    """Whether a mean ``index`` of ``n`` answers in [0, 1] lies below ``reference`` with
    its whole 95 % interval: a flag that is not noise."""
    return n > 0 and wilson(index, n, z)[1] < reference


def nps_interval(promoters: int, passives: int, detractors: int,
                 z: float = Z95) -> tuple[float, float] | None:
    """The 95 % interval of NPS (in points, -100..100); None without answers."""
    n = promoters + passives + detractors
    if n <= 0:
        return None
    m = n + 3.0
    p, d = (promoters + 0.75) / m, (detractors + 0.75) / m
    centre = p - d
    half = z * math.sqrt(max(p + d - centre * centre, 0.0) / m)
    return 100 * max(-1.0, centre - half), 100 * min(1.0, centre + half)
