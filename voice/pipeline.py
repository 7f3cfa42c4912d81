"""Per-microphone voice pipeline: PCM chunks in, finished utterances out (pure, synchronous).

Order of work per ``feed``: PCM16 -> float32 -> resample to 16 kHz (if the mic sends
another rate) -> VAD (per-frame decisions) -> segmenter (utterance spans) -> cut the
utterance from a bounded in-memory buffer -> optional silero confirmation -> prosody ->
emotion against this mic's baseline. Speech recognition is *not* run here: each
``Utterance`` carries its 16 kHz samples so the caller can queue them for an ASR worker
and later turn the transcript into keywords (``voice.keywords.keyword_hits``); the mic's
session (``voice.session``) makes the contract events. Audio lives only
in memory and is dropped as soon as no open utterance can need it.

Time: ``ts_ms`` is the epoch time of a chunk's first sample (``Cx-Ts``). The pipeline
counts samples; when a chunk's ``ts_ms`` disagrees with the count by more than
``resync_ms`` (a dropout, a clock step) the sample clock is re-anchored to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dsp.emotion import Baseline, Emotion, EmotionOptions, EmotionScorer
from dsp.frames import Resampler, ResamplerOptions, pcm16_to_float32, rms_db
from dsp.prosody import Prosody, ProsodyOptions, extract
from dsp.segment import Segment, Segmenter, SegmentOptions
from dsp.silero import SileroGate
from dsp.vad import FRAME_SAMPLES, Vad, VadOptions

F32 = npt.NDArray[np.float32]
SAMPLE_RATE_HZ = 16000


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    vad: VadOptions = field(default_factory=VadOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    prosody: ProsodyOptions = field(default_factory=ProsodyOptions)
    emotion: EmotionOptions = field(default_factory=EmotionOptions)
    confirm: SileroGate | None = None  # hybrid: silero confirms numba's candidates
    resync_ms: int = 100


@dataclass(frozen=True, slots=True)
class Utterance:
    """A finished utterance: epoch-ms span, emotion, loudness, prosody and its audio."""

    start_ms: int
    end_ms: int
    emotion: Emotion
    loudness_db: float
    prosody: Prosody
    speech_ms: int
    audio: F32 = field(repr=False)


class VoicePipeline:
    """One microphone's state. ``feed(pcm, ts_ms)`` -> finished utterances."""

    def __init__(self, options: PipelineOptions | None = None,
                 baseline: Baseline | None = None) -> None:
        self.options = o = options or PipelineOptions()
        self._vad = Vad(o.vad)
        self._segmenter = Segmenter(o.segment)
        self._emotion = EmotionScorer(o.emotion, baseline)
        self._resampler: Resampler | None = None
        self._rate = SAMPLE_RATE_HZ
        self._buf = np.zeros(0, np.int16)  # 16 kHz audio from sample ``_buf_start`` on
        self._buf_start = 0
        self._samples = 0                  # 16 kHz samples fed so far
        self._anchors = [(0, 0)]           # (sample index, epoch ms) clock anchors, in order
        self.rejected = 0                  # candidates the silero gate turned down

    @property
    def baseline(self) -> Baseline:
        return self._emotion.baseline

    def feed(self, pcm: bytes | npt.NDArray[np.int16], ts_ms: int | None = None,
             sample_rate_hz: int = SAMPLE_RATE_HZ) -> list[Utterance]:
        """Feed one chunk of PCM16 (bytes or int16 array); returns utterances finished by it."""
        x = self._to_16k(pcm16_to_float32(pcm), sample_rate_hz)
        self._clock(ts_ms)
        pcm16 = np.clip(x * 32768.0, -32768, 32767).astype(np.int16)
        self._buf = np.concatenate((self._buf, pcm16))
        self._samples += len(x)
        frames = self._vad.process(x)
        segments = self._segmenter.push(frames.first_frame, frames.speech)
        out = [u for s in segments if (u := self._finish(s)) is not None]
        self._trim()
        return out

    def flush(self) -> list[Utterance]:
        """End of stream: close the utterance in progress."""
        out = [u for s in self._segmenter.flush() if (u := self._finish(s)) is not None]
        self._trim()
        return out

    def _to_16k(self, x: F32, rate: int) -> F32:
        if rate != self._rate or self._resampler is None:
            self._rate = rate
            self._resampler = Resampler(ResamplerOptions(rate, SAMPLE_RATE_HZ))
        return self._resampler.process(x)

    def _clock(self, ts_ms: int | None) -> None:
        if ts_ms is None:
            return
        if self._samples == 0:
            self._anchors = [(0, int(ts_ms))]
        elif abs(self._ms(self._samples) - ts_ms) > self.options.resync_ms:
            self._anchors.append((self._samples, int(ts_ms)))

    def _ms(self, sample: int) -> int:
        """Epoch ms of a 16 kHz sample index, on the clock segment it belongs to."""
        s0, t0 = next(a for a in reversed(self._anchors) if a[0] <= sample or a is self._anchors[0])
        return t0 + (sample - s0) * 1000 // SAMPLE_RATE_HZ

    def _finish(self, seg: Segment) -> Utterance | None:
        a = max(seg.start_frame * FRAME_SAMPLES, self._buf_start)
        b = min(seg.end_frame * FRAME_SAMPLES, self._samples)
        audio = self._buf[a - self._buf_start : b - self._buf_start].astype(np.float32) / 32768.0
        if len(audio) < FRAME_SAMPLES:
            return None
        gate = self.options.confirm
        if gate is not None and not gate.accepts(audio):
            self.rejected += 1
            return None
        prosody = extract(audio, self.options.prosody)
        emotion = self._emotion.score(prosody)
        return Utterance(self._ms(a), self._ms(b), emotion, rms_db(audio), prosody,
                         seg.speech_frames * 10, audio)

    def _trim(self) -> None:
        """Drop audio no open or future utterance can include."""
        o = self.options.segment
        keep_frame = self._segmenter.open_since
        if keep_frame is None:
            keep_frame = self._segmenter.next_frame - o.pad_ms // 10
        keep = max(self._buf_start, min(keep_frame * FRAME_SAMPLES, self._samples))
        if keep > self._buf_start:
            self._buf = self._buf[keep - self._buf_start :]
            self._buf_start = keep
        while len(self._anchors) > 1 and self._anchors[1][0] <= keep:
            self._anchors.pop(0)
