"""Streaming voice activity detection: numba kernels, one call per audio chunk.

Method (details and figures in docs/voice.md):

1. 16 kHz float32 -> 8 kHz by a half-band FIR (speech cues live below 4 kHz; the
   decimation also halves broadband noise).
2. Every ``spectrum_hop_frames`` x 10 ms a Hann-windowed 256-point (32 ms) power spectrum,
   31 Hz bins from 125 Hz to 3.9 kHz (mains hum and DC are left out).
3. Each bin is averaged over ``smooth_spectra`` consecutive spectra (centred): a
   long-term spectral estimate that lifts weak speech out of noise.
4. An adaptive noise floor per bin: an online low quantile (``floor_quantile``) tracked
   multiplicatively in the power domain, so speech pauses keep it honest and a louder
   noise lifts it within seconds; no explicit speech/noise decision is needed for it.
5. Score = mean over bins of the dB excess of the smoothed power over the floor beyond
   ``gain_snr_db`` (log from the float bit pattern, so it vectorises): stationary noise
   (white, hum) scores ~0, speech scores by how far it stands out.
6. Decision: the score's own statistics -- online median and 16th percentile (noise
   level and spread), and the median score in speech (speech level) -- set the onset
   threshold ``median + k * spread``, with ``k`` growing with the speech/noise
   separation; hysteresis (release at ``release_ratio`` of it) and ``hangover_ms``.

``Vad.process(chunk)`` accepts any chunk size and returns per-10 ms-frame scores and
decisions; results are identical whatever the chunking. Frames come out with a fixed
lookahead delay (``Vad.delay_frames``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numba import njit

from dsp.spectrum import PowerSpectrum, _power_frames, decimate_into, halfband_taps, simd_lanes

F32 = npt.NDArray[np.float32]
SAMPLE_RATE_HZ = 16000
VAD_RATE_HZ = 8000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000
BLOCK_SPECTRA = 32  # spectra per FFT batch: keeps the scratch in L1

# float state slots
_Q50, _Q16, _MAD, _SP = 0, 1, 2, 3
# int state slots
_SEEN, _SPEECH, _HANG, _RING, _SKIP, _FRAMES, _EMITTED = 0, 1, 2, 3, 4, 5, 6


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Tuning of the VAD; defaults were chosen on the synthetic corpus of bench/voice_corpus.py."""

    fft_size: int = 256
    spectrum_hop_frames: int = 4
    smooth_spectra: int = 5
    band_lo_hz: float = 125.0
    band_hi_hz: float = 3900.0
    floor_quantile: float = 0.1
    floor_step_db: float = 0.5
    floor_warmup_spectra: int = 25
    gain_snr_db: float = 6.0
    separation_gain: float = 0.3
    k_min: float = 1.0
    k_max: float = 2.0
    release_ratio: float = 0.25
    hangover_ms: int = 50
    stats_step: float = 0.003
    stats_slowdown: float = 0.3
    stats_min_spread: float = 0.05
    stats_anneal: float = 3.0
    mad_rate: float = 0.01
    speech_level_rate: float = 0.01
    stats_start_frames: int = 50
    onset_after_frames: int = 100


@dataclass(frozen=True, slots=True)
class VadFrames:
    """Per-frame output of one ``Vad.process`` call: frames ``first_frame ...``."""

    first_frame: int
    score: F32
    speech: npt.NDArray[np.bool_]


@njit(cache=True, fastmath=True, error_model="numpy")
def _excess_db(ratio: F32, gain_db: float) -> float:
    """Mean over bins of ``max(0, 10*log10(ratio) - gain_db)``.

    The log comes from the float32 bit pattern (exponent + linear mantissa, within 0.3 dB),
    which vectorises where a libm ``log`` call per bin would not.
    """
    bits = ratio.view(np.int32)
    acc = np.float32(0.0)
    for k in range(ratio.shape[0]):
        d = (np.float32(bits[k]) * np.float32(1.0 / 8388608.0) - np.float32(126.94269504)) * np.float32(3.0103) - gain_db
        acc += d if d > 0 else np.float32(0.0)
    return acc / ratio.shape[0]


