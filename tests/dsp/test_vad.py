from __future__ import annotations

import numpy as np
import pytest

from dsp.vad import Vad, VadOptions
from simulators import speech
from tests.support.audio import Track, noisy


def _run(x: np.ndarray, chunk: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    v = Vad()
    parts = [v.process(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    parts.append(v.process(np.zeros(16000, np.float32)))  # flush the lookahead
    n = len(x) // 160
    return (
        np.concatenate([p.score for p in parts])[:n],
        np.concatenate([p.speech for p in parts])[:n],
    )


def _f1(pred: np.ndarray, lab: np.ndarray) -> float:
    tp = (pred & lab).sum()
    return float(2 * tp / (pred.sum() + lab.sum()))


def test_results_do_not_depend_on_chunking(mixed_track: Track) -> None:
    track, labels, _ = mixed_track
    x = noisy(track, labels, "white", 10)[: 16000 * 8]
    whole = Vad().process(x)
    v, rng, i, scores = Vad(), np.random.default_rng(3), 0, []
    while i < len(x):
        n = int(rng.integers(1, 5000))
        scores.append(v.process(x[i : i + n]).score)
        i += n
    got = np.concatenate(scores)
    assert np.array_equal(got, whole.score[: len(got)]) and len(got) >= len(whole.score) - 1


@pytest.mark.parametrize(
    ("kind", "snr_db", "min_f1"), [("white", 10, 0.85), ("hum", 5, 0.85), ("music", 10, 0.75)]
)
def test_speech_detected_in_noise(
    mixed_track: Track, kind: str, snr_db: float, min_f1: float
) -> None:
    track, labels, _ = mixed_track
    _, speech_frames = _run(noisy(track, labels, kind, snr_db))
    assert _f1(speech_frames, labels[: len(speech_frames)]) >= min_f1


@pytest.mark.parametrize("kind", ["white", "hum"])
def test_stationary_noise_alone_is_not_speech(kind: str) -> None:
    rng = np.random.default_rng(7)
    make = speech.white_noise if kind == "white" else speech.hum_noise
    x = (0.05 * make(16000 * 20, rng)).astype(np.float32)
    _, speech_frames = _run(x)
    assert speech_frames.mean() < 0.03


def test_silence_is_not_speech() -> None:
    _, speech_frames = _run(np.zeros(16000 * 5, np.float32))
    assert not speech_frames.any()


def test_scores_rank_speech_above_noise(mixed_track: Track) -> None:
    track, labels, _ = mixed_track
    score, _ = _run(noisy(track, labels, "white", 5))
    lab = labels[: len(score)]
    ranks = np.argsort(np.argsort(score, kind="stable")) + 1
    n_pos, n_neg = lab.sum(), (~lab).sum()
    auc = (ranks[lab].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert auc > 0.85


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        Vad(VadOptions(smooth_spectra=4))
    with pytest.raises(ValueError):
        Vad(VadOptions(spectrum_hop_frames=7))
