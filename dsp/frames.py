"""PCM conversion and streaming rational resampling (any contract rate -> 16 kHz).

Microphones publish signed 16-bit little-endian PCM at 8, 16, 32 or 48 kHz; everything
downstream works on float32 in [-1, 1) at 16 kHz (the VAD further decimates to 8 kHz).
``Resampler`` is a polyphase windowed-sinc FIR that keeps its tail between chunks, so a
stream cut into chunks of any size resamples exactly like the whole signal at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
TARGET_RATE_HZ = 16000
SUPPORTED_RATES_HZ = (8000, 16000, 32000, 48000)


def pcm16_to_float32(pcm: bytes | bytearray | memoryview | npt.NDArray[np.int16]) -> F32:
    """Signed 16-bit little-endian PCM (bytes or int16 array) -> float32 in [-1, 1)."""
    if isinstance(pcm, bytes | bytearray | memoryview):
        if len(pcm) % 2:
            raise ValueError("PCM16 payload has an odd number of bytes")
        pcm = np.frombuffer(pcm, dtype="<i2")
    return np.asarray(pcm, dtype=np.float32) * np.float32(1.0 / 32768.0)


def float32_to_pcm16(x: F32) -> npt.NDArray[np.int16]:
    """float32 in [-1, 1) -> int16, clipped."""
    return np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def rms_db(x: F32) -> float:
    """RMS level in dBFS (full-scale sine is about -3 dB); -120 for silence."""
    if len(x) == 0:
        return -120.0
    power = float(np.mean(np.square(x, dtype=np.float64)))
    return max(-120.0, float(10.0 * np.log10(power + 1e-12)))


@njit(cache=True, fastmath=True, error_model="numpy")
def _polyphase(buf: F32, taps: F32, up: int, down: int, pos: int, out: F32) -> tuple[int, int]:
    """FIR-resample ``buf`` from upsampled index ``pos`` on; returns (n_out, next_pos).

    ``taps[phase, k]`` multiplies ``buf[i - k]`` for output at upsampled index ``i*up+phase``.
    """
    n_in = buf.shape[0]
    n_taps = taps.shape[1]
    count = 0
    u = pos
    while u // up < n_in and count < out.shape[0]:
        i0 = u // up
        ph = u - i0 * up
        acc = np.float32(0.0)
        for k in range(n_taps):
            acc += taps[ph, k] * buf[i0 - k]
        out[count] = acc
        count += 1
        u += down
    return count, u


def design_lowpass(up: int, down: int, taps_per_rate: int = 16, beta: float = 8.0) -> F32:
    """Kaiser-windowed sinc for an up/down resampler, as an (up, taps per phase) polyphase bank.

    The filter spans ``taps_per_rate`` samples of the slower of the two rates.
    """
    n = up * taps_per_rate * max(1, -(-down // up))
    cutoff = 0.92 * 0.5 / max(up, down)  # cycles per upsampled sample, a bit below Nyquist
    t = np.arange(n) - (n - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, beta)
    h *= up / h.sum()
    return np.ascontiguousarray(h.reshape(n // up, up).T.astype(np.float32))


@dataclass(frozen=True, slots=True)
class ResamplerOptions:
    in_rate_hz: int
    out_rate_hz: int = TARGET_RATE_HZ
    taps_per_rate: int = 16


class Resampler:
    """Streaming rational resampler; ``process(chunk)`` returns the output for that chunk.

    The FIR delays the signal by ``delay_samples`` output samples (about half a filter).
    """

    def __init__(self, options: ResamplerOptions) -> None:
        g = gcd(options.in_rate_hz, options.out_rate_hz)
        self.up, self.down = options.out_rate_hz // g, options.in_rate_hz // g
        self.passthrough = self.up == self.down == 1
        self.taps = design_lowpass(self.up, self.down, options.taps_per_rate)
        n_phase_taps = self.taps.shape[1]
        self._hist = np.zeros(n_phase_taps - 1, np.float32)
        self._pos = (n_phase_taps - 1) * self.up
        self.delay_samples = (self.up * n_phase_taps - 1) / 2 / self.down

    def process(self, x: F32) -> F32:
        """Resample the next chunk (float32 at the input rate)."""
        if self.passthrough:
            return np.asarray(x, np.float32)
        buf = np.concatenate((self._hist, np.asarray(x, np.float32)))
        out = np.empty((len(buf) * self.up) // self.down + 2, np.float32)
        n, u = _polyphase(buf, self.taps, self.up, self.down, self._pos, out)
        keep = len(self._hist)
        consumed = len(buf) - keep
        self._hist = buf[consumed:].copy()
        self._pos = u - consumed * self.up
        return out[:n]


def resample(x: F32, in_rate_hz: int, out_rate_hz: int = TARGET_RATE_HZ) -> F32:
    """One-shot resampling of a whole signal."""
    return Resampler(ResamplerOptions(in_rate_hz, out_rate_hz)).process(x)
