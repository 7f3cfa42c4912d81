"""Half-band decimation and batched short-time power spectra, as numba kernels.

Decimation (16 -> 8 kHz): the 31-tap half-band has 8 symmetric pairs of non-zero taps
plus the centre, so the stream is split once into its even and odd samples and every
output costs 8 adds and 9 multiply-adds in one SIMD loop (the pair count is a literal, so
LLVM unrolls it and vectorises over outputs).

numba has no FFT, so spectra come from a radix-2 real FFT (an N/2-point complex FFT plus
the usual split) batched across frames: the windowed frames are laid out *lane-major*
(row = FFT index, lane = frame) in flat arrays, and every butterfly pass is one long
contiguous loop over a block of rows x lanes. The twiddles are stored expanded (each one
repeated per lane) so that loop needs no per-row setup; stages 2 and 4 (twiddles 1 and
-j) are one multiply-free radix-4 pass, the rest are fused in pairs. Tables are built
once per (FFT size, lane count) and shared.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
HALFBAND_TAPS = 31
LANE_WIDTHS = (8, 16, 32)  # frames per FFT batch, padded up to one of these
MAX_LANES = LANE_WIDTHS[-1]


def halfband_taps(beta: float = 7.0) -> F32:
    """Kaiser-windowed 31-tap half-band low-pass (cutoff fs/4); odd taps off centre are zero."""
    t = np.arange(HALFBAND_TAPS) - (HALFBAND_TAPS - 1) // 2
    h = 0.5 * np.sinc(0.5 * t) * np.kaiser(HALFBAND_TAPS, beta)
    taps: F32 = (h / h.sum()).astype(np.float32)
    return taps


@njit(cache=True, fastmath=True, error_model="numpy")
def deinterleave(x: F32, even: F32, odd: F32) -> None:
    """``even[i] = x[2i]``, ``odd[i] = x[2i + 1]`` for ``i < len(x) // 2`` (views in, views out)."""
    for i in range(x.shape[0] // 2):
        even[i] = x[2 * i]
        odd[i] = x[2 * i + 1]


@njit(cache=True, fastmath=True, error_model="numpy")
def halfband(even: F32, odd: F32, taps: F32, out: F32) -> None:
    """``out[m] = sum_k taps[k] * x[2m + k]`` for the 31-tap half-band, from x's two phases.

    ``even``/``odd`` hold ``x[2i]``/``x[2i + 1]``; they need ``len(out) + 15`` and
    ``len(out) + 7`` samples. Taps are symmetric, so ``taps[2j]`` multiplies the pair
    ``even[m + j] + even[m + 15 - j]``.
    """
    c = taps[15]
    for m in range(out.shape[0]):
        acc = c * odd[m + 7]
        for j in range(8):  # literal trip count: unrolled, SIMD over m
            acc += taps[2 * j] * (even[m + j] + even[m + 15 - j])
        out[m] = acc


def decimate2(buf16: F32, taps: F32) -> F32:
    """Half-band decimation by 2 of a whole buffer (30 samples of history first).

    ``out[m] = sum_k taps[k] * buf16[2m + 30 - k]``; ``taps`` from ``halfband_taps``.
    """
    if len(taps) != HALFBAND_TAPS:
        raise ValueError("decimate2 takes the 31-tap half-band of halfband_taps()")
    x = np.ascontiguousarray(buf16, np.float32)
    n_out = max(0, (len(x) - HALFBAND_TAPS + 2) // 2)
    even = np.empty((len(x) + 1) // 2, np.float32)
    odd = np.empty(len(x) // 2 + 1, np.float32)
    deinterleave(x, even, odd)
    if len(x) % 2:
        even[-1] = x[-1]
    out = np.empty(n_out, np.float32)
    halfband(even, odd, np.ascontiguousarray(taps, np.float32), out)
    return out


def _bit_reverse(n: int) -> I64:
    bits = n.bit_length() - 1
    return np.array(
        [int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)], np.int64
    )


def twiddles(m: int, lanes: int) -> tuple[F32, F32]:
    """Twiddles of the passes after the radix-4 one, in kernel order, each repeated ``lanes`` times.

    Per fused pair at span ``size`` (8, 32, ...): ``W1[k]``, ``Wa[k]``, ``Wb[k]`` for
    ``k < size / 2``; then, if one stage is left (span ``m``), ``W[k]`` for ``k < m / 2``.
    """
    w = np.exp(-2j * np.pi * np.arange(m) / m)
    parts = []
    size = 8
    while 2 * size <= m:
        k = np.arange(size // 2)
        parts += [
            w[k * (m // size)],
            w[k * (m // (2 * size))],
            w[(k + size // 2) * (m // (2 * size))],
        ]
        size *= 4
    if size == m:
        parts.append(w[: m // 2])
    tw = np.repeat(np.concatenate(parts) if parts else np.zeros(0, complex), lanes)
    return tw.real.astype(np.float32), tw.imag.astype(np.float32)


@lru_cache(maxsize=8)
def fft_tables(fft_size: int) -> tuple[F32, I64, I64]:
    """Shared read-only tables for ``fft_size``: one float32 array and two int64 arrays.

    floats: Hann window (N), split twiddles cos/sin(-pi k / m) (m each), then the expanded
    twiddles (re, im) for every width of ``LANE_WIDTHS``; ints: the bit reversal of m; the
    offsets of the expanded twiddles per width (re at ``off``, im at ``off + size``; size
    last).
    """
    if fft_size & (fft_size - 1) or fft_size < 8:
        raise ValueError("fft_size must be a power of two >= 8")
    m = fft_size // 2
    k = np.arange(m)
    parts = [np.hanning(fft_size + 2)[1:-1], np.cos(-np.pi * k / m), np.sin(-np.pi * k / m)]
    offsets = []
    pos = fft_size + 2 * m
    for lanes in LANE_WIDTHS:
        twr, twi = twiddles(m, lanes)
        offsets.append(pos)
        parts += [twr, twi]
        pos += 2 * len(twr)
    offsets.append(len(twr) // MAX_LANES)  # expanded rows per lane width
    floats = np.concatenate(parts).astype(np.float32)
    floats.flags.writeable = False
    return floats, _bit_reverse(m), np.array(offsets, np.int64)


@njit(cache=True, fastmath=True, error_model="numpy")
def _gather(x: F32, start: int, hop: int, n_frames: int, win: F32, rev: I64, re: F32, im: F32,
            lanes: int) -> None:
    """Windowed frames ``x[start + f*hop ...]`` into bit-reversed rows of (re, im), lane = frame.

    Even samples are the real parts, odd ones the imaginary parts (the real-FFT packing).
    Frame by frame, rows in order (the bit reversal is on the reads, inside one frame in
    L1): the fastest order measured in the pipeline. Lanes past ``n_frames`` are zeroed.
    """
    m = win.shape[0] // 2
    if n_frames < lanes:
        re[: m * lanes] = 0.0
        im[: m * lanes] = 0.0
    for f in range(n_frames):
        src = x[start + f * hop :]
        for r in range(m):
            i = rev[r]
            re[r * lanes + f] = win[2 * i] * src[2 * i]
            im[r * lanes + f] = win[2 * i + 1] * src[2 * i + 1]


@njit(cache=True, fastmath=True, error_model="numpy")
def _radix4_trivial(re: F32, im: F32, m: int, lanes: int) -> None:
    """Stages 2 and 4 of the DIT FFT in one pass: their twiddles are 1 and -j.

    Each block of 4 rows is one view indexed at ``j + c*n``: LLVM then checks aliasing
    once per block against ``n`` instead of pairwise between 8 row views (3x faster here).
    """
    n = lanes
    for s in range(0, m * lanes, 4 * n):
        r, i = re[s : s + 4 * n], im[s : s + 4 * n]
        for j in range(n):
            b, c, d = j + n, j + 2 * n, j + 3 * n
            ar, ai, br, bi = r[j] + r[b], i[j] + i[b], r[j] - r[b], i[j] - i[b]
            cr, ci, dr, di = r[c] + r[d], i[c] + i[d], r[c] - r[d], i[c] - i[d]
            r[j], i[j], r[c], i[c] = ar + cr, ai + ci, ar - cr, ai - ci
            r[b], i[b], r[d], i[d] = br + di, bi - dr, br - di, bi + dr


@njit(cache=True, fastmath=True, error_model="numpy")
def _pair(re: F32, im: F32, twr: F32, twi: F32, m: int, lanes: int, size: int) -> None:
    """Stages ``size`` and ``2*size`` fused (radix-2^2); ``twr``/``twi``: this pass's W1, Wa, Wb."""
    n = size // 2 * lanes
    w1r, w1i, war, wai = twr[:n], twi[:n], twr[n : 2 * n], twi[n : 2 * n]
    wbr, wbi = twr[2 * n : 3 * n], twi[2 * n : 3 * n]
    for s in range(0, m * lanes, 4 * n):
        ra, rb, rc, rd = (
            re[s : s + n],
            re[s + n : s + 2 * n],
            re[s + 2 * n : s + 3 * n],
            re[s + 3 * n : s + 4 * n],
        )
        ia, ib, ic, id_ = (
            im[s : s + n],
            im[s + n : s + 2 * n],
            im[s + 2 * n : s + 3 * n],
            im[s + 3 * n : s + 4 * n],
        )
        for j in range(n):
            tr = rb[j] * w1r[j] - ib[j] * w1i[j]
            ti = rb[j] * w1i[j] + ib[j] * w1r[j]
            ar, ai, br, bi = ra[j] + tr, ia[j] + ti, ra[j] - tr, ia[j] - ti
            tr = rd[j] * w1r[j] - id_[j] * w1i[j]
            ti = rd[j] * w1i[j] + id_[j] * w1r[j]
            cr, ci, dr, di = rc[j] + tr, ic[j] + ti, rc[j] - tr, ic[j] - ti
            tr, ti = cr * war[j] - ci * wai[j], cr * wai[j] + ci * war[j]
            ra[j], ia[j], rc[j], ic[j] = ar + tr, ai + ti, ar - tr, ai - ti
            tr, ti = dr * wbr[j] - di * wbi[j], dr * wbi[j] + di * wbr[j]
            rb[j], ib[j], rd[j], id_[j] = br + tr, bi + ti, br - tr, bi - ti


@njit(cache=True, fastmath=True, error_model="numpy")
def _last_stage(re: F32, im: F32, twr: F32, twi: F32, m: int, lanes: int) -> None:
    """The final radix-2 stage (span ``m``) when the stage count after radix-4 is odd."""
    n = m // 2 * lanes
    ra, rb, ia, ib = re[:n], re[n : 2 * n], im[:n], im[n : 2 * n]
    for j in range(n):
        xr = rb[j] * twr[j] - ib[j] * twi[j]
        xi = rb[j] * twi[j] + ib[j] * twr[j]
        rb[j] = ra[j] - xr
        ib[j] = ia[j] - xi
        ra[j] += xr
        ia[j] += xi


@njit(cache=True, fastmath=True, error_model="numpy")
def fft_lanes(re: F32, im: F32, twr: F32, twi: F32, m: int, lanes: int) -> None:
    """In-place m-point complex DIT FFT of every lane (input bit-reversed, output natural)."""
    _radix4_trivial(re, im, m, lanes)
    size, t = 8, 0
    while 2 * size <= m:
        n = 3 * (size // 2) * lanes
        _pair(re, im, twr[t : t + n], twi[t : t + n], m, lanes, size)
        t += n
        size *= 4
    if size == m:
        _last_stage(re, im, twr[t:], twi[t:], m, lanes)


@njit(cache=True, fastmath=True, error_model="numpy")
def split_power(re: F32, im: F32, ur: F32, ui: F32, lo: int, hi: int, lanes: int, n_frames: int,
                scratch: F32, out: F32, eps: float) -> None:
    """Real-FFT split: power of bins ``lo..hi-1`` plus ``eps``, one row per frame in ``out``.

    The split runs over lanes into ``scratch`` (bins x lanes); one transposing copy then
    gives ``out[f, k - lo]`` (the scoring runs along the bins of one frame).
    """
    m = ur.shape[0]
    for k in range(lo, hi):
        k2 = (m - k) % m
        c, s_ = ur[k], ui[k]
        rk, ik = re[k * lanes : (k + 1) * lanes], im[k * lanes : (k + 1) * lanes]
        rk2, ik2 = re[k2 * lanes : (k2 + 1) * lanes], im[k2 * lanes : (k2 + 1) * lanes]
        dst = scratch[(k - lo) * lanes : (k - lo + 1) * lanes]
        for f in range(lanes):
            er = rk[f] + rk2[f]
            ei = ik[f] - ik2[f]
            orr = ik[f] + ik2[f]
            oi = rk2[f] - rk[f]
            tr = orr * c - oi * s_
            ti = orr * s_ + oi * c
            dst[f] = 0.25 * ((er + tr) ** 2 + (ei + ti) ** 2) + eps
    for k in range(hi - lo):
        src = scratch[k * lanes : (k + 1) * lanes]
        for f in range(n_frames):
            out[f, k] = src[f]


@njit(cache=True, fastmath=True, error_model="numpy")
def _power_lanes(
    x: F32,
    start: int,
    hop: int,
    floats: F32,
    rev: I64,
    offsets: I64,
    lo: int,
    hi: int,
    re: F32,
    im: F32,
    scratch: F32,
    out: F32,
    eps: float,
    lanes: int,
    width: int,
) -> None:
    m = rev.shape[0]
    n_tw = offsets[3] * lanes
    twr = floats[offsets[width] : offsets[width] + n_tw]
    twi = floats[offsets[width] + n_tw : offsets[width] + 2 * n_tw]
    _gather(x, start, hop, out.shape[0], floats[: 2 * m], rev, re, im, lanes)
    fft_lanes(re, im, twr, twi, m, lanes)
    split_power(re, im, floats[2 * m : 3 * m], floats[3 * m : 4 * m], lo, hi, lanes, out.shape[0],
                scratch, out, eps)


@njit(cache=True, fastmath=True, error_model="numpy")
def power_frames(
    x: F32,
    start: int,
    hop: int,
    floats: F32,
    rev: I64,
    offsets: I64,
    lo: int,
    hi: int,
    re: F32,
    im: F32,
    scratch: F32,
    out: F32,
    eps: float,
) -> None:
    """Power spectra of ``out.shape[0]`` (1..32) frames ``x[start + f*hop : ... + N]`` into ``out``.

    ``floats``/``rev``/``offsets`` from ``fft_tables``; ``re``/``im`` (m x 32) and
    ``scratch`` ((hi - lo) x 32) are work space. The lane width is passed as a literal
    per branch so LLVM compiles each width with constant trip counts (~25 % faster).
    """
    n = out.shape[0]
    if n > 16:
        _power_lanes(x, start, hop, floats, rev, offsets, lo, hi, re, im, scratch, out, eps, 32, 2)
    elif n > 8:
        _power_lanes(x, start, hop, floats, rev, offsets, lo, hi, re, im, scratch, out, eps, 16, 1)
    else:
        _power_lanes(x, start, hop, floats, rev, offsets, lo, hi, re, im, scratch, out, eps, 8, 0)


class PowerSpectrum:
    """Hann-windowed power spectra of ``fft_size`` samples, bins ``lo_bin..hi_bin-1``.

    ``hi_bin`` may be at most ``fft_size // 2``.
    """

    def __init__(self, fft_size: int, lo_bin: int, hi_bin: int) -> None:
        if not 0 <= lo_bin < hi_bin <= fft_size // 2:
            raise ValueError("need 0 <= lo_bin < hi_bin <= fft_size // 2")
        self.fft_size, self.lo_bin, self.hi_bin = fft_size, lo_bin, hi_bin
        self._floats, self._rev, self._offsets = fft_tables(fft_size)
        self.window = self._floats[:fft_size]

    @property
    def n_bins(self) -> int:
        return self.hi_bin - self.lo_bin

    def frames(self, x: F32, start: int, hop: int, n_frames: int) -> F32:
        """Power spectra, shape (n_frames, n_bins), of frames starting at ``start + f*hop``."""
        out = np.empty((n_frames, self.n_bins), np.float32)
        if n_frames and (start < 0 or start + (n_frames - 1) * hop + self.fft_size > len(x)):
            raise ValueError("frames run past the signal")
        x = np.ascontiguousarray(x, np.float32)
        m = self.fft_size // 2
        re, im = np.empty(m * MAX_LANES, np.float32), np.empty(m * MAX_LANES, np.float32)
        scratch = np.empty(self.n_bins * MAX_LANES, np.float32)
        for f0 in range(0, n_frames, MAX_LANES):
            power_frames(
                x,
                start + f0 * hop,
                hop,
                self._floats,
                self._rev,
                self._offsets,
                self.lo_bin,
                self.hi_bin,
                re,
                im,
                scratch,
                out[f0 : f0 + MAX_LANES],
                0.0,
            )
        return out
