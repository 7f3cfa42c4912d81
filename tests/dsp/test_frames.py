from __future__ import annotations

import numpy as np
import pytest

from dsp.frames import (
    Resampler,
    ResamplerOptions,
    float32_to_pcm16,
    pcm16_to_float32,
    resample,
    rms_db,
)
from dsp.spectrum import PowerSpectrum, decimate2, halfband_taps


def test_pcm16_round_trip_and_odd_bytes() -> None:
    pcm = np.array([0, 1, -1, 32767, -32768], np.int16)
    x = pcm16_to_float32(pcm.tobytes())
    assert x.dtype == np.float32 and x[3] == pytest.approx(32767 / 32768) and x[4] == -1.0
    assert np.array_equal(float32_to_pcm16(x), pcm)
    with pytest.raises(ValueError, match="odd"):
        pcm16_to_float32(b"\x00\x01\x02")


@pytest.mark.parametrize("rate", [8000, 32000, 48000])
def test_resampler_is_chunk_invariant_and_accurate(rate: int) -> None:
    t = np.arange(rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    whole = Resampler(ResamplerOptions(rate))
    y = whole.process(x)
    assert abs(len(y) - 16000) <= 2
    r, parts, rng, i = Resampler(ResamplerOptions(rate)), [], np.random.default_rng(0), 0
    while i < len(x):
        n = int(rng.integers(1, 2000))
        parts.append(r.process(x[i : i + n]))
        i += n
    assert np.array_equal(np.concatenate(parts), y)
    tt = np.arange(len(y)) / 16000 - whole.delay_samples / 16000
    ref = 0.5 * np.sin(2 * np.pi * 440 * tt) + 0.2 * np.sin(2 * np.pi * 1500 * tt)
    assert np.abs(y[300:-300] - ref[300:-300]).max() < 0.01


def test_downsampling_removes_aliases() -> None:
    t = np.arange(48000) / 48000
    y = resample(np.sin(2 * np.pi * 12000 * t).astype(np.float32), 48000)
    assert np.abs(y[200:]).max() < 1e-3  # 12 kHz would alias to 4 kHz at 16 kHz


def test_rms_db() -> None:
    t = np.arange(16000) / 16000
    assert rms_db(np.sin(2 * np.pi * 100 * t).astype(np.float32)) == pytest.approx(-3.01, abs=0.02)
    assert rms_db(np.zeros(10, np.float32)) == -120.0


def test_power_spectrum_matches_numpy() -> None:
    ps = PowerSpectrum(256, 4, 125)
    x = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    for hop, n in ((160, 9), (320, 20), (320, 3)):
        out = ps.frames(x, 32, hop, n)
        for f in range(n):
            ref = np.abs(np.fft.rfft(x[32 + hop * f : 32 + hop * f + 256] * ps.window)) ** 2
            assert np.allclose(out[f], ref[4:125], rtol=1e-4, atol=1e-3 * ref.max())


def test_halfband_decimation_matches_convolution() -> None:
    h = halfband_taps()
    for n in (31, 32, 33, 1000, 16031):
        buf = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        ref = np.convolve(buf, h)[len(h) - 1 : len(buf)][::2]
        assert np.allclose(decimate2(buf, h), ref, atol=1e-5)