@njit(cache=True, fastmath=True, error_model="numpy")
def _score_spectrum(src: F32, ring: F32, floor: F32, smooth: F32, ratio: F32,
                    istate: npt.NDArray[np.int64], params: F32) -> float:
    """Push one spectrum into the smoothing ring; score the centred smoothed spectrum.

    Score: mean over bins of the dB excess over (floor + gain_snr_db), floored at 0; the
    per-bin floor then moves one quantile-tracker step.
    """
    n_ring, n_bins = ring.shape
    pos = istate[_RING]
    dst = ring[pos]
    for k in range(n_bins):
        dst[k] = src[k] + np.float32(1e-10)
    istate[_RING] = (pos + 1) % n_ring
    seen = istate[_SEEN]
    istate[_SEEN] = seen + 1
    warm = seen >= params[4]
    up = params[13] if warm else params[15]
    down = params[14] if warm else params[16]
    for k in range(n_bins):
        smooth[k] = np.float32(0.0)
    for r in range(n_ring):
        row = ring[r]
        for k in range(n_bins):
            smooth[k] += row[k]
    inv = np.float32(1.0 / min(seen + 1, n_ring))
    if seen == 0:
        for k in range(n_bins):
            floor[k] = smooth[k] * inv
    for k in range(n_bins):
        s = smooth[k] * inv
        fl = floor[k]
        ratio[k] = s / fl
        floor[k] = fl * (up if s > fl else down)
    return _excess_db(ratio, params[0])


@njit(cache=True, error_model="numpy")
def _decide(x: float, fstate: npt.NDArray[np.float64], istate: npt.NDArray[np.int64],
            params: F32) -> bool:
    """Hysteresis + hangover on the score against thresholds from its own statistics.

    Noise statistics: online median and 16th percentile of the score (quantile trackers
    with steps scaled by the mean absolute deviation; frames above the onset threshold or
    inside speech update them at a reduced rate so speech barely contaminates them, yet a
    louder noise still lifts them). Speech level: the median score while in speech. The onset
    threshold is ``median + k * spread`` with ``k`` growing with the speech-to-noise
    separation (clipped to [k_min, k_max]): far above noise when speech stands out, close
    to it when speech is barely above the noise.
    """
    alpha, k_min, k_max, release = params[5], params[6], params[7], params[8]
    hang_frames, eta, slow, s_min = params[9], params[10], params[11], params[12]
    anneal, mad_rate, sp_rate = params[17], params[18], params[19]
    t = istate[_FRAMES] - int(params[20])
    istate[_FRAMES] += 1
    if t < 0:
        return False
    if t == 0:
        fstate[_Q50], fstate[_Q16], fstate[_MAD], fstate[_SP] = x, 0.5 * x, max(0.5 * x, s_min), x
    q50, q16, mad, sp = fstate[_Q50], fstate[_Q16], fstate[_MAD], fstate[_SP]
    spread = max(q50 - q16, s_min)
    k = min(max(alpha * (sp - q50) / spread, k_min), k_max)
    on = q50 + k * spread
    if t > params[21]:
        if istate[_SPEECH] == 1:
            if x > q50 + release * k * spread:
                istate[_HANG] = int(hang_frames)
            else:
                istate[_HANG] -= 1
                if istate[_HANG] <= 0:
                    istate[_SPEECH] = 0
        elif x > on:
            istate[_SPEECH] = 1
            istate[_HANG] = int(hang_frames)
    mad += mad_rate * (abs(x - q50) - mad)
    step = max(mad, s_min)
    damped = x > on or istate[_SPEECH] == 1  # likely speech: barely moves the noise statistics
    e = max(eta, anneal / (t + anneal)) * (slow if damped else 1.0) * step
    fstate[_Q50] = q50 + e * (0.5 - (1.0 if x < q50 else 0.0))
    fstate[_Q16] = q16 + e * (0.16 - (1.0 if x < q16 else 0.0))
    fstate[_MAD] = mad
    if istate[_SPEECH] == 1:
        fstate[_SP] = sp + sp_rate * step * (0.5 - (1.0 if x < sp else 0.0))
    return istate[_SPEECH] == 1


