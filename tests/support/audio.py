"""Audio for tests: the committed clips, tracks built from them with frame labels, noises."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from simulators import speech

CLIPS = Path(__file__).resolve().parents[2] / "simulators" / "clips"
FRAME = 160


def load_clip(name: str) -> npt.NDArray[np.int16]:
    pcm, rate = speech.read_wav(CLIPS / name)
    assert rate == 16000
    return pcm


def energy_labels(pcm: npt.NDArray[np.int16], floor_db: float = -40.0) -> npt.NDArray[np.bool_]:
    """Speech frames of a clean signal: within ``floor_db`` of its loudest 10 ms frame."""
    n = len(pcm) // FRAME
    rms = np.sqrt(np.mean(pcm[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2, axis=1))
    lab: npt.NDArray[np.bool_] = rms >= max(rms.max() * 10 ** (floor_db / 20), 30.0)
    idx = np.flatnonzero(lab)
    for a, b in itertools.pairwise(idx):
        if 1 < b - a <= 8:
            lab[a:b] = True
    return lab


Manifest = list[dict[str, Any]]  # tests/data/clips/manifest.json: one entry per clip
Track = tuple[npt.NDArray[np.int16], npt.NDArray[np.bool_], list[tuple[int, int]]]


def build_track(names: list[str], gap_s: float = 1.5, lead_s: float = 2.0) -> Track:
    """Clips laid out with silences: (pcm, frame labels, utterance sample spans)."""
    parts = [np.zeros(int(lead_s * 16000), np.int16)]
    spans, pos = [], len(parts[0])
    for name in names:
        pcm = load_clip(name)
        pcm = pcm[: len(pcm) // FRAME * FRAME]
        spans.append((pos, pos + len(pcm)))
        parts += [pcm, np.zeros(int(gap_s * 16000) // FRAME * FRAME, np.int16)]
        pos += len(pcm) + len(parts[-1])
    track = np.concatenate(parts)
    labels = np.zeros(len(track) // FRAME, bool)
    for a, b in spans:
        labels[a // FRAME : b // FRAME] = energy_labels(track[a:b])
    return track, labels, spans


def noisy(track: npt.NDArray[np.int16], labels: npt.NDArray[np.bool_], kind: str, snr_db: float,
          seed: int = 1) -> npt.NDArray[np.float32]:
    """``track`` mixed with white/hum/music noise at ``snr_db``, as float32 in [-1, 1)."""
    rng = np.random.default_rng(seed)
    make = {"white": speech.white_noise, "hum": speech.hum_noise, "music": speech.music_noise}[kind]
    mask = np.repeat(labels, FRAME)
    mask = np.pad(mask, (0, len(track) - len(mask)))
    return speech.mix_at_snr(track, make(len(track), rng), snr_db, mask) / 32768.0
