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

from dsp.spectrum import (
    HALFBAND_TAPS,
    MAX_LANES,
    deinterleave,
    fft_tables,
    halfband,
    halfband_taps,
    power_frames,
)

F32 = npt.NDArray[np.float32]
SAMPLE_RATE_HZ = 16000
VAD_RATE_HZ = 8000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000
_PIECE = 20480  # 16 kHz samples per internal step (32 spectra at the default hop)
_HIST16 = 32  # room for the decimator's 16 kHz history (29-30 samples)
_N_PARAMS = 24
_INV_BINS = 22  # params slot: 1 / number of bins

# float state slots
_Q50, _Q16, _MAD, _SP = 0, 1, 2, 3
# int state slots
_SEEN, _SPEECH, _HANG, _NH16, _SKIP, _FRAMES, _NP8 = 0, 1, 2, 3, 4, 5, 6
_N_ISTATE = 7


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
def _score_spectrum(spec: F32, f: int, floor: F32, smooth: F32, ratio: F32, weight: F32, seen: int,
                    params: F32) -> float:
    """Score spectrum ``f`` of a batch: the centred mean of rows ``f .. f + n_ring - 1``.

    ``spec`` rows are the previous ``n_ring - 1`` spectra, then the batch. Score: mean over
    bins of the dB excess of the smoothed power over (floor + gain_snr_db), floored at 0;
    the per-bin floor then moves one quantile-tracker step. The log comes from the float32
    bit pattern (exponent + linear mantissa, within 0.3 dB), which vectorises where a libm
    ``log`` call per bin would not. Rows are padded to a multiple of 16 bins (zero
    ``weight``) so every loop is whole SIMD vectors.
    """
    n_pad = floor.shape[0]
    n_ring = spec.shape[0] - MAX_LANES + 1
    row = spec[f]
    for k in range(n_pad):
        smooth[k] = row[k] if n_ring > 1 else np.float32(0.0)
    for r in range(1, n_ring - 1):
        row = spec[f + r]
        for k in range(n_pad):
            smooth[k] += row[k]
    last = spec[f + n_ring - 1]
    warm = seen >= params[4]
    up = params[13] if warm else params[15]
    down = params[14] if warm else params[16]
    inv = np.float32(1.0 / min(seen + 1, n_ring))
    if seen == 0:
        for k in range(n_pad):
            floor[k] = (smooth[k] + last[k]) * inv
    gain = params[0]
    bits = ratio.view(np.int32)
    acc = np.float32(0.0)
    for k in range(n_pad):
        s = (smooth[k] + last[k]) * inv
        fl = floor[k]
        ratio[k] = s / fl
        floor[k] = fl * (up if s > fl else down)
        d = (np.float32(bits[k]) * np.float32(1.0 / 8388608.0) - np.float32(126.94269504)) * np.float32(3.0103) - gain
        acc += weight[k] * (d if d > 0 else np.float32(0.0))
    return acc * params[_INV_BINS]