@njit(cache=True, fastmath=True, error_model="numpy")
def _spectra_and_decisions(x8: F32, n8: int, skip: int, consts: F32, rev: npt.NDArray[np.int64],
                           dims: npt.NDArray[np.int64], state: F32,
                           fstate: npt.NDArray[np.float64], istate: npt.NDArray[np.int64],
                           params: F32, score_out: F32, speech_out: npt.NDArray[np.bool_]) -> int:
    """FFT the complete windows of ``x8`` in SIMD batches, score and decide each frame."""
    n_fft, lo, hi, hop_frames, n_ring = dims[0], dims[1], dims[2], dims[3], dims[4]
    m = n_fft // 2
    hop8 = hop_frames * FRAME_SAMPLES // 2
    win, twr, twi, ur, ui = (consts[:n_fft], consts[n_fft : n_fft + m], consts[n_fft + m : n_fft + 2 * m],
                             consts[n_fft + 2 * m : n_fft + 3 * m], consts[n_fft + 3 * m : n_fft + 4 * m])
    ring, floor = state[:n_ring], state[n_ring]
    n_spec = (n8 - skip - n_fft) // hop8 + 1 if n8 >= n_fft + skip else 0
    smooth = np.empty(hi - lo, np.float32)
    ratio = np.empty(hi - lo, np.float32)
    n_frames = 0
    for b0 in range(0, n_spec, BLOCK_SPECTRA):
        nb = min(BLOCK_SPECTRA, n_spec - b0)
        lanes = simd_lanes(nb)
        re = np.empty((m, lanes), np.float32)
        im = np.empty((m, lanes), np.float32)
        spec = np.empty((nb, hi - lo), np.float32)
        _power_frames(x8, skip + b0 * hop8, hop8, win, rev, twr, twi, ur, ui, lo, hi, re, im, spec)
        for f in range(nb):
            ready = istate[_SEEN] >= n_ring // 2
            score = _score_spectrum(spec[f], ring, floor, smooth, ratio, istate, params)
            if ready:
                for _ in range(hop_frames):
                    score_out[n_frames] = score
                    speech_out[n_frames] = _decide(score, fstate, istate, params)
                    n_frames += 1
    next_start = skip + n_spec * hop8
    istate[_SKIP] = next_start - min(next_start, n8)
    return min(next_start, n8)


