"""Prosodic features of one utterance: pitch, loudness, speech rate, spectral tilt.

All kernels run on the utterance's 16 kHz float32 samples (decimated to 8 kHz for the
pitch track), in 10 ms frames:

- pitch: YIN (cumulative-mean-normalised difference, absolute threshold, parabolic
  refinement) over 60-500 Hz on 40 ms windows; a frame is voiced when the YIN dip is
  below ``yin_threshold`` and the frame is within ``voiced_floor_db`` of the loudest one;
- loudness: RMS level (dBFS) of the speech frames (the loudest 50 %);
- speech rate: syllable nuclei per second, counted as peaks of the smoothed energy
  envelope that rise ``peak_prominence_db`` above the dips around them;
- spectral tilt: level of the first difference over the level of the signal (dB): a
  cheap high-vs-low balance that rises with vocal effort (flatter spectrum);
- harshness: share of voiced frames whose YIN dip is weak (rough or overdriven voice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from dsp.spectrum import decimate2, halfband_taps

F32 = npt.NDArray[np.float32]
SAMPLE_RATE_HZ = 16000
FRAME = 160
_TAPS = halfband_taps()


@dataclass(frozen=True, slots=True)
class ProsodyOptions:
    f0_min_hz: float = 60.0
    f0_max_hz: float = 500.0
    window_ms: int = 40
    yin_threshold: float = 0.2
    voiced_floor_db: float = 30.0
    peak_prominence_db: float = 3.0


@dataclass(frozen=True, slots=True)
class Prosody:
    """Utterance-level prosodic features (NaN pitch features when nothing is voiced)."""

    duration_s: float
    loudness_db: float
    speech_level_db: float
    f0_median_hz: float
    f0_range_st: float
    f0_variability_st: float
    voiced_share: float
    speech_rate_hz: float
    tilt_db: float
    harshness: float


@njit(cache=True, fastmath=True, error_model="numpy")
def frame_levels_db(x: F32, frame: int) -> F32:
    """RMS level (dBFS) of consecutive frames of ``frame`` samples."""
    n = x.shape[0] // frame
    out = np.empty(n, np.float32)
    for f in range(n):
        seg = x[f * frame : (f + 1) * frame]
        acc = np.float32(0.0)
        for i in range(frame):
            acc += seg[i] * seg[i]
        out[f] = 10.0 * np.log10(acc / frame + 1e-12)
    return out


@njit(cache=True, fastmath=True, error_model="numpy")
def yin_track(x: F32, hop: int, window: int, min_lag: int, max_lag: int,
              threshold: float) -> tuple[F32, F32]:
    """YIN pitch per hop: returns (lag in samples, 0 if unvoiced; the YIN dip value)."""
    n = max(0, (x.shape[0] - window - max_lag - 1) // hop + 1)
    lags = np.zeros(n, np.float32)
    dips = np.ones(n, np.float32)
    d = np.empty(max_lag + 2, np.float32)
    cmnd = np.ones(max_lag + 2, np.float32)
    for f in range(n):
        seg = x[f * hop :]
        for tau in range(1, max_lag + 2):
            acc = np.float32(0.0)
            shifted = seg[tau:]
            for j in range(window):
                diff = seg[j] - shifted[j]
                acc += diff * diff
            d[tau] = acc
        running = np.float32(0.0)
        for tau in range(1, max_lag + 2):
            running += d[tau]
            cmnd[tau] = d[tau] * tau / running if running > 0 else np.float32(1.0)
        best = min_lag
        for tau in range(min_lag, max_lag + 1):
            if cmnd[tau] < cmnd[best]:
                best = tau
            if cmnd[tau] < threshold:  # first dip below threshold: walk down to its bottom
                best = tau
                while best + 1 <= max_lag and cmnd[best + 1] < cmnd[best]:
                    best += 1
                break
        dips[f] = cmnd[best]
        if cmnd[best] < threshold and min_lag < best < max_lag:
            a, b, c = cmnd[best - 1], cmnd[best], cmnd[best + 1]
            den = a - 2 * b + c
            shift = 0.5 * (a - c) / den if den > 0 else 0.0
            lags[f] = best + min(max(shift, -0.5), 0.5)
    return lags, dips


@njit(cache=True, error_model="numpy")
def count_peaks(env_db: F32, prominence_db: float, floor_db: float) -> int:
    """Peaks of ``env_db`` above ``floor_db`` that rise ``prominence_db`` over both dips."""
    count = 0
    last_min = env_db[0] if env_db.shape[0] else 0.0
    cand = -1e9
    rising = False
    for i in range(1, env_db.shape[0]):
        v = env_db[i]
        if v > cand and rising:
            cand = v
        if not rising and v > last_min + prominence_db:
            rising, cand = True, v
        elif rising and v < cand - prominence_db:
            if cand > floor_db:
                count += 1
            rising, last_min = False, v
        if not rising and v < last_min:
            last_min = v
    if rising and cand > floor_db and cand > last_min + prominence_db:
        count += 1
    return count


def _tilt_db(x: F32, speech_frames: npt.NDArray[np.bool_]) -> float:
    """First-difference level over signal level (dB) on the speech (loudest half) frames."""
    n = len(speech_frames) * FRAME
    frames = x[:n].astype(np.float64).reshape(-1, FRAME)[speech_frames]
    diff = np.diff(frames, axis=1)
    return float(10 * np.log10((np.mean(diff**2) + 1e-12) / (np.mean(frames**2) + 1e-12)))


def _semitones(hz: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    return 12.0 * np.log2(np.asarray(hz, np.float64) / 100.0)


def extract(audio: F32, options: ProsodyOptions | None = None) -> Prosody:
    """Prosodic features of one utterance (16 kHz float32 in [-1, 1))."""
    o = options or ProsodyOptions()
    x = np.ascontiguousarray(audio, np.float32)
    levels = frame_levels_db(x, FRAME)
    if len(levels) == 0:
        nan = math.nan
        return Prosody(0.0, -120.0, -120.0, nan, nan, nan, 0.0, 0.0, nan, nan)
    loud = float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))
    speech_frames = levels >= np.median(levels)
    speech_level = float(10 * np.log10(np.mean(10 ** (levels[speech_frames] / 10)) + 1e-12))
    x8 = decimate2(np.concatenate((np.zeros(len(_TAPS) - 1, np.float32), x)), _TAPS)
    rate8 = SAMPLE_RATE_HZ // 2
    win = rate8 * o.window_ms // 1000
    lags, dips = yin_track(
        x8, FRAME // 2, win, int(rate8 / o.f0_max_hz), int(rate8 / o.f0_min_hz) + 1, o.yin_threshold
    )
    lv = levels[: len(lags)]
    loud_enough = lv >= levels.max() - o.voiced_floor_db
    voiced = (lags > 0) & loud_enough
    f0 = rate8 / lags[voiced] if voiced.any() else np.empty(0)
    st = _semitones(f0) if len(f0) else np.empty(0)
    env = np.convolve(levels, np.ones(5) / 5, mode="same").astype(np.float32)
    peaks = count_peaks(env, o.peak_prominence_db, float(levels.max()) - 25.0)
    active_s = max(float(speech_frames.sum()) * FRAME / SAMPLE_RATE_HZ, 0.1)
    tilt = _tilt_db(x, speech_frames)
    weak = (dips[loud_enough[: len(dips)]] > o.yin_threshold) if loud_enough.any() else np.empty(0)
    return Prosody(
        duration_s=len(x) / SAMPLE_RATE_HZ,
        loudness_db=loud,
        speech_level_db=speech_level,
        f0_median_hz=float(np.median(f0)) if len(f0) else math.nan,
        f0_range_st=(float(np.percentile(st, 90) - np.percentile(st, 10)) if len(st) > 2
                     else math.nan),
        f0_variability_st=float(np.std(np.diff(st))) if len(st) > 3 else math.nan,
        voiced_share=float(voiced.mean()) if len(voiced) else 0.0,
        speech_rate_hz=peaks / active_s,
        tilt_db=float(tilt),
        harshness=float(weak.mean()) if len(weak) else math.nan,
    )