@njit(cache=True, error_model="numpy")
def _decide(scores: F32, hop_frames: int, fstate: npt.NDArray[np.float64], istate: npt.NDArray[np.int64],
            params: F32, score_out: F32, speech_out: npt.NDArray[np.bool_], n_out: int) -> int:
    """Decide ``hop_frames`` frames per score: hysteresis + hangover against thresholds from
    the score's own statistics; appends to ``score_out``/``speech_out``, returns the count.

    Noise statistics: online median and 16th percentile of the score (quantile trackers
    with steps scaled by the mean absolute deviation; frames above the onset threshold or
    inside speech update them at a reduced rate so speech barely contaminates them, yet a
    louder noise still lifts them). Speech level: the median score while in speech. The onset
    threshold is ``median + k * spread`` with ``k`` growing with the speech-to-noise
    separation (clipped to [k_min, k_max]): far above noise when speech stands out, close
    to it when speech is barely above the noise. The state lives in locals for the whole
    run (a serial chain: through memory every frame it cost twice as much).
    """
    alpha, k_min, k_max, release = params[5], params[6], params[7], params[8]
    hang_frames, eta, slow, s_min = int(params[9]), params[10], params[11], params[12]
    anneal, mad_rate, sp_rate = params[17], params[18], params[19]
    start, onset_after = int(params[20]), params[21]
    q50, q16, mad, sp = fstate[_Q50], fstate[_Q16], fstate[_MAD], fstate[_SP]
    frames, speech, hang = istate[_FRAMES], istate[_SPEECH], istate[_HANG]
    for i in range(scores.shape[0] * hop_frames):
        x = np.float64(scores[i // hop_frames])
        score_out[n_out + i] = scores[i // hop_frames]
        t = frames - start
        frames += 1
        if t < 0:
            speech_out[n_out + i] = False
            continue
        if t == 0:
            q50, q16, mad, sp = x, 0.5 * x, max(0.5 * x, s_min), x
        spread = max(q50 - q16, s_min)
        k = min(max(alpha * (sp - q50) / spread, k_min), k_max)
        on = q50 + k * spread
        if t > onset_after:
            if speech == 1:
                if x > q50 + release * k * spread:
                    hang = hang_frames
                else:
                    hang -= 1
                    if hang <= 0:
                        speech = 0
            elif x > on:
                speech = 1
                hang = hang_frames
        mad += mad_rate * (abs(x - q50) - mad)
        step = max(mad, s_min)
        damped = x > on or speech == 1  # likely speech: barely moves the noise statistics
        e = max(eta, anneal / (t + anneal)) * (slow if damped else 1.0) * step
        q50_new = q50 + e * (0.5 - (1.0 if x < q50 else 0.0))
        q16 = q16 + e * (0.16 - (1.0 if x < q16 else 0.0))
        if speech == 1:
            sp = sp + sp_rate * step * (0.5 - (1.0 if x < sp else 0.0))
        q50 = q50_new
        speech_out[n_out + i] = speech == 1
    fstate[_Q50], fstate[_Q16], fstate[_MAD], fstate[_SP] = q50, q16, mad, sp
    istate[_FRAMES], istate[_SPEECH], istate[_HANG] = frames, speech, hang
    return n_out + scores.shape[0] * hop_frames


@njit(cache=True, fastmath=True, error_model="numpy")
def _decimate_piece(x16: F32, hist16: F32, taps: F32, istate: npt.NDArray[np.int64], even: F32,
                    odd: F32, x8: F32, n_fft: int, hop8: int) -> int:
    """Half-band decimate (16 kHz history + ``x16``) onto ``x8[istate[_NP8]:]``; returns the new x8 length.

    The history (the last 29-30 samples, whose outputs need samples not seen yet) keeps the
    sample parity, so any chunking decimates exactly like the whole stream.
    """
    nh, n = istate[_NH16], x16.shape[0]
    total = nh + n
    for i in range(nh):
        if i % 2:
            odd[i // 2] = hist16[i]
        else:
            even[i // 2] = hist16[i]
    src, base = x16, nh // 2
    if nh % 2:
        odd[base] = x16[0]
        src, base = x16[1:], base + 1
    half = src.shape[0] // 2
    deinterleave(src, even[base : base + half], odd[base : base + half])
    if src.shape[0] % 2:
        even[base + half] = src[src.shape[0] - 1]
    n_dec = max(0, (total - HALFBAND_TAPS + 2) // 2)
    for i in range(total - 2 * n_dec):  # the new history, read back from the two phases
        j = 2 * n_dec + i
        hist16[i] = odd[j // 2] if j % 2 else even[j // 2]
    istate[_NH16] = total - 2 * n_dec
    np8 = istate[_NP8]
    if hop8 <= n_fft:
        halfband(even, odd, taps, x8[np8 : np8 + n_dec])
    else:  # windows leave gaps: only filter what some window will read
        for w in range(istate[_SKIP], np8 + n_dec, hop8):
            a, b = max(w, np8), min(w + n_fft, np8 + n_dec)
            if a < b:
                halfband(even[a - np8 :], odd[a - np8 :], taps, x8[a:b])
    return np8 + n_dec


@njit(cache=True, fastmath=True, error_model="numpy")
def _spectra_and_decisions(x8: F32, n8: int, state: F32, istate: npt.NDArray[np.int64],
                           fstate: npt.NDArray[np.float64], consts: F32, ints: npt.NDArray[np.int64],
                           work: tuple, score_out: F32, speech_out: npt.NDArray[np.bool_], n_out: int) -> int:
    """FFT the complete windows of ``x8`` in batches, score and decide each; keep the rest."""
    n_fft, lo, hi, hop_frames, n_ring = ints[0], ints[1], ints[2], ints[3], ints[4]
    n_bins, n_pad = hi - lo, ints[5]
    hop8 = hop_frames * FRAME_SAMPLES // 2
    params, weight = consts[:_N_PARAMS], consts[_N_PARAMS + HALFBAND_TAPS : _N_PARAMS + HALFBAND_TAPS + n_pad]
    floats = consts[_N_PARAMS + HALFBAND_TAPS + n_pad :]
    offsets, rev = ints[8:12], ints[12 : 12 + n_fft // 2]
    floor = state[:n_pad]
    history = state[n_pad : n_pad * n_ring].reshape((n_ring - 1, n_pad))
    pend8 = state[n_pad * n_ring + _HIST16 :]
    re, im, scratch, spec, smooth, ratio, scores = work
    skip = istate[_SKIP]
    n_spec = (n8 - skip - n_fft) // hop8 + 1 if n8 >= n_fft + skip else 0
    for b0 in range(0, n_spec, MAX_LANES):
        nb = min(MAX_LANES, n_spec - b0)
        spec[: n_ring - 1] = history
        power_frames(x8, skip + b0 * hop8, hop8, floats, rev, offsets, lo, hi, re, im, scratch,
                     spec[n_ring - 1 : n_ring - 1 + nb], 1e-10)
        spec[n_ring - 1 : n_ring - 1 + nb, n_bins:] = 1.0  # padding bins: constant, weight 0
        n_ready = 0
        for f in range(nb):
            seen = istate[_SEEN]
            score = _score_spectrum(spec, f, floor, smooth, ratio, weight, seen, params)
            istate[_SEEN] = seen + 1
            if seen >= n_ring // 2:  # the first spectra only fill the smoothing look-ahead
                scores[n_ready] = score
                n_ready += 1
        if n_out + n_ready * hop_frames > score_out.shape[0]:
            raise ValueError("VAD output buffer too small")
        n_out = _decide(scores[:n_ready], hop_frames, fstate, istate, params, score_out, speech_out, n_out)
        history[:] = spec[nb : nb + n_ring - 1]
    next_start = skip + n_spec * hop8
    keep = min(next_start, n8)
    istate[_SKIP] = next_start - keep
    pend8[: n8 - keep] = x8[keep:n8]
    istate[_NP8] = n8 - keep
    return n_out


@njit(cache=True, fastmath=True, error_model="numpy")
def _vad_chunk(x16: F32, state: F32, istate: npt.NDArray[np.int64], fstate: npt.NDArray[np.float64],
               consts: F32, ints: npt.NDArray[np.int64], score_out: F32,
               speech_out: npt.NDArray[np.bool_]) -> int:
    """Decimate, transform, score and decide one chunk (one dispatch per chunk); returns the
    number of frames written to ``score_out``/``speech_out``.

    Long chunks go through in pieces of ``_PIECE`` samples, so the work space stays small.
    """
    n_fft, lo, hi, n_ring, n_pad = ints[0], ints[1], ints[2], ints[4], ints[5]
    n_bins = hi - lo
    taps = consts[_N_PARAMS : _N_PARAMS + HALFBAND_TAPS]
    hist16 = state[n_pad * n_ring : n_pad * n_ring + _HIST16]
    pend8 = state[n_pad * n_ring + _HIST16 :]
    n_in = x16.shape[0]
    piece = min(n_in, _PIECE)
    even = np.empty(piece // 2 + _HIST16, np.float32)
    odd = np.empty(piece // 2 + _HIST16, np.float32)
    x8 = np.empty(n_fft + piece // 2 + 2, np.float32)
    m = n_fft // 2
    work = (np.empty(m * MAX_LANES, np.float32), np.empty(m * MAX_LANES, np.float32),
            np.empty(n_bins * MAX_LANES, np.float32), np.empty((n_ring - 1 + MAX_LANES, n_pad), np.float32),
            np.empty(n_pad, np.float32), np.empty(n_pad, np.float32), np.empty(MAX_LANES, np.float32))
    n_out = 0
    for p0 in range(0, n_in, _PIECE):
        np8 = istate[_NP8]
        x8[:np8] = pend8[:np8]
        n8 = _decimate_piece(x16[p0 : min(n_in, p0 + _PIECE)], hist16, taps, istate, even, odd, x8, n_fft,
                             ints[3] * FRAME_SAMPLES // 2)
        n_out = _spectra_and_decisions(x8, n8, state, istate, fstate, consts, ints, work, score_out,
                                       speech_out, n_out)
    return n_out


@lru_cache(maxsize=8)
def _tables(o: VadOptions) -> tuple[F32, npt.NDArray[np.int64]]:
    """Read-only tables shared by every stream with options ``o``: (floats, ints).

    floats: the decision parameters, the half-band taps, the FFT tables; ints: the
    dimensions (FFT size, bins, hop, smoothing), the twiddle offsets, the bit reversal.
    """
    bin_hz = VAD_RATE_HZ / o.fft_size
    lo, hi = int(round(o.band_lo_hz / bin_hz)), int(round(o.band_hi_hz / bin_hz))
    q, step = o.floor_quantile, o.floor_step_db
    params = np.array([
        o.gain_snr_db, q, step, 4 * step, o.floor_warmup_spectra,
        o.separation_gain, o.k_min, o.k_max, o.release_ratio,
        max(1, o.hangover_ms // FRAME_MS), o.stats_step, o.stats_slowdown, o.stats_min_spread,
        10 ** (step * q / 10), 10 ** (-step * (1 - q) / 10),
        10 ** (4 * step * q / 10), 10 ** (-4 * step * (1 - q) / 10),
        o.stats_anneal, o.mad_rate, o.speech_level_rate, o.stats_start_frames,
        o.onset_after_frames,
    ], np.float32)
    n_pad = -(-(hi - lo) // 16) * 16  # bins padded to whole 16-float vectors
    params = np.concatenate((params, np.zeros(_N_PARAMS - len(params), np.float32)))
    params[_INV_BINS] = 1.0 / (hi - lo)
    weight = (np.arange(n_pad) < hi - lo).astype(np.float32)
    floats, rev, offsets = fft_tables(o.fft_size)
    consts = np.concatenate((params, halfband_taps(), weight, floats)).astype(np.float32)
    dims = [o.fft_size, lo, hi, o.spectrum_hop_frames, o.smooth_spectra, n_pad, 0, 0]
    ints = np.concatenate((np.array(dims, np.int64), offsets, rev))
    for a in (consts, ints):
        a.flags.writeable = False
    return consts, ints


class Vad:
    """Per-stream VAD state; feed 16 kHz float32 chunks of any size to ``process``."""

    def __init__(self, options: VadOptions | None = None) -> None:
        o = options or VadOptions()
        if not 1 <= o.spectrum_hop_frames <= 6 or o.smooth_spectra % 2 == 0:
            raise ValueError("spectrum_hop_frames must be 1..6 and smooth_spectra odd")
        self.options = o
        self._consts, self._ints = _tables(o)
        n_pad = int(self._ints[5])
        # floor | previous smooth_spectra - 1 spectra | 16 kHz history | pending 8 kHz samples
        self._state = np.zeros(n_pad * o.smooth_spectra + _HIST16 + o.fft_size, np.float32)
        self._fstate = np.zeros(4, np.float64)
        hop8 = o.spectrum_hop_frames * FRAME_SAMPLES // 2
        self._istate = np.zeros(_N_ISTATE, np.int64)
        self._istate[_NH16] = (HALFBAND_TAPS - 1) // 2  # zeros: the filter's centre lands on sample 0
        self._istate[_SKIP] = max(0, hop8 // 2 - o.fft_size // 2)
        self._istate[_NP8] = max(0, o.fft_size // 2 - hop8 // 2)  # zeros: window centres on frames
        self._frames_out = 0
        self._cap_extra = o.fft_size // (FRAME_SAMPLES // 2) + o.spectrum_hop_frames + 2
        hop_s = o.spectrum_hop_frames * FRAME_MS / 1000
        self.delay_frames = int(np.ceil((o.fft_size / 2 / VAD_RATE_HZ + o.smooth_spectra // 2 * hop_s)
                                        / (FRAME_MS / 1000))) + o.spectrum_hop_frames

    @property
    def frames_out(self) -> int:
        """Number of frames decided so far (the next result starts at this frame)."""
        return self._frames_out

    def process(self, x: F32) -> VadFrames:
        """Feed the next chunk (16 kHz float32); returns the frames decided by now."""
        x = np.ascontiguousarray(x, np.float32)
        cap = len(x) // FRAME_SAMPLES + self._cap_extra
        score, speech = np.empty(cap, np.float32), np.empty(cap, np.bool_)
        n = _vad_chunk(x, self._state, self._istate, self._fstate, self._consts, self._ints, score, speech)
        first = self._frames_out
        self._frames_out += n
        return VadFrames(first, score[:n], speech[:n])