@njit(cache=True, fastmath=True, error_model="numpy")
def _vad_chunk(x16: F32, hist16: F32, pend8: F32, consts: F32, rev: npt.NDArray[np.int64],
               dims: npt.NDArray[np.int64], state: F32, fstate: npt.NDArray[np.float64],
               istate: npt.NDArray[np.int64], params: F32) -> tuple:
    """Decimate, transform, score and decide one chunk (one dispatch per chunk).

    Returns (scores, decisions, new 16 kHz history, new pending 8 kHz samples).
    """
    n_taps = dims[5]
    taps = consts[consts.shape[0] - n_taps :]
    buf16 = np.empty(hist16.shape[0] + x16.shape[0], np.float32)
    buf16[: hist16.shape[0]] = hist16
    buf16[hist16.shape[0] :] = x16
    x8 = np.empty(pend8.shape[0] + buf16.shape[0] // 2 + 1, np.float32)
    x8[: pend8.shape[0]] = pend8
    n_dec = decimate_into(buf16, taps, x8, pend8.shape[0])
    n8 = pend8.shape[0] + n_dec
    cap = n8 // (FRAME_SAMPLES // 2) + 2 * dims[3] + 2
    score_out = np.empty(cap, np.float32)
    speech_out = np.empty(cap, np.bool_)
    keep_from = _spectra_and_decisions(x8, n8, istate[_SKIP], consts, rev, dims, state, fstate,
                                       istate, params, score_out, speech_out)
    n_frames = istate[_FRAMES] - istate[_EMITTED]
    istate[_EMITTED] = istate[_FRAMES]
    return (score_out[:n_frames], speech_out[:n_frames], buf16[2 * n_dec :].copy(),
            x8[keep_from:n8].copy())


@lru_cache(maxsize=8)
def _constants(fft_size: int, lo: int, hi: int) -> tuple[F32, npt.NDArray[np.int64], int]:
    """Window, twiddles and half-band taps packed in one array (shared by all streams);
    the bit-reversal table; the number of taps."""
    spectrum = PowerSpectrum(fft_size, lo, hi)
    taps = halfband_taps()
    consts = np.concatenate((spectrum.window, spectrum._twr, spectrum._twi, spectrum._ur,
                             spectrum._ui, taps)).astype(np.float32)
    consts.flags.writeable = False
    return consts, spectrum._rev, len(taps)


class Vad:
    """Per-stream VAD state; feed 16 kHz float32 chunks of any size to ``process``."""

    def __init__(self, options: VadOptions | None = None) -> None:
        o = options or VadOptions()
        if not 1 <= o.spectrum_hop_frames <= 6 or o.smooth_spectra % 2 == 0:
            raise ValueError("spectrum_hop_frames must be 1..6 and smooth_spectra odd")
        self.options = o
        bin_hz = VAD_RATE_HZ / o.fft_size
        lo, hi = int(round(o.band_lo_hz / bin_hz)), int(round(o.band_hi_hz / bin_hz))
        self._consts, self._rev, n_taps = _constants(o.fft_size, lo, hi)
        self._dims = np.array([o.fft_size, lo, hi, o.spectrum_hop_frames, o.smooth_spectra, n_taps],
                              np.int64)
        q, step = o.floor_quantile, o.floor_step_db
        self._params = np.array([
            o.gain_snr_db, q, step, 4 * step, o.floor_warmup_spectra,
            o.separation_gain, o.k_min, o.k_max, o.release_ratio,
            max(1, o.hangover_ms // FRAME_MS), o.stats_step, o.stats_slowdown, o.stats_min_spread,
            10 ** (step * q / 10), 10 ** (-step * (1 - q) / 10),
            10 ** (4 * step * q / 10), 10 ** (-4 * step * (1 - q) / 10),
            o.stats_anneal, o.mad_rate, o.speech_level_rate, o.stats_start_frames,
            o.onset_after_frames,
        ], np.float32)
        self._state = np.zeros((o.smooth_spectra + 1, hi - lo), np.float32)  # ring + floor
        self._fstate = np.zeros(4, np.float64)
        hop8 = o.spectrum_hop_frames * FRAME_SAMPLES // 2
        self._istate = np.array([0, 0, 0, 0, max(0, hop8 // 2 - o.fft_size // 2), 0, 0], np.int64)
        self._pend8 = np.zeros(max(0, o.fft_size // 2 - hop8 // 2), np.float32)
        self._hist16 = np.zeros((n_taps - 1) // 2, np.float32)
        self._frames_out = 0
        hop_s = o.spectrum_hop_frames * FRAME_MS / 1000
        self.delay_frames = int(np.ceil((o.fft_size / 2 / VAD_RATE_HZ + o.smooth_spectra // 2 * hop_s)
                                        / (FRAME_MS / 1000))) + o.spectrum_hop_frames

    @property
    def frames_out(self) -> int:
        """Number of frames decided so far (the next result starts at this frame)."""
        return self._frames_out

    def process(self, x: F32) -> VadFrames:
        """Feed the next chunk (16 kHz float32); returns the frames decided by now."""
        score, speech, self._hist16, self._pend8 = _vad_chunk(
            np.asarray(x, np.float32), self._hist16, self._pend8, self._consts, self._rev,
            self._dims, self._state, self._fstate, self._istate, self._params)
        first = self._frames_out
        self._frames_out += len(score)
        return VadFrames(first, score, speech)
