"""The VAD's per-bin noise floor and spectral score, as one numba kernel per spectrum.

The floor of every bin is an online low quantile of the smoothed power (multiplicative
steps in the power domain), held inside a band around the bin's *minimum* over the last
``n_sub x sub_spectra`` spectra (minimum statistics, ~5 s):

- at most ``max_over_min`` above that minimum, so continuous conversation, whose pauses
  set the minimum, cannot lift the floor into speech the way a quantile alone drifts up
  when speech fills most of the time;
- at least ``min_over_min`` of it once the window has filled, so a floor seeded low (a
  quiet start, a louder noise arriving) catches up within one window instead of rising a
  fraction of a dB per second.

Stream start: the floor starts from an absolute prior (``start_dbfs``, a quiet room) and
never goes below ``min_dbfs``, so speech that is already going on when the stream opens
scores from the first spectrum. Digital silence (smoothed power below ``silence_dbfs``:
zeros, dither, a codec starting) carries no information about the floor and updates
nothing. Levels in dBFS are those of white noise of that mean square at 16 kHz.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from dsp.spectrum import MAX_LANES

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# params slots
GAIN, UP, DOWN, UP_WARM, DOWN_WARM, WARM_SPECTRA = 0, 1, 2, 3, 4, 5
MIN_POWER, START_POWER, SILENCE_POWER, LO_OVER_MIN, HI_OVER_MIN, LOWER_AFTER = 6, 7, 8, 9, 10, 11
INV_BINS, SUB_SPECTRA, N_SUB, SEED_FLATNESS = 12, 13, 14, 15
N_PARAMS = 16
# floor rows: the quantile floor, the running minimum of the current sub-window, the
# minimum over the finished sub-windows, then the ring of those sub-window minima
ROW_Q, ROW_CUR, ROW_MIN, ROW_RING = 0, 1, 2, 3
# counters (int64): spectra seen, informative spectra, spectra in the current sub-window,
# next ring slot
SEEN, INFO, SUB_COUNT, RING_POS = 0, 1, 2, 3
N_COUNTERS = 4
BIG = np.float32(3.0e38)


def floor_rows(n_sub: int) -> int:
    """Rows of the floor state for a ring of ``n_sub`` sub-window minima."""
    return ROW_RING + n_sub


def init_floor(fl: F32, start_power: float) -> None:
    """Fresh floor state: the prior in the quantile row, "no minimum yet" elsewhere."""
    fl[ROW_Q] = start_power
    fl[ROW_CUR:] = BIG


@njit(cache=True, fastmath=True, error_model="numpy")
def _push_sub_window(fl: F32, counters: I64, n_sub: int) -> None:
    """Close the current sub-window: its minima enter the ring, the ring minimum is redone."""
    n_pad = fl.shape[1]
    slot = ROW_RING + counters[RING_POS]
    counters[RING_POS] = (counters[RING_POS] + 1) % n_sub
    fl[slot] = fl[ROW_CUR]
    mn = fl[ROW_MIN]
    mn[:] = fl[ROW_RING]
    for r in range(ROW_RING + 1, ROW_RING + n_sub):
        row = fl[r]
        for k in range(n_pad):
            mn[k] = min(mn[k], row[k])
    fl[ROW_CUR] = BIG
    counters[SUB_COUNT] = 0


@njit(cache=True, fastmath=True, error_model="numpy")
def _flatness(power: F32, weight: F32, total: float) -> float:
    """Spectral flatness (geometric over arithmetic mean) of the weighted bins: ~0.56 for
    one spectrum of white noise, ~0.05 for voiced speech."""
    n, acc = np.float32(0.0), np.float32(0.0)
    for k in range(power.shape[0]):
        acc += weight[k] * np.log(power[k])
        n += weight[k]
    return float(np.exp(acc / n) / (total / n))


@njit(cache=True, fastmath=True, error_model="numpy")
def _seed(q: F32, power: F32, weight: F32, p_min: float) -> None:
    """The floor from one noise spectrum: a 9-bin moving average (a single spectrum
    scatters +-5 dB per bin), 1.5 dB down to sit near the low quantile."""
    n = q.shape[0]
    for k in range(n):
        acc, w = np.float32(0.0), np.float32(0.0)
        for j in range(max(0, k - 4), min(n, k + 5)):
            acc += weight[j] * power[j]
            w += weight[j]
        q[k] = max(np.float32(0.7) * acc / max(w, np.float32(1.0)), np.float32(p_min))


@njit(cache=True, fastmath=True, error_model="numpy")
def score_spectrum(spec: F32, f: int, fl: F32, counters: I64, smooth: F32, ratio: F32,
                   weight: F32, params: F32) -> float:
    """Score spectrum ``f`` of a batch and move the floor one step.

    ``spec`` rows are the previous ``n_ring - 1`` spectra, then the batch; the smoothed
    power is the mean of rows ``f .. f + n_ring - 1`` (fewer at stream start). Score: mean
    over bins of the dB excess of the smoothed power over (floor + gain), floored at 0;
    the log comes from the float32 bit pattern (within 0.3 dB), which vectorises. Rows are
    padded to whole SIMD vectors of bins (``weight`` 0). Digital silence -- in the
    smoothed power or in the spectrum's own window -- leaves the floor alone and returns
    -1 (never speech: it also trims the smoothing's spill into silent gaps).
    """
    n_pad = fl.shape[1]
    n_ring = spec.shape[0] - MAX_LANES + 1
    seen = counters[SEEN]
    counters[SEEN] = seen + 1
    smooth[:] = spec[f]
    for r in range(1, n_ring):
        row = spec[f + r]
        for k in range(n_pad):
            smooth[k] += row[k]
    inv = np.float32(1.0 / min(seen + 1, n_ring))
    centre = spec[f + n_ring // 2]
    total, own = np.float32(0.0), np.float32(0.0)
    for k in range(n_pad):
        smooth[k] *= inv
        total += weight[k] * smooth[k]
        own += weight[k] * centre[k]
    if seen < n_ring // 2 or min(total, own) * params[INV_BINS] < params[SILENCE_POWER]:
        return -1.0  # the first spectra (windows half in the start padding) or silence
    info = counters[INFO]
    counters[INFO] = info + 1
    if info == 0 and _flatness(smooth, weight, float(total)) >= params[SEED_FLATNESS]:
        _seed(fl[ROW_Q], smooth, weight, float(params[MIN_POWER]))  # a flat start is noise
    warm = info < params[WARM_SPECTRA]
    up = params[UP_WARM] if warm else params[UP]
    down = params[DOWN_WARM] if warm else params[DOWN]
    lo = params[LO_OVER_MIN] if info >= params[LOWER_AFTER] else np.float32(0.0)
    hi, p_min, gain = params[HI_OVER_MIN], params[MIN_POWER], params[GAIN]
    q, cur, mn = fl[ROW_Q], fl[ROW_CUR], fl[ROW_MIN]
    bits = ratio.view(np.int32)
    score = np.float32(0.0)
    for k in range(n_pad):
        s = smooth[k]
        fk = q[k]
        ratio[k] = s / fk
        c = min(cur[k], s)
        cur[k] = c
        m = min(mn[k], c)
        fk = fk * (up if s > fk else down)
        q[k] = max(min(max(fk, lo * m), hi * m), p_min)
        d = (np.float32(bits[k]) * np.float32(1.0 / 8388608.0) - np.float32(126.94269504)) \
            * np.float32(3.0103) - gain
        score += weight[k] * (d if d > 0 else np.float32(0.0))
    counters[SUB_COUNT] += 1
    if counters[SUB_COUNT] >= params[SUB_SPECTRA]:
        _push_sub_window(fl, counters, int(params[N_SUB]))
    return float(score * params[INV_BINS])
