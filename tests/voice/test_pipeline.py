from __future__ import annotations

import numpy as np
import pytest

from dsp.frames import resample
from dsp.silero import SileroGate
from simulators import speech
from stream.events import VoiceKeyword
from tests.support.audio import Track, build_track, noisy
from voice.asr import Transcript, Word
from voice.config import VoiceConfig
from voice.keywords import KeywordMatcher, keyword_hits
from voice.pipeline import PipelineOptions, VoicePipeline

T0 = 1_767_225_600_000  # an epoch-ms stream start


def _stream(p: VoicePipeline, pcm: np.ndarray, rate: int = 16000, seed: int = 0) -> list:
    rng, out, i = np.random.default_rng(seed), [], 0
    while i < len(pcm):
        n = int(rng.integers(rate // 100, rate))  # 10 ms .. 1 s messages, as on cx.audio
        out += p.feed(pcm[i : i + n].tobytes(), T0 + i * 1000 // rate, rate)
        i += n
    return out + p.flush()


def test_utterances_match_the_clips(mixed_track: Track) -> None:
    track, labels, spans = mixed_track
    x = noisy(track, labels, "white", 15)
    pcm = np.clip(x * 32768, -32768, 32767).astype(np.int16)
    utts = _stream(VoicePipeline(), pcm)
    assert len(utts) == len(spans)
    for u, (a, b) in zip(utts, spans, strict=True):
        speech_frames = np.flatnonzero(labels[a // 160 : b // 160]) + a // 160
        first_ms, last_ms = T0 + speech_frames[0] * 10, T0 + speech_frames[-1] * 10 + 10
        assert first_ms - 400 < u.start_ms <= first_ms and last_ms - 100 <= u.end_ms < last_ms + 400
        assert len(u.audio) == (u.end_ms - u.start_ms) * 16


def test_other_rates_are_resampled() -> None:
    track, _, spans = build_track(["en_greeting_1.wav", "ru_thanks_1.wav"])
    x48 = resample(track.astype(np.float32) / np.float32(32768), 16000, 48000)
    pcm = np.clip(x48 * 32768, -32768, 32767).astype(np.int16)
    utts = _stream(VoicePipeline(), pcm, rate=48000)
    assert len(utts) == 2 and abs(utts[1].start_ms - (T0 + spans[1][0] // 16)) < 400


@pytest.mark.parametrize("kind", ["silence", "white", "hum"])
def test_no_utterances_from_silence_or_noise(kind: str) -> None:
    n = 16000 * 20
    rng = np.random.default_rng(2)
    x = np.zeros(n) if kind == "silence" else 800 * (speech.white_noise(n, rng) if kind == "white"
                                                       else speech.hum_noise(n, rng))
    assert _stream(VoicePipeline(), x.astype(np.int16)) == []


def test_silero_gate_rejects_music_and_keeps_speech() -> None:
    music = (3000 * speech.music_noise(16000 * 15, np.random.default_rng(4))).astype(np.int16)
    gated = VoicePipeline(PipelineOptions(confirm=SileroGate()))
    plain = VoicePipeline()
    assert len(_stream(gated, music)) == 0 and gated.rejected >= len(_stream(plain, music)) > 0
    track, _, spans = build_track(["ru_greeting_1.wav", "en_farewell_1.wav"])
    assert len(_stream(VoicePipeline(PipelineOptions(confirm=SileroGate())), track)) == len(spans)


def test_clock_resyncs_after_a_dropout() -> None:
    track, _, spans = build_track(["en_greeting_1.wav"], lead_s=1.0)
    half = (spans[0][0] + spans[0][1]) // 2
    p = VoicePipeline()
    p.feed(track[:half].tobytes(), T0)
    out = p.feed(track[half:].tobytes(), T0 + half // 16 + 5000) + p.flush()  # 5 s lost
    no_gap = _stream(VoicePipeline(), track)
    assert len(out) == len(no_gap) == 1
    assert out[0].start_ms == no_gap[0].start_ms and out[0].end_ms == no_gap[0].end_ms + 5000


def test_keyword_hits_carry_category_and_time() -> None:
    track, _, _ = build_track(["ru_complaint_2.wav"], lead_s=1.0)
    (u,) = _stream(VoicePipeline(), track)
    transcript = Transcript(
        "Позавить имене от жир немедленно.",
        (
            Word("Позавить", 0.3, 0.8),
            Word("имене", 0.8, 1.1),
            Word("от", 1.1, 1.2),
            Word("жир", 1.2, 1.5),
            Word("немедленно.", 1.5, 2.2),
        ),
        "ru",
    )
    hits = keyword_hits(transcript, u.start_ms, KeywordMatcher(VoiceConfig().lexicons()), "ru")
    assert hits == [VoiceKeyword("escalation", "позовите менеджера", u.start_ms + 300)]
