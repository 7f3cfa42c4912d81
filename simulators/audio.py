"""Microphone feeds: pre-rendered speech clips over a generated noise floor, as PCM frames.

Pure and seeded (numpy ``Generator``); the caller supplies frame times and the scenario's
state (``agitation``, ``down``) and publishes the frames. A desk's audio is a sequence of
conversations (greeting, question, maybe a complaint or shouting, thanks, farewell; staff
sometimes skip the greeting or farewell, which the service-standard check should notice)
separated by quiet pauses. Each mic has its own sample rate (mostly 16 kHz, sometimes 8 or
48 kHz, to exercise the consumer's resampling). A mic that goes down first loses frames
(``Cx-Seq`` gaps), then falls silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from simulators.speech import read_wav

CLIPS_DIR = Path(__file__).resolve().parent / "clips"
CLIP_RATE_HZ = 16000
RATES_HZ = ((16000, 0.7), (8000, 0.15), (48000, 0.15))
DROPOUT_FRAMES = 20  # frames (2 s) of patchy signal before a failing mic goes silent
F32 = npt.NDArray[np.float32]


class ClipInfo(msgspec.Struct, frozen=True):
    """One entry of ``clips/manifest.json``."""

    file: str
    lang: str
    text: str
    category: str
    agitated: bool = False
    keywords: list[str] = []


@dataclass(frozen=True)
class Clip:
    info: ClipInfo
    pcm: F32  # float samples in int16 units at CLIP_RATE_HZ


class AudioFrame(msgspec.Struct, frozen=True):
    """One message of ``cx.audio.{location}.{mic}``."""

    seq: int
    ts_ms: int
    rate_hz: int
    pcm: bytes  # PCM16 little-endian mono

    def headers(self) -> dict[str, str]:
        return {"Cx-Seq": str(self.seq), "Cx-Ts": str(self.ts_ms), "Cx-Rate": str(self.rate_hz)}


def load_clips(clips_dir: Path = CLIPS_DIR) -> list[Clip]:
    """Clips listed in the manifest ([] when none are shipped: the mics then carry noise only)."""
    manifest = clips_dir / "manifest.json"
    if not manifest.exists():
        return []
    infos = msgspec.convert(json.loads(manifest.read_text(encoding="utf-8")), list[ClipInfo])
    clips = []
    for info in infos:
        path = clips_dir / info.file
        if path.exists():
            pcm, rate = read_wav(path)
            clips.append(Clip(info, resample(pcm.astype(np.float32), rate, CLIP_RATE_HZ)))
    return clips


def resample(x: F32, from_hz: int, to_hz: int) -> F32:
    """Linear-interpolation resampling, with a box low-pass before decimation."""
    if from_hz == to_hz or len(x) == 0:
        return x.astype(np.float32)
    if to_hz < from_hz:
        k = int(np.ceil(from_hz / to_hz))
        x = np.convolve(x, np.ones(k, np.float32) / k, mode="same").astype(np.float32)
    n_out = int(len(x) * to_hz / from_hz)
    t = np.arange(n_out, dtype=np.float64) * (from_hz / to_hz)
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


def conversation(rng: np.random.Generator, agitation: float) -> list[str]:
    """Clip categories of one customer at a desk; ``agitation`` in [0, 1] sours it."""
    seq = ["greeting"] if rng.random() < 0.85 - 0.3 * agitation else []
    seq.append("question" if rng.random() < 0.6 else "neutral")
    if rng.random() < 0.05 + 0.8 * agitation:
        seq.append("complaint")
        if rng.random() < 0.2 + 0.7 * agitation:
            seq.append("shouting")
    if rng.random() < 0.75 - 0.5 * agitation:
        seq.append("thanks")
    if rng.random() < 0.8 - 0.4 * agitation:
        seq.append("farewell")
    return seq


@dataclass
class MicFeed:
    """One microphone: ``frame(ts_ms, agitation, down)`` returns its next frame or None."""

    location: str
    mic: str
    clips: list[Clip]
    rng: np.random.Generator
    language: str = "ru"
    rate_hz: int = CLIP_RATE_HZ
    frame_ms: int = 100
    noise_rms: float = 120.0
    seq: int = 0
    _queue: list[F32] = field(default_factory=list)
    _buf: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    _hum_phase: float = 0.0
    _down_frames: int = 0
    _cache: dict[str, F32] = field(default_factory=dict)

    @classmethod
    def seeded(cls, location: str, mic: str, clips: list[Clip], seed: int,
               language: str = "ru", frame_ms: int = 100) -> MicFeed:
        """A mic with its sample rate and noise level drawn from (seed, location, mic)."""
        rng = np.random.default_rng([seed, *f"{location}/{mic}".encode()])
        rates, weights = zip(*RATES_HZ, strict=True)
        rate = int(rng.choice(rates, p=weights))
        return cls(location, mic, clips, rng, language, rate, frame_ms,
                   noise_rms=float(rng.uniform(60, 250)))

    def frame(self, ts_ms: int, agitation: float = 0.0, down: bool = False) -> AudioFrame | None:
        """The frame starting at ``ts_ms``; None when nothing is sent (dropout or silence)."""
        n = self.rate_hz * self.frame_ms // 1000
        if down:
            self._down_frames += 1
            if self._down_frames > DROPOUT_FRAMES:
                return None  # dead: no messages, no sequence numbers
        else:
            self._down_frames = 0
        self.seq += 1
        samples = self._take(n, agitation) + self._noise(n)
        if down and self.rng.random() < 0.5:
            return None  # lost on the way: a gap in Cx-Seq
        pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
        return AudioFrame(self.seq, ts_ms, self.rate_hz, pcm)

    def _take(self, n: int, agitation: float) -> F32:
        """The next ``n`` samples of the speech track (zeros in pauses)."""
        while len(self._buf) < n:
            self._buf = np.concatenate([self._buf, self._next_segment(agitation)])
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _next_segment(self, agitation: float) -> F32:
        """A pause, or the next clip of the current conversation (a new one when done)."""
        if not self._queue:
            pause_s = self.rng.uniform(4.0, 15.0) * (0.5 if agitation > 0.5 else 1.0)
            self._queue = [self._clip(c, agitation) for c in conversation(self.rng, agitation)]
            self._queue = [c for c in self._queue if len(c)]
            return np.zeros(int(pause_s * self.rate_hz), np.float32)
        gap = np.zeros(int(self.rng.uniform(0.4, 2.0) * self.rate_hz), np.float32)
        return np.concatenate([self._queue.pop(0), gap])

    def _clip(self, category: str, agitation: float) -> F32:
        """A clip of the category, preferring the mic's language (and agitated ones when tense)."""
        pool = [c for c in self.clips if c.info.category == category]
        if not pool:
            return np.zeros(0, np.float32)
        local = [c for c in pool if c.info.lang == self.language]
        if local and self.rng.random() < 0.85:
            pool = local
        tense = [c for c in pool if c.info.agitated]
        if tense and self.rng.random() < agitation:
            pool = tense
        clip = pool[int(self.rng.integers(len(pool)))]
        key = clip.info.file
        if key not in self._cache:
            self._cache[key] = resample(clip.pcm, CLIP_RATE_HZ, self.rate_hz)
        return self._cache[key] * np.float32(self.rng.uniform(0.35, 0.9))

    def _noise(self, n: int) -> F32:
        """Noise floor: hiss plus a faint, phase-continuous 50 Hz hum."""
        hiss = self.rng.standard_normal(n).astype(np.float32) * np.float32(self.noise_rms)
        step = 2 * np.pi * 50.0 / self.rate_hz
        phase = self._hum_phase + step * np.arange(n)
        self._hum_phase = float((phase[-1] + step) % (2 * np.pi))
        return hiss + (0.4 * self.noise_rms * np.sin(phase)).astype(np.float32)
