"""Streaming voice activity detection: numba kernels, one call per audio chunk.

Method (details and figures in docs/voice.md):

1. 16 kHz float32 -> 8 kHz by a half-band FIR (speech cues live below 4 kHz; the
   decimation also halves broadband noise).
2. Every ``spectrum_hop_frames`` x 10 ms a Hann-windowed 256-point (32 ms) power spectrum,
   31 Hz bins from 125 Hz to 3.9 kHz (mains hum and DC are left out).
3. Each bin is averaged over ``smooth_spectra`` consecutive spectra (centred): a
   long-term spectral estimate that lifts weak speech out of noise.
4. A noise floor per bin (``dsp.vad_noise``): an online low quantile held within a band
   around the bin's minimum over the last ~5 s (minimum statistics), so it neither drifts
   into continuous conversation nor stays low after a quiet start; it starts from an
   absolute prior (or from the first spectrum when that is flat noise), and digital
   silence teaches it nothing.
5. Score = mean over bins of the dB excess of the smoothed power over the floor beyond
   ``gain_snr_db``: stationary noise scores ~0 at any level, speech by how far it stands
   out.
6. Decision (``dsp.vad_decision``): the score's own statistics -- median and 16th
   percentile (noise), median in speech -- set the threshold ``median + k * spread``;
   the median is capped by the lower class of an Otsu split of the recent score
   histogram, so pauses, however rare, keep it on the noise. Hysteresis and a hangover.
   Decisions start with the first frame.

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

from dsp import vad_decision as vd
from dsp import vad_noise as vn
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
I64 = npt.NDArray[np.int64]
SAMPLE_RATE_HZ = 16000
VAD_RATE_HZ = 8000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000
_PIECE = 20480  # 16 kHz samples per internal step (32 spectra at the default hop)
_HIST16 = 32  # room for the decimator's 16 kHz history (29-30 samples)
# int state slots of the driver
_NH16, _SKIP, _NP8 = 0, 1, 2
_N_ISTATE = 3
# consts layout: noise params | decision params | half-band taps | bin weights | FFT floats
_DEC0 = vn.N_PARAMS
_TAPS0 = _DEC0 + vd.N_PARAMS


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Tuning of the VAD. Defaults were chosen on the synthetic corpus of
    bench/voice_corpus.py and the recorded-speech corpus of bench/real_corpus.py.

    Levels in dBFS are those of white noise of that mean square at 16 kHz; the floor's
    minimum window is ``floor_window_s`` in ``floor_sub_windows`` steps; ``floor_start_s``
    is when the minimum starts to lift the floor (and the statistics start learning).
    """

    fft_size: int = 256
    spectrum_hop_frames: int = 4
    smooth_spectra: int = 5
    band_lo_hz: float = 125.0
    band_hi_hz: float = 3900.0
    floor_quantile: float = 0.1
    floor_step_db: float = 0.5
    floor_warmup_spectra: int = 25
    floor_window_s: float = 5.12
    floor_sub_windows: int = 8
    floor_max_over_min_db: float = 10.0
    floor_min_over_min_db: float = 2.0
    floor_start_dbfs: float = -60.0
    floor_min_dbfs: float = -75.0
    floor_start_s: float = 0.3
    silence_dbfs: float = -90.0
    seed_flatness: float = 0.45
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
    stats_anneal_speech_max: float = 0.01
    mad_rate: float = 0.01
    speech_level_rate: float = 0.01
    speech_level_prior: float = 3.0
    start_onset: float = 5.0
    stats_window_s: float = 10.0
    stats_cap_spreads: float = 2.0


@dataclass(frozen=True, slots=True)
class VadFrames:
    """Per-frame output of one ``Vad.process`` call: frames ``first_frame ...``."""

    first_frame: int
    score: F32
    speech: npt.NDArray[np.bool_]


