"""Batched short-time power spectra and a half-band decimator, as numba kernels.

numba has no FFT, so this is a radix-2 real FFT (an N/2-point complex FFT plus the
usual split) whose innermost loop runs over *frames*: a chunk of frames is transformed
together, and every butterfly is a contiguous, SIMD-friendly loop. Tables (bit reversal,
twiddles, window) are computed once per ``PowerSpectrum``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def halfband_taps(n_taps: int = 31, beta: float = 7.0) -> F32:
    """Kaiser-windowed half-band low-pass (cutoff fs/4); odd taps off centre are zero."""
    t = np.arange(n_taps) - (n_taps - 1) // 2
    h = 0.5 * np.sinc(0.5 * t) * np.kaiser(n_taps, beta)
    return (h / h.sum()).astype(np.float32)


@njit(cache=True, fastmath=True, error_model="numpy")
def decimate_into(buf16: F32, taps: F32, out: F32, offset: int) -> int:
    """Half-band decimation by 2 of ``buf16`` into ``out[offset:]``; returns the count.

    ``out[offset + m] = sum_k taps[k] * buf16[2m + n_taps - 1 - k]``: ``buf16`` starts with
    ``n_taps - 1`` samples of history. Per block of 256 outputs the even and odd phases are
    split into small contiguous arrays; with half-band taps (odd taps zero except the
    centre) each output then costs ``n_taps // 2 + 2`` multiply-adds in SIMD loops whose
    indices are all ``m + j`` (no negative-index checks).
    """
    n_taps = taps.shape[0]
    half = (n_taps - 1) // 2
    n_out = (buf16.shape[0] - n_taps + 2) // 2
    if n_out <= 0:
        return 0
    n_even = n_out + half + 1
    even = np.zeros(n_even, np.float32)
    odd = np.zeros(n_even, np.float32)
    n_pairs = min(n_even, buf16.shape[0] // 2)
    for i in range(n_pairs):
        even[i] = buf16[2 * i]
    for i in range(n_pairs):
        odd[i] = buf16[2 * i + 1]
    if n_pairs < n_even and 2 * n_pairs < buf16.shape[0]:
        even[n_pairs] = buf16[2 * n_pairs]
    centre = taps[half]
    c_off = (half - 1) // 2
    for b0 in range(0, n_out, 256):  # blocks keep the working set in L1
        nb = min(256, n_out - b0)
        dst = out[offset + b0 : offset + b0 + nb]  # views: indices below are m + j >= 0
        src_odd = odd[b0 + c_off :]
        src_even = even[b0:]
        for m in range(nb):
            dst[m] = centre * src_odd[m]
        for j in range(half + 1):
            h = taps[n_taps - 1 - 2 * j]
            for m in range(nb):
                dst[m] += h * src_even[m + j]
    return n_out


@njit(cache=True)
def simd_lanes(n_frames: int) -> int:
    """Frames padded up to a multiple of 8 (AVX width) once there are at least 8."""
    return n_frames if n_frames < 8 else (n_frames + 7) // 8 * 8


def _bit_reverse(n: int) -> I64:
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)], np.int64)


@njit(cache=True, fastmath=True, error_model="numpy")
def _gather(x: F32, start: int, hop: int, win: F32, rev: I64, re: F32, im: F32,
            n_frames: int) -> None:
    """Windowed frames into bit-reversed (re, im) rows, frames along the rows.

    ``x`` is first laid out as ``blocks[j, b] = x[start + b*hop + j]`` so that sample ``i`` of
    every frame is one contiguous row slice (needs ``len(win) <= 2 * hop``). Lanes past
    ``n_frames`` (padding to a SIMD-friendly width) are zeros.
    """
    lanes = re.shape[1]
    rows = min(hop, win.shape[0])  # a window shorter than the hop needs only its rows
    blocks = np.zeros((rows, lanes + 1), np.float32)
    n_blocks = n_frames + 1
    for b in range(n_blocks):
        seg = x[start + b * hop : start + b * hop + rows]
        for j in range(seg.shape[0]):
            blocks[j, b] = seg[j]
    for i in range(win.shape[0] // 2):
        r = rev[i]
        i0 = 2 * i
        src0 = blocks[i0 % rows, i0 // rows :]
        src1 = blocks[(i0 + 1) % rows, (i0 + 1) // rows :]
        w0 = win[i0]
        w1 = win[i0 + 1]
        dst_re = re[r]
        dst_im = im[r]
        for f in range(lanes):
            dst_re[f] = src0[f] * w0
            dst_im[f] = src1[f] * w1


@njit(cache=True, fastmath=True, error_model="numpy")
def _stage(re: F32, im: F32, twr: F32, twi: F32, size: int) -> None:
    """One radix-2 decimation-in-time stage of butterfly span ``size``."""
    m, lanes = re.shape
    half = size // 2
    step = m // size
    for s in range(0, m, size):
        for k in range(half):
            wr, wi = twr[k * step], twi[k * step]
            a, b = s + k, s + k + half
            for f in range(lanes):
                xr = re[b, f] * wr - im[b, f] * wi
                xi = re[b, f] * wi + im[b, f] * wr
                re[b, f] = re[a, f] - xr
                im[b, f] = im[a, f] - xi
                re[a, f] += xr
                im[a, f] += xi


@njit(cache=True, fastmath=True, error_model="numpy")
def _stage_pair(re: F32, im: F32, twr: F32, twi: F32, size: int) -> None:
    """Stages ``size`` and ``2*size`` fused (radix-2^2): four rows per pass through memory."""
    m, lanes = re.shape
    h = size // 2
    s1, s2 = m // size, m // (2 * size)
    for s in range(0, m, 2 * size):
        for k in range(h):
            w1r, w1i = twr[k * s1], twi[k * s1]
            war, wai = twr[k * s2], twi[k * s2]
            wbr, wbi = twr[(k + h) * s2], twi[(k + h) * s2]
            a, b, c, d = s + k, s + k + h, s + k + size, s + k + size + h
            for f in range(lanes):
                tr = re[b, f] * w1r - im[b, f] * w1i
                ti = re[b, f] * w1i + im[b, f] * w1r
                ar, ai, br, bi = re[a, f] + tr, im[a, f] + ti, re[a, f] - tr, im[a, f] - ti
                tr = re[d, f] * w1r - im[d, f] * w1i
                ti = re[d, f] * w1i + im[d, f] * w1r
                cr, ci, dr, di = re[c, f] + tr, im[c, f] + ti, re[c, f] - tr, im[c, f] - ti
                tr, ti = cr * war - ci * wai, cr * wai + ci * war
                re[a, f], im[a, f], re[c, f], im[c, f] = ar + tr, ai + ti, ar - tr, ai - ti
                tr, ti = dr * wbr - di * wbi, dr * wbi + di * wbr
                re[b, f], im[b, f], re[d, f], im[d, f] = br + tr, bi + ti, br - tr, bi - ti


@njit(cache=True, fastmath=True, error_model="numpy")
def _butterflies(re: F32, im: F32, twr: F32, twi: F32) -> None:
    """In-place radix-2 DIT FFT of every column (input bit-reversed), stages fused in pairs."""
    m = re.shape[0]
    size = 2
    n_stages = 0
    while (1 << n_stages) < m:
        n_stages += 1
    if n_stages % 2:
        _stage(re, im, twr, twi, 2)
        size = 4
    while size <= m // 2:
        _stage_pair(re, im, twr, twi, size)
        size *= 4


@njit(cache=True, fastmath=True, error_model="numpy")
def _power_frames(x: F32, start: int, hop: int, win: F32, rev: I64, twr: F32, twi: F32,
                  ur: F32, ui: F32, lo: int, hi: int, re: F32, im: F32, out: F32) -> None:
    """Power spectra (bins ``lo..hi-1``) of frames ``x[start + f*hop : ... + len(win)]``.

    ``re``/``im`` are (N/2, lanes >= n_frames) scratch, lanes padded to a multiple of the
    SIMD width; ``out`` is (n_frames, hi - lo): one contiguous spectrum per frame, as the
    per-frame scoring wants it.
    """
    n_frames = out.shape[0]
    m = win.shape[0] // 2
    _gather(x, start, hop, win, rev, re, im, n_frames)
    _butterflies(re, im, twr, twi)
    for k in range(lo, hi):
        k2 = (m - k) % m
        c = ur[k]
        s_ = ui[k]
        rk, ik, rk2, ik2 = re[k], im[k], re[k2], im[k2]
        col = k - lo
        for f in range(n_frames):
            er = rk[f] + rk2[f]
            ei = ik[f] - ik2[f]
            orr = ik[f] + ik2[f]
            oi = rk2[f] - rk[f]
            tr = orr * c - oi * s_
            ti = orr * s_ + oi * c
            out[f, col] = 0.25 * ((er + tr) ** 2 + (ei + ti) ** 2)


class PowerSpectrum:
    """Hann-windowed power spectra of ``fft_size`` samples, bins ``lo_bin..hi_bin-1``.

    ``hi_bin`` may be at most ``fft_size // 2``.
    """

    def __init__(self, fft_size: int, lo_bin: int, hi_bin: int) -> None:
        if fft_size & (fft_size - 1) or fft_size < 8:
            raise ValueError("fft_size must be a power of two >= 8")
        if not 0 <= lo_bin < hi_bin <= fft_size // 2:
            raise ValueError("need 0 <= lo_bin < hi_bin <= fft_size // 2")
        m = fft_size // 2
        self.fft_size, self.lo_bin, self.hi_bin = fft_size, lo_bin, hi_bin
        self.window = np.hanning(fft_size + 2)[1:-1].astype(np.float32)
        self._rev = _bit_reverse(m)
        k = np.arange(m)
        self._twr = np.cos(-2 * np.pi * k / m).astype(np.float32)
        self._twi = np.sin(-2 * np.pi * k / m).astype(np.float32)
        kk = np.arange(m)
        self._ur = np.cos(-np.pi * kk / m).astype(np.float32)
        self._ui = np.sin(-np.pi * kk / m).astype(np.float32)

    @property
    def n_bins(self) -> int:
        return self.hi_bin - self.lo_bin

    def frames(self, x: F32, start: int, hop: int, n_frames: int) -> F32:
        """Power spectra, shape (n_frames, n_bins), of frames starting at ``start + f*hop``."""
        out = np.empty((n_frames, self.n_bins), np.float32)
        if n_frames == 0:
            return out
        if start < 0 or start + (n_frames - 1) * hop + self.fft_size > len(x):
            raise ValueError("frames run past the signal")
        if self.fft_size > 2 * hop:
            raise ValueError("fft_size may be at most twice the hop")
        m = self.fft_size // 2
        lanes = simd_lanes(n_frames)
        re = np.empty((m, lanes), np.float32)
        im = np.empty((m, lanes), np.float32)
        _power_frames(np.ascontiguousarray(x, np.float32), start, hop, self.window, self._rev,
                      self._twr, self._twi, self._ur, self._ui, self.lo_bin, self.hi_bin, re, im, out)
        return out


def decimate2(buf16: F32, taps: F32) -> F32:
    """Half-band decimation by 2 of a whole buffer (history first); see ``decimate_into``."""
    out = np.empty(max(0, (len(buf16) - len(taps) + 2) // 2), np.float32)
    n = decimate_into(np.ascontiguousarray(buf16, np.float32), taps, out, 0)
    return out[:n]
