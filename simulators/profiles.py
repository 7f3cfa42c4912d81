"""Shapes of simulated traffic: hour-of-day x weekday load, channel mix, score distributions.

Pure functions over an injected ``random.Random``; the numbers follow domain.md (channel
shares of the Svyaznoy contact centre, FCR about 90%, busy middays, quiet nights).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from functools import lru_cache
from zoneinfo import ZoneInfo

# Relative load per local hour (peak = 1.0): a working day and a weekend day.
WEEKDAY_HOURS: tuple[float, ...] = (
    0.04, 0.02, 0.02, 0.02, 0.03, 0.06, 0.12, 0.25, 0.50, 0.75, 0.90, 0.97,
    1.00, 0.98, 0.92, 0.88, 0.85, 0.82, 0.78, 0.65, 0.50, 0.35, 0.20, 0.09,
)
WEEKEND_HOURS: tuple[float, ...] = (
    0.05, 0.03, 0.02, 0.02, 0.02, 0.03, 0.05, 0.10, 0.20, 0.38, 0.55, 0.68,
    0.74, 0.75, 0.72, 0.68, 0.62, 0.55, 0.48, 0.40, 0.32, 0.24, 0.15, 0.08,
)
# Per weekday (Monday first): Monday is the busiest working day.
WEEKDAY_FACTOR: tuple[float, ...] = (1.06, 1.0, 1.0, 0.98, 1.02, 1.0, 0.9)

# Incoming-flow channel shares of domain.md (phone 45%, site 21%, marketplace 20%, ...).
CHANNEL_MIX: tuple[tuple[str, float], ...] = (
    ("phone", 0.45), ("site", 0.21), ("marketplace", 0.20),
    ("social", 0.10), ("email", 0.03), ("other", 0.01),
)


def hour_weight(weekday: int, hour: int) -> float:
    """Relative load at a local weekday (0 = Monday) and hour; the weekly peak is ~1.06."""
    shape = WEEKEND_HOURS if weekday >= 5 else WEEKDAY_HOURS
    return shape[hour] * WEEKDAY_FACTOR[weekday]


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(ts_ms: int, tz: str) -> dt.datetime:
    """Aware local datetime of an epoch-ms instant in an IANA zone."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, zone(tz))


def load_at(ts_ms: int, tz: str, night_floor: float = 0.0) -> float:
    """Relative load at an instant in a location's local time, never below ``night_floor``."""
    t = local_time(ts_ms, tz)
    return max(hour_weight(t.weekday(), t.hour), night_floor)


def poisson(rng: random.Random, mean: float) -> int:
    """Poisson sample (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    """One key of ``(key, weight)`` pairs, by weight."""
    x = rng.random() * sum(w for _, w in weighted)
    for key, w in weighted:
        x -= w
        if x < 0:
            return key
    return weighted[-1][0]


def lognormal_s(rng: random.Random, median_s: float, sigma: float, cap_s: float) -> float:
    """A duration with the given median and log-spread, capped; rounded to 0.1 s."""
    return round(min(rng.lognormvariate(math.log(median_s), sigma), cap_s), 1)


def satisfaction(rng: random.Random, quality: float, concentration: float = 5.0) -> float:
    """Latent satisfaction in [0, 1] of one customer (Beta with mean ``quality``)."""
    q = min(max(quality, 0.02), 0.98)
    return rng.betavariate(q * concentration, (1 - q) * concentration)


def on_scale(rng: random.Random, u: float, low: int, high: int, noise: float = 0.35) -> int:
    """Map latent satisfaction ``u`` onto an integer scale, with a little answer noise."""
    x = low + u * (high - low) + rng.gauss(0, noise)
    return int(min(max(round(x), low), high))
