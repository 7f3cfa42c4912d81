"""Arousal and anger in [0, 1] from utterance prosody, calibrated per microphone.

Each microphone has its own ``Baseline``: a running location and scale of every prosodic
feature (level, pitch, tilt, rate, pitch range, harshness), starting from population
priors. The first ``warmup_utterances`` move it as a plain running mean (a mic's position,
room and noise differ a lot from the priors); afterwards updates are clipped, so one
outburst barely moves it, and aroused utterances update it at a quarter of the rate so
that a shouting desk does not teach itself that shouting is normal. An utterance's features become
z-scores against that baseline; arousal and anger are logistic combinations of them:

- arousal: louder, higher, flatter-spectrum, faster and more varied speech than usual;
- anger: mostly loudness, spectral flattening (vocal effort) and harshness, less pitch.

The weights are documented in docs/voice.md; the scores are relative to the mic's own
normal speech, so a loud mic position or a deep voice does not read as anger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from dsp.prosody import Prosody

# feature name -> (prior location, prior scale)
PRIORS: dict[str, tuple[float, float]] = {
    "level": (-26.0, 6.0),      # dBFS of the speech frames
    "pitch": (7.0, 4.0),        # semitones re 100 Hz (7 st ~ 150 Hz)
    "tilt": (-10.0, 2.5),       # dB, first difference over signal
    "rate": (6.0, 2.0),         # energy peaks per active second
    "range": (7.0, 3.0),        # semitones, p90 - p10 of the pitch track
    "harsh": (0.5, 0.15),       # share of loud frames without a clear pitch
}
AROUSAL_WEIGHTS = {"level": 1.0, "pitch": 0.8, "tilt": 0.6, "rate": 0.3, "range": 0.3, "harsh": 0.4}
ANGER_WEIGHTS = {"level": 1.2, "pitch": 0.4, "tilt": 0.8, "rate": 0.2, "range": 0.1, "harsh": 0.6}


@dataclass(frozen=True, slots=True)
class EmotionOptions:
    arousal_bias: float = -1.0
    anger_bias: float = -2.5
    prior_weight: float = 2.0       # the priors count as this many utterances
    warmup_utterances: int = 8      # plain running means until then (no clipping, no damping)
    min_rate: float = 0.05          # the baseline's slowest learning rate per utterance
    clip_sd: float = 2.0            # updates are clipped at this many scales
    aroused_weight: float = 0.25    # update weight of utterances with arousal > 0.8
    z_clip: float = 4.0


@dataclass(frozen=True, slots=True)
class Emotion:
    arousal: float
    anger: float
    z: dict[str, float]

    def as_dict(self) -> dict[str, float]:
        return {"arousal": round(self.arousal, 4), "anger": round(self.anger, 4)}


class BaselineState(TypedDict):
    """``Baseline.snapshot()``: plain, serialisable copies."""

    location: dict[str, float]
    scale: dict[str, float]
    utterances: int


@dataclass
class Baseline:
    """Running per-feature location and scale for one microphone."""

    location: dict[str, float] = field(default_factory=lambda: {k: v[0] for k, v in PRIORS.items()})
    scale: dict[str, float] = field(default_factory=lambda: {k: v[1] for k, v in PRIORS.items()})
    utterances: int = 0

    def snapshot(self) -> BaselineState:
        return {
            "location": dict(self.location),
            "scale": dict(self.scale),
            "utterances": self.utterances,
        }

    @classmethod
    def restore(cls, data: BaselineState) -> Baseline:
        return cls(dict(data["location"]), dict(data["scale"]), int(data["utterances"]))


def features(p: Prosody) -> dict[str, float]:
    """The scored features of an utterance (NaN when not measurable)."""
    pitch = 12.0 * math.log2(p.f0_median_hz / 100.0) if p.f0_median_hz > 0 else math.nan
    return {"level": p.speech_level_db, "pitch": pitch, "tilt": p.tilt_db, "rate": p.speech_rate_hz,
            "range": p.f0_range_st, "harsh": p.harshness}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class EmotionScorer:
    """Scores utterances of one microphone and keeps its adaptive baseline."""

    def __init__(
        self, options: EmotionOptions | None = None, baseline: Baseline | None = None
    ) -> None:
        self.options = options or EmotionOptions()
        self.baseline = baseline or Baseline()

    def zscores(self, feats: dict[str, float]) -> dict[str, float]:
        b, c = self.baseline, self.options.z_clip
        return {
            k: (0.0 if math.isnan(v) else float(np.clip((v - b.location[k]) / b.scale[k], -c, c)))
            for k, v in feats.items()
        }

    def score(self, prosody: Prosody, learn: bool = True) -> Emotion:
        """Arousal/anger of one utterance against the baseline; then adapt the baseline."""
        feats = features(prosody)
        z = self.zscores(feats)
        o = self.options
        arousal = _sigmoid(o.arousal_bias + sum(AROUSAL_WEIGHTS[k] * z[k] for k in z))
        anger = _sigmoid(o.anger_bias + sum(ANGER_WEIGHTS[k] * z[k] for k in z))
        if learn:
            warm = self.baseline.utterances >= o.warmup_utterances
            self._learn(feats, o.aroused_weight if warm and arousal > 0.8 else 1.0, warm)
        return Emotion(arousal, anger, z)

    def _learn(self, feats: dict[str, float], weight: float, clip: bool) -> None:
        o, b = self.options, self.baseline
        rate = weight * max(1.0 / (o.prior_weight + b.utterances + 1), o.min_rate)
        for k, v in feats.items():
            if math.isnan(v):
                continue
            s = b.scale[k]
            d = v - b.location[k]
            if clip:
                d = float(np.clip(d, -o.clip_sd * s, o.clip_sd * s))
            b.location[k] += rate * d
            prior = PRIORS[k][1]
            # scale: mean absolute deviation (x 1.25 ~ sd), kept within [prior/2, 2 prior]
            b.scale[k] = float(np.clip(s + rate * (1.25 * abs(d) - s), 0.5 * prior, 2.0 * prior))
        b.utterances += 1
