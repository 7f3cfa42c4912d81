"""Problems: incidents of one category at one location repeated beyond what is usual there.

A count alone flags nearly every busy location (three claims a week is normal in a large
store), so the flag says "more than usual *here*", by a one-sided Poisson test:

- ``k`` = incidents of the category opened at the location in the last
  ``[core] problem_window_days`` (W);
- the *usual* count for one window, ``mu``, is the location's own rate over the
  ``problem_baseline_days`` (B) before that window, shrunk towards its peers' rate (the
  mean count of the category per other location in the same window) with the weight of
  ``PRIOR_WINDOWS`` windows: ``mu = (b + PRIOR_WINDOWS * peers) / (exposure + PRIOR_WINDOWS)``
  where ``b`` counts the baseline incidents and ``exposure`` is how many windows of
  baseline the core has seen (history before the first incident it holds counts as none);
- a problem when ``k >= problem_threshold`` and ``P(X >= k | mu) < problem_alpha``.

With years of quiet history a location's own rate dominates; a new deployment compares
a location with its peers. A location with neither history nor peers is never unusual.
Thanks are not incidents. Partitioned core workers each see their own locations' peers.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from stream.config import CoreConfig
from stream.incidents import THANKS, IncidentColumns
from stream.windows import DAY_MS

PRIOR_WINDOWS = 1.0
CATEGORY_SLOTS = 16  # key = place * 16 + category code


def poisson_tail(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu) (1.0 for k <= 0)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    term = math.exp(-mu)  # P(X = 0)
    below = term
    for i in range(1, k):
        term *= mu / i
        below += term
    return max(0.0, 1.0 - below)


def usual_count(own_baseline: int, exposure_windows: float, peer_mean: float | None) -> float:
    """The expected count of one window (``mu`` of the module docstring); ``peer_mean``
    None: no peers to lean on."""
    if peer_mean is None:
        return own_baseline / exposure_windows if exposure_windows > 0 else math.inf
    return (own_baseline + PRIOR_WINDOWS * peer_mean) / (exposure_windows + PRIOR_WINDOWS)


def is_problem(k: int, mu: float, threshold: int, alpha: float) -> bool:
    return k >= threshold and math.isfinite(mu) and poisson_tail(k, mu) < alpha


def _counts(keys: npt.NDArray[np.int64], rows: npt.NDArray[np.bool_]) -> dict[int, int]:
    uniq, n = np.unique(keys[rows], return_counts=True)
    return dict(zip(uniq.tolist(), n.tolist(), strict=True))


def problem_keys(cols: IncidentColumns, places: int, core: CoreConfig,
                 now_ms: int) -> set[int]:
    """The ``place * 16 + category`` keys that are problems at ``now_ms``."""
    if cols.size == 0:
        return set()
    window_ms = core.problem_window_days * DAY_MS
    start = now_ms - window_ms
    base_start = start - core.problem_baseline_days * DAY_MS
    real = cols.view("valid") & (cols.view("category") != THANKS)
    opened = cols.view("opened")
    keys = cols.view("place").astype(np.int64) * CATEGORY_SLOTS + cols.view("category")
    recent = _counts(keys, real & (opened >= start) & (opened <= now_ms))
    if not recent:
        return set()
    baseline = _counts(keys, real & (opened >= base_start) & (opened < start))
    first_seen = int(opened[real].min()) if real.any() else now_ms
    exposure = max(0, start - max(first_seen, base_start)) / window_ms
    per_category: dict[int, int] = {}
    for key, n in recent.items():
        per_category[key % CATEGORY_SLOTS] = per_category.get(key % CATEGORY_SLOTS, 0) + n
    out = set()
    for key, k in recent.items():
        others = places - 1
        peers = (per_category[key % CATEGORY_SLOTS] - k) / others if others > 0 else None
        mu = usual_count(baseline.get(key, 0), exposure, peers)
        if is_problem(k, mu, core.problem_threshold, core.problem_alpha):
            out.add(key)
    return out
