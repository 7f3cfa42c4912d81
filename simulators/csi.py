"""CSI (factor) answers with a level of their own per factor, question and location.

Real factor reports differ by factor: the clinic of domain.md (seed 001) has tangibles
0.834, assurance 0.670, empathy 0.646, reliability 0.603. Each question here answers
around a level made of

- the factor's network level (``FACTOR_LEVELS``; a factor not listed gets one from its name),
- the question's own offset within its factor (from its id: the same in every location),
- the location's offset per factor (from the location id: its strong and weak sides),
- a slow drift per location and factor (a few sine waves of 4-30 days, phase from the run
  seed), so the report moves from week to week but not from minute to minute.

An answer is a Beta draw around that level shifted by the customer's satisfaction
relative to the location's usual, so a happy customer rates every factor higher (the
indices stay correlated with NPS) while the mean of many answers sits on the level.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from functools import lru_cache

# Network levels per SERVQUAL factor (normalised index, 0..1), after the seed's clinic.
FACTOR_LEVELS: dict[str, float] = {
    "tangibles": 0.83,
    "reliability": 0.61,
    "responsiveness": 0.64,
    "assurance": 0.67,
    "empathy": 0.65,
}
DAY_MS = 86_400_000
SATISFACTION_WEIGHT = 0.5  # how far a customer's mood moves every answer
ANSWER_CONCENTRATION = 7.0  # Beta concentration of one answer around its mean


@lru_cache(maxsize=4096)
def unit(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (no dependence on PYTHONHASHSEED)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def factor_level(factor: str) -> float:
    """The network level of a factor (SERVQUAL ones as the seed; others 0.6-0.8 by name)."""
    return FACTOR_LEVELS.get(factor, 0.6 + 0.2 * unit("factor", factor))


def question_offset(question: str) -> float:
    """How much easier or harder a question is than its factor (-0.05 .. +0.05)."""
    return 0.1 * unit("question", question) - 0.05


@dataclass(frozen=True)
class CsiProfile:
    """The factor and question levels of one location in one run."""

    location: str
    seed: int

    def offset(self, factor: str) -> float:
        """The location's strength or weakness on a factor (-0.07 .. +0.07), from its id."""
        return 0.14 * unit("csi-location", self.location, factor) - 0.07

    def drift(self, factor: str, ts_ms: int) -> float:
        """Slow movement of a factor at this location (at most about +-0.04)."""
        total = 0.0
        for k, (period_days, amplitude) in enumerate(((29.0, 0.02), (11.0, 0.012), (4.3, 0.008))):
            phase = 2 * math.pi * unit("csi-drift", self.seed, self.location, factor, k)
            total += amplitude * math.sin(2 * math.pi * ts_ms / (period_days * DAY_MS) + phase)
        return total

    def level(self, factor: str, question: str, ts_ms: int) -> float:
        """The mean normalised answer to ``question`` here at ``ts_ms``, in [0.05, 0.97]."""
        x = (factor_level(factor) + question_offset(question) + self.offset(factor)
             + self.drift(factor, ts_ms))
        return min(max(x, 0.05), 0.97)


def answer(rng: random.Random, level: float, mood: float, scale: int) -> int:
    """One Likert answer (1..scale) around ``level``; ``mood`` is the customer's
    satisfaction minus the location's usual (positive: happier than usual)."""
    mean = min(max(level + SATISFACTION_WEIGHT * mood, 0.03), 0.97)
    p = rng.betavariate(mean * ANSWER_CONCENTRATION, (1 - mean) * ANSWER_CONCENTRATION)
    return 1 + round(p * (scale - 1))
