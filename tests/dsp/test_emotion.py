from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dsp.emotion import Baseline, EmotionScorer
from dsp.prosody import extract
from tests.support.audio import Manifest, load_clip


def _audio(name: str) -> npt.NDArray[np.float32]:
    return load_clip(name).astype(np.float32) / np.float32(32768)


def test_pitch_of_a_gliding_harmonic_tone() -> None:
    t = np.arange(32000) / 16000
    f0 = 150 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    x = np.asarray(0.1 * sum(np.sin(k * phase) / k for k in range(1, 8)))
    p = extract(x.astype(np.float32))
    assert p.f0_median_hz == pytest.approx(150, rel=0.02)
    assert p.f0_range_st == pytest.approx(12 * np.log2(1.1 / 0.9) * 0.95, abs=0.6)
    assert p.voiced_share > 0.9
    assert p.loudness_db == pytest.approx(10 * np.log10(np.mean(x**2)), abs=0.01)


def test_silence_has_no_pitch() -> None:
    p = extract(np.zeros(8000, np.float32))
    assert np.isnan(p.f0_median_hz) and p.voiced_share == 0.0


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_agitated_speech_scores_above_calm_speech(manifest: Manifest, lang: str) -> None:
    calm = [m["file"] for m in manifest if m["lang"] == lang and not m["agitated"]]
    agitated = [m["file"] for m in manifest if m["lang"] == lang and m["agitated"]]
    scorer = EmotionScorer()
    for name in calm:  # the mic's normal speech calibrates its baseline
        scorer.score(extract(_audio(name)))
    calm_scores = [scorer.score(extract(_audio(n)), learn=False) for n in calm]
    agit_scores = [scorer.score(extract(_audio(n)), learn=False) for n in agitated]
    assert min(e.arousal for e in agit_scores) > np.median([e.arousal for e in calm_scores])
    assert np.mean([e.anger for e in agit_scores]) > 0.6 > np.mean([e.anger for e in calm_scores])
    assert all(0.0 <= e.arousal <= 1.0 and 0.0 <= e.anger <= 1.0 for e in calm_scores + agit_scores)


def test_baseline_adapts_and_round_trips() -> None:
    scorer = EmotionScorer()
    quiet = extract(_audio("ru_neutral_1.wav") * np.float32(0.1))
    first = scorer.score(quiet)
    for _ in range(10):
        last = scorer.score(quiet)
    assert last.arousal > first.arousal  # a quiet mic's own level becomes its normal
    restored = EmotionScorer(baseline=Baseline.restore(scorer.baseline.snapshot()))
    assert restored.score(quiet, learn=False).arousal == pytest.approx(
        scorer.score(quiet, learn=False).arousal
    )
