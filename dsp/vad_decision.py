"""The VAD's frame decision: a threshold on the spectral score from the score's own statistics.

Noise statistics: an online median and 16th percentile of the score (quantile trackers
with steps scaled by its mean absolute deviation; frames that look like speech move them
``damping`` times as fast). The speech level is the median score while in speech. The
onset threshold is ``median + k * spread`` with ``k`` growing with the speech-to-noise
separation (clipped to [k_min, k_max]); hysteresis (release at ``release_ratio`` of the
margin) and a hangover close speech.

Dense conversation: with speech 80-90 % of the time even damped updates would drag the
median into speech (the threshold then climbs above typical speech and the detector goes
deaf). So the median is capped by the score's *distribution*: a histogram of
``log(score + 0.1)`` over the last ~10 s is split in two by Otsu's method, and the median
may not exceed the lower class's mean plus ``cap_spreads`` of its deviations. Pauses form
that lower class however rare they are; a noise without speech (music, babble) spreads
over the whole histogram and lifts the cap with it.

Stream start: decisions from the first frame on the priors (noise scores ~0, speech
~``speech_prior``), with the onset at least ``start_onset`` until the floor has settled
(``learn_after`` frames): scores taken against the floor's prior only trust clear
speech, and teach nothing.
Digital silence (score -1) is never speech and counts as a score of 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# params slots
SEPARATION, K_MIN, K_MAX, RELEASE, HANG_FRAMES, STEP, DAMPING, MIN_SPREAD = 0, 1, 2, 3, 4, 5, 6, 7
ANNEAL, MAD_RATE, SPEECH_RATE, SPEECH_PRIOR, LEARN_AFTER, CAP_SPREADS = 8, 9, 10, 11, 12, 13
HIST_DECAY, HIST_MIN, DAMPED_ANNEAL_MAX, START_ONSET = 14, 15, 16, 17
N_PARAMS = 18
# float state: noise median, 16th percentile, mean absolute deviation, speech level, the
# median's cap, then the histogram of log(score + LOG_OFFSET)
Q50, Q16, MAD, SP, CAP, HIST = 0, 1, 2, 3, 4, 5
N_BINS = 32
N_FSTATE = HIST + N_BINS
LOG_OFFSET, LOG_TOP = 0.1, 64.0
CAP_EVERY = 5
# int state: frames decided (not counting digital silence), in speech, hangover left
FRAMES, SPEECH, HANG = 0, 1, 2
N_ISTATE = 3


def init_state(fstate: F64, params: F32) -> None:
    """Priors before the first frame: noise scores ~0, speech ``speech_prior``; no cap."""
    fstate[:] = 0.0
    fstate[MAD] = params[MIN_SPREAD]
    fstate[SP] = params[SPEECH_PRIOR]
    fstate[CAP] = np.inf


@njit(cache=True, error_model="numpy")
def _otsu_cap(hist: F64, z: float, update: bool, cap: float, params: F32) -> float:
    """Add ``z`` to the decaying histogram; with ``update``, return the new cap on the noise
    median (inf until the histogram holds ``hist_min`` spectra), else ``cap`` unchanged."""
    z0, z1 = np.log(LOG_OFFSET), np.log(LOG_OFFSET + LOG_TOP)
    width = (z1 - z0) / N_BINS
    hist *= params[HIST_DECAY]
    hist[min(N_BINS - 1, max(0, int((z - z0) / width)))] += 1.0
    if not update:
        return cap
    total, moment = 0.0, 0.0
    for b in range(N_BINS):
        total += hist[b]
        moment += hist[b] * (z0 + (b + 0.5) * width)
    if total < params[HIST_MIN]:
        return np.inf
    best, split, w0, m0 = -1.0, 1, 0.0, 0.0
    for b in range(1, N_BINS):  # Otsu: the split with the largest between-class variance
        w0 += hist[b - 1]
        m0 += hist[b - 1] * (z0 + (b - 0.5) * width)
        if 0.0 < w0 < total:
            d = m0 / w0 - (moment - m0) / (total - w0)
            between = w0 * (total - w0) * d * d
            if between > best:
                best, split = between, b
    w, m, v = 0.0, 0.0, 0.0
    for b in range(split):
        w += hist[b]
        m += hist[b] * (z0 + (b + 0.5) * width)
    m /= max(w, 1e-12)
    for b in range(split):
        v += hist[b] * (z0 + (b + 0.5) * width - m) ** 2
    sd = np.sqrt(v / max(w, 1e-12) + width * width / 12.0)
    return float(np.exp(m + params[CAP_SPREADS] * sd) - LOG_OFFSET)


@njit(cache=True, error_model="numpy")
def decide(scores: F32, hop_frames: int, fstate: F64, istate: I64, params: F32, score_out: F32,
           speech_out: npt.NDArray[np.bool_], n_out: int) -> int:
    """Decide ``hop_frames`` frames per score; appends to ``score_out``/``speech_out`` from
    ``n_out`` and returns the new count. The state lives in locals for the whole call (a
    serial chain: through memory every frame it cost twice as much).
    """
    alpha, k_min, k_max = params[SEPARATION], params[K_MIN], params[K_MAX]
    release = params[RELEASE]
    hang_frames, eta = int(params[HANG_FRAMES]), params[STEP]
    slow, s_min = params[DAMPING], params[MIN_SPREAD]
    anneal, mad_rate, sp_rate = params[ANNEAL], params[MAD_RATE], params[SPEECH_RATE]
    learn_after, a_max = int(params[LEARN_AFTER]), params[DAMPED_ANNEAL_MAX]
    start_on = params[START_ONSET]
    hist = fstate[HIST:]
    q50, q16, mad, sp, cap = fstate[Q50], fstate[Q16], fstate[MAD], fstate[SP], fstate[CAP]
    frames, speech, hang = istate[FRAMES], istate[SPEECH], istate[HANG]
    for j in range(scores.shape[0]):
        raw = np.float64(scores[j])
        silent = raw < 0.0
        x = max(raw, 0.0)
        t = frames - learn_after
        if t >= 0:  # the split moves slowly: redone every CAP_EVERY spectra
            update = (t // hop_frames) % CAP_EVERY == 0
            cap = _otsu_cap(hist, np.log(x + LOG_OFFSET), update, cap, params)
        for h in range(hop_frames):
            i = n_out + j * hop_frames + h
            score_out[i] = x
            spread = max(q50 - q16, s_min)
            k = min(max(alpha * (sp - q50) / spread, k_min), k_max)
            on = q50 + k * spread
            if frames < learn_after:  # the floor is still the prior: only clear speech
                on = max(on, start_on)
            if silent:
                speech = 0
            elif speech == 1:
                if x > q50 + release * k * spread:
                    hang = hang_frames
                else:
                    hang -= 1
                    if hang <= 0:
                        speech = 0
            elif x > on:
                speech = 1
                hang = hang_frames
            speech_out[i] = speech == 1
            t = frames - learn_after
            frames += 0 if silent else 1
            if t < 0:
                continue
            mad += mad_rate * (abs(x - q50) - mad)
            step = max(mad, s_min)
            damped = x > on or speech == 1  # likely speech: barely moves the noise statistics
            a = anneal / (t + anneal)  # fast early learning, but not from likely speech
            e = (slow * max(eta, min(a, a_max)) if damped else max(eta, a)) * step
            q50_new = q50 + e * (0.5 - (1.0 if x < q50 else 0.0))
            q16 = q16 + e * (0.16 - (1.0 if x < q16 else 0.0))
            if speech == 1:
                sp = sp + sp_rate * step * (0.5 - (1.0 if x < sp else 0.0))
            q50 = min(q50_new, cap)
            q16 = min(q16, q50)
    fstate[Q50], fstate[Q16], fstate[MAD], fstate[SP], fstate[CAP] = q50, q16, mad, sp, cap
    istate[FRAMES], istate[SPEECH], istate[HANG] = frames, speech, hang
    return int(n_out + scores.shape[0] * hop_frames)
