"""Microphone feeds: pre-rendered speech clips over a generated noise floor, as PCM frames.

Pure and seeded (numpy ``Generator``); the caller supplies consecutive frame times and the
scenario's state (``agitation``, ``down``) and publishes the frames. A desk's audio is a
sequence of conversations (greeting, request, maybe a complaint or shouting, thanks,
farewell, as ``simulators.desks`` scripts them) over the noise floor. With a ``desk``
(the location's ``DeskSchedule``) the mic plays that schedule's conversations at their
event times, so its audio and the location's visit / rating events make whole encounters;
without one it makes up its own conversations with short pauses between (benchmarks).
Each mic has its own sample rate (mostly 16 kHz, sometimes 8 or 48 kHz, to exercise the
consumer's resampling). A mic that goes down first loses frames (``Cx-Seq`` gaps), then
falls silent.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from simulators.desks import DILIGENT, SLOT_MS, Conversation, greets, layout, script
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


class Desk(Protocol):
    """Where a mic's conversations come from (``simulators.desks.DeskSchedule``)."""

    def next_for(self, mic: str, after_ms: int) -> Conversation: ...


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
    desk: Desk | None = None
    seq: int = 0
    _origin_ms: int | None = None  # time of the first frame's first sample
    _pos: int = 0  # samples sent since then
    _horizon: int = 0  # samples up to which conversations are placed
    _track: deque[tuple[int, F32]] = field(default_factory=deque)  # (first sample, clip)
    _hum_phase: float = 0.0
    _down_frames: int = 0
    _cache: dict[str, F32] = field(default_factory=dict)
    _script_rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def seeded(cls, location: str, mic: str, clips: list[Clip], seed: int,
               language: str = "ru", frame_ms: int = 100, desk: Desk | None = None) -> MicFeed:
        """A mic with its sample rate and noise level drawn from (seed, location, mic)."""
        rng = np.random.default_rng([seed, *f"{location}/{mic}".encode()])
        rates, weights = zip(*RATES_HZ, strict=True)
        rate = int(rng.choice(rates, p=weights))
        return cls(location, mic, clips, rng, language, rate, frame_ms,
                   noise_rms=float(rng.uniform(60, 250)), desk=desk,
                   _script_rng=random.Random(f"{seed}:{location}/{mic}"))

    def frame(self, ts_ms: int, agitation: float = 0.0, down: bool = False) -> AudioFrame | None:
        """The frame starting at ``ts_ms`` (frames are consecutive); None when nothing is
        sent (dropout or silence)."""
        n = self.rate_hz * self.frame_ms // 1000
        if self._origin_ms is None:
            self._origin_ms = ts_ms
        if down:
            self._down_frames += 1
            if self._down_frames > DROPOUT_FRAMES:
                self._pos += n
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
        """The next ``n`` samples of the speech track (zeros between lines)."""
        lo, hi = self._pos, self._pos + n
        while self._horizon < hi:
            self._place(agitation)
        out = np.zeros(n, np.float32)
        for start, pcm in self._track:
            if start >= hi:
                break
            a, b = max(start, lo), min(start + len(pcm), hi)
            if a < b:
                out[a - lo:b - lo] += pcm[a - start:b - start]
        while self._track and self._track[0][0] + len(self._track[0][1]) <= hi:
            self._track.popleft()
        self._pos = hi
        return out

    def _place(self, agitation: float) -> None:
        """Put the next conversation's clips on the track, at their times."""
        assert self._origin_ms is not None
        after_ms = self._origin_ms + self._horizon * 1000 // self.rate_hz
        if self.desk is not None:
            conv = self.desk.next_for(self.mic, after_ms)
            lines, tense = conv.lines, conv.tense
        else:
            lines, tense = self._own_conversation(after_ms, agitation)
        slot = SLOT_MS * self.rate_hz // 1000
        for category, t_ms in lines:
            start = (t_ms - self._origin_ms) * self.rate_hz // 1000
            clip = self._clip(category, 1.0 if tense else 0.0)[:slot]
            if len(clip):
                self._track.append((start, clip))
        last = (lines[-1][1] - self._origin_ms) * self.rate_hz // 1000 + slot if lines else 0
        self._horizon = max(self._horizon + 1, last)

    def _own_conversation(self, after_ms: int, agitation: float
                          ) -> tuple[tuple[tuple[str, int], ...], bool]:
        """A conversation of this mic's own after a 4-15 s pause (no desk schedule)."""
        rng = self._script_rng
        start = after_ms + int(rng.uniform(4.0, 15.0) * (500 if agitation > 0.5 else 1000))
        greeted = greets(rng, DILIGENT, agitation)
        lines = script(rng, DILIGENT, agitation, rng.betavariate(4, 1.2), greeted)
        return layout(rng, start, lines), rng.random() < agitation

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
        gain = np.float32(self.rng.uniform(0.35, 0.9))
        return (self._cache[key] * gain).astype(np.float32)

    def _noise(self, n: int) -> F32:
        """Noise floor: hiss plus a faint, phase-continuous 50 Hz hum."""
        hiss = self.rng.standard_normal(n).astype(np.float32) * np.float32(self.noise_rms)
        step = 2 * np.pi * 50.0 / self.rate_hz
        phase = self._hum_phase + step * np.arange(n)
        self._hum_phase = float((phase[-1] + step) % (2 * np.pi))
        hum = (0.4 * self.noise_rms * np.sin(phase)).astype(np.float32)
        floor: F32 = (hiss + hum).astype(np.float32)
        return floor