@njit(cache=True, fastmath=True, error_model="numpy")
def _decimate_piece(x16: F32, hist16: F32, taps: F32, istate: npt.NDArray[np.int64], even: F32,
                    odd: F32, x8: F32, n_fft: int, hop8: int) -> int:
    """Half-band decimate (16 kHz history + ``x16``) onto ``x8[istate[_NP8]:]``; returns the
    new x8 length.

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
    return int(np8 + n_dec)


@njit(cache=True, fastmath=True, error_model="numpy")
def _spectra_and_decisions(x8: F32, n8: int, state: F32, fl: F32, counters: I64, istate: I64,
                           fstate: npt.NDArray[np.float64], dstate: I64, consts: F32, ints: I64,
                           work: tuple, score_out: F32, speech_out: npt.NDArray[np.bool_],
                           n_out: int) -> int:
    """FFT the complete windows of ``x8`` in batches, score and decide each; keep the rest."""
    n_fft, lo, hi, hop_frames, n_ring = ints[0], ints[1], ints[2], ints[3], ints[4]
    n_bins, n_pad = hi - lo, ints[5]
    hop8 = hop_frames * FRAME_SAMPLES // 2
    nparams, dparams = consts[:_DEC0], consts[_DEC0:_TAPS0]
    w0 = _TAPS0 + HALFBAND_TAPS
    weight, floats = consts[w0 : w0 + n_pad], consts[w0 + n_pad :]
    offsets, rev = ints[8:12], ints[12 : 12 + n_fft // 2]
    history = state[: n_pad * (n_ring - 1)].reshape((n_ring - 1, n_pad))
    pend8 = state[n_pad * (n_ring - 1) + _HIST16 :]
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
            seen = counters[vn.SEEN]
            score = vn.score_spectrum(spec, f, fl, counters, smooth, ratio, weight, nparams)
            if seen >= n_ring // 2:  # the first spectra only fill the smoothing look-ahead
                scores[n_ready] = score
                n_ready += 1
        if n_out + n_ready * hop_frames > score_out.shape[0]:
            raise ValueError("VAD output buffer too small")
        n_out = vd.decide(scores[:n_ready], hop_frames, fstate, dstate, dparams, score_out,
                          speech_out, n_out)
        history[:] = spec[nb : nb + n_ring - 1]
    next_start = skip + n_spec * hop8
    keep = min(next_start, n8)
    istate[_SKIP] = next_start - keep
    pend8[: n8 - keep] = x8[keep:n8]
    istate[_NP8] = n8 - keep
    return n_out


@njit(cache=True, fastmath=True, error_model="numpy")
def _vad_chunk(x16: F32, state: F32, fl: F32, counters: I64, istate: I64,
               fstate: npt.NDArray[np.float64], dstate: I64, consts: F32, ints: I64,
               score_out: F32, speech_out: npt.NDArray[np.bool_]) -> int:
    """Decimate, transform, score and decide one chunk (one dispatch per chunk); returns the
    number of frames written to ``score_out``/``speech_out``.

    Long chunks go through in pieces of ``_PIECE`` samples, so the work space stays small.
    """
    n_fft, lo, hi, n_ring, n_pad = ints[0], ints[1], ints[2], ints[4], ints[5]
    n_bins = hi - lo
    taps = consts[_TAPS0 : _TAPS0 + HALFBAND_TAPS]
    h0 = n_pad * (n_ring - 1)
    hist16, pend8 = state[h0 : h0 + _HIST16], state[h0 + _HIST16 :]
    n_in = x16.shape[0]
    piece = min(n_in, _PIECE)
    even = np.empty(piece // 2 + _HIST16, np.float32)
    odd = np.empty(piece // 2 + _HIST16, np.float32)
    x8 = np.empty(n_fft + piece // 2 + 2, np.float32)
    m = n_fft // 2
    work = (np.empty(m * MAX_LANES, np.float32), np.empty(m * MAX_LANES, np.float32),
            np.empty(n_bins * MAX_LANES, np.float32),
            np.empty((n_ring - 1 + MAX_LANES, n_pad), np.float32),
            np.empty(n_pad, np.float32), np.empty(n_pad, np.float32),
            np.empty(MAX_LANES, np.float32))
    n_out = 0
    for p0 in range(0, n_in, _PIECE):
        np8 = istate[_NP8]
        x8[:np8] = pend8[:np8]
        n8 = _decimate_piece(x16[p0 : min(n_in, p0 + _PIECE)], hist16, taps, istate, even, odd,
                             x8, n_fft, ints[3] * FRAME_SAMPLES // 2)
        n_out = _spectra_and_decisions(x8, n8, state, fl, counters, istate, fstate, dstate,
                                       consts, ints, work, score_out, speech_out, n_out)
    return n_out


def _bin_power(dbfs: float, window: F32) -> float:
    """Mean power per bin of white noise with mean square ``dbfs`` at 16 kHz, after the
    half-band (half the power) and the window."""
    return 10 ** (dbfs / 10) / 2 * float(np.sum(window.astype(np.float64) ** 2))


def _noise_params(o: VadOptions, n_bins: int, window: F32) -> F32:
    hop_s = o.spectrum_hop_frames * FRAME_MS / 1000
    sub = max(1, round(o.floor_window_s / o.floor_sub_windows / hop_s))
    q, step = o.floor_quantile, o.floor_step_db
    p = np.zeros(vn.N_PARAMS, np.float32)
    p[vn.GAIN] = o.gain_snr_db
    p[vn.UP], p[vn.DOWN] = 10 ** (step * q / 10), 10 ** (-step * (1 - q) / 10)
    p[vn.UP_WARM], p[vn.DOWN_WARM] = 10 ** (4 * step * q / 10), 10 ** (-4 * step * (1 - q) / 10)
    p[vn.WARM_SPECTRA] = o.floor_warmup_spectra
    p[vn.MIN_POWER] = _bin_power(o.floor_min_dbfs, window)
    p[vn.START_POWER] = _bin_power(o.floor_start_dbfs, window)
    p[vn.SILENCE_POWER] = _bin_power(o.silence_dbfs, window)
    p[vn.LO_OVER_MIN] = 10 ** (o.floor_min_over_min_db / 10)
    p[vn.HI_OVER_MIN] = 10 ** (o.floor_max_over_min_db / 10)
    p[vn.LOWER_AFTER] = round(o.floor_start_s / hop_s)
    p[vn.INV_BINS] = 1.0 / n_bins
    p[vn.SUB_SPECTRA], p[vn.N_SUB] = sub, o.floor_sub_windows
    p[vn.SEED_FLATNESS] = o.seed_flatness
    return p


def _decision_params(o: VadOptions) -> F32:
    hop_s = o.spectrum_hop_frames * FRAME_MS / 1000
    p = np.zeros(vd.N_PARAMS, np.float32)
    p[vd.SEPARATION], p[vd.K_MIN], p[vd.K_MAX] = o.separation_gain, o.k_min, o.k_max
    p[vd.RELEASE], p[vd.HANG_FRAMES] = o.release_ratio, max(1, o.hangover_ms // FRAME_MS)
    p[vd.STEP], p[vd.DAMPING] = o.stats_step, o.stats_slowdown
    p[vd.MIN_SPREAD] = o.stats_min_spread
    p[vd.ANNEAL], p[vd.MAD_RATE] = o.stats_anneal, o.mad_rate
    p[vd.SPEECH_RATE] = o.speech_level_rate
    p[vd.SPEECH_PRIOR] = o.speech_level_prior
    # the floor's start-up ends after floor_start_s of spectra plus the smoothing look-ahead
    settled_s = o.floor_start_s + (o.smooth_spectra // 2 + 1) * hop_s
    p[vd.LEARN_AFTER] = round(settled_s * 1000 / FRAME_MS)
    p[vd.CAP_SPREADS] = o.stats_cap_spreads
    spectra = o.stats_window_s / hop_s
    p[vd.HIST_DECAY], p[vd.HIST_MIN] = 1.0 - 1.0 / spectra, spectra / 2
    p[vd.DAMPED_ANNEAL_MAX] = o.stats_anneal_speech_max
    p[vd.START_ONSET] = o.start_onset
    return p


@lru_cache(maxsize=8)
def _tables(o: VadOptions) -> tuple[F32, I64]:
    """Read-only tables shared by every stream with options ``o``: (floats, ints).

    floats: the noise and decision parameters, the half-band taps, the bin weights, the
    FFT tables; ints: the dimensions (FFT size, bins, hop, smoothing), the twiddle
    offsets, the bit reversal.
    """
    bin_hz = VAD_RATE_HZ / o.fft_size
    lo, hi = round(o.band_lo_hz / bin_hz), round(o.band_hi_hz / bin_hz)
    n_pad = -(-(hi - lo) // 16) * 16  # bins padded to whole 16-float vectors
    weight = (np.arange(n_pad) < hi - lo).astype(np.float32)
    floats, rev, offsets = fft_tables(o.fft_size)
    parts = (_noise_params(o, hi - lo, floats[: o.fft_size]), _decision_params(o), halfband_taps(),
             weight, floats)
    consts = np.concatenate(parts).astype(np.float32)
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
        if o.floor_sub_windows < 1:
            raise ValueError("floor_sub_windows must be >= 1")
        self.options = o
        self._consts, self._ints = _tables(o)
        n_pad = int(self._ints[5])
        # previous smooth_spectra - 1 spectra | 16 kHz history | pending 8 kHz samples
        self._state = np.zeros(n_pad * (o.smooth_spectra - 1) + _HIST16 + o.fft_size, np.float32)
        self._floor = np.empty((vn.floor_rows(o.floor_sub_windows), n_pad), np.float32)
        vn.init_floor(self._floor, float(self._consts[vn.START_POWER]))
        self._counters = np.zeros(vn.N_COUNTERS, np.int64)
        self._fstate = np.zeros(vd.N_FSTATE, np.float64)
        vd.init_state(self._fstate, self._consts[_DEC0:_TAPS0])
        self._dstate = np.zeros(vd.N_ISTATE, np.int64)
        hop8 = o.spectrum_hop_frames * FRAME_SAMPLES // 2
        self._istate = np.zeros(_N_ISTATE, np.int64)
        self._istate[_NH16] = (HALFBAND_TAPS - 1) // 2  # zeros: the filter's centre on sample 0
        self._istate[_SKIP] = max(0, hop8 // 2 - o.fft_size // 2)
        self._istate[_NP8] = max(0, o.fft_size // 2 - hop8 // 2)  # zeros: windows centre on frames
        self._frames_out = 0
        self._cap_extra = o.fft_size // (FRAME_SAMPLES // 2) + o.spectrum_hop_frames + 2
        hop_s = o.spectrum_hop_frames * FRAME_MS / 1000
        lookahead_s = o.fft_size / 2 / VAD_RATE_HZ + o.smooth_spectra // 2 * hop_s
        self.delay_frames = int(np.ceil(lookahead_s / (FRAME_MS / 1000))) + o.spectrum_hop_frames

    @property
    def frames_out(self) -> int:
        """Number of frames decided so far (the next result starts at this frame)."""
        return self._frames_out

    def process(self, x: F32) -> VadFrames:
        """Feed the next chunk (16 kHz float32); returns the frames decided by now."""
        x = np.ascontiguousarray(x, np.float32)
        cap = len(x) // FRAME_SAMPLES + self._cap_extra
        score, speech = np.empty(cap, np.float32), np.empty(cap, np.bool_)
        n = _vad_chunk(x, self._state, self._floor, self._counters, self._istate, self._fstate,
                       self._dstate, self._consts, self._ints, score, speech)
        first = self._frames_out
        self._frames_out += n
        return VadFrames(first, score[:n], speech[:n])
