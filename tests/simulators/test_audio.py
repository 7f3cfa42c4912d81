"""Microphone feeds: frame format, clips over noise, rates, dropouts, determinism."""

from __future__ import annotations

import collections
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pytest

from simulators.audio import CLIPS_DIR, DROPOUT_FRAMES, Clip, MicFeed, load_clips, resample
from simulators.desks import SLOT_MS, Conversation
from simulators.speech import write_wav
from tests.support.checks import present

if TYPE_CHECKING:
    from voice.pipeline import Utterance

def record_clips(feed: MicFeed) -> list[str]:
    """The categories of the clips ``feed`` plays from now on, in order (a spy on its
    ``_clip``, which it still calls)."""
    played: list[str] = []
    original = feed._clip

    def spy(category: str, agitation: float) -> npt.NDArray[np.float32]:
        played.append(category)
        return original(category, agitation)

    feed._clip = spy  # type: ignore[method-assign]  # the spy shadows the method on this feed
    return played


CATEGORIES = ("greeting", "thanks", "farewell", "question", "complaint", "shouting", "neutral")


@pytest.fixture
def clips(tmp_path: Path) -> list[Clip]:
    """One loud 0.5 s tone per category (shouting also agitated); one file stored at 8 kHz."""
    manifest = []
    for i, cat in enumerate(CATEGORIES):
        rate = 8000 if cat == "neutral" else 16000
        t = np.arange(rate // 2) / rate
        write_wav(tmp_path / f"ru_{cat}.wav", (12000 * np.sin(2 * np.pi * (200 + 50 * i) * t))
                  .astype(np.int16), rate)
        manifest.append({"file": f"ru_{cat}.wav", "lang": "ru", "text": cat, "category": cat,
                         "agitated": cat == "shouting", "keywords": [cat]})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return load_clips(tmp_path)


def test_clips_load_at_16k(clips: list[Clip], tmp_path: Path) -> None:
    assert {c.info.category for c in clips} == set(CATEGORIES)
    assert all(len(c.pcm) == 8000 for c in clips)  # 0.5 s at 16 kHz, the 8 kHz one resampled
    assert load_clips(tmp_path / "missing") == []


def test_resample_keeps_duration_and_tone() -> None:
    t = np.arange(16000) / 16000
    x = (1000 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for rate in (8000, 48000):
        y = resample(x, 16000, rate)
        assert len(y) == rate
        spectrum = np.abs(np.fft.rfft(y))
        assert np.argmax(spectrum) * rate / len(y) == pytest.approx(440, abs=2)


def test_frames_are_pcm16_with_consecutive_seq_and_exact_times(clips: list[Clip]) -> None:
    feed = MicFeed.seeded("loc-a", "desk1", clips, seed=3)
    frames = [present(feed.frame(1_000_000 + 100 * k)) for k in range(600)]
    assert [f.seq for f in frames] == list(range(1, 601))
    assert all(f.ts_ms == 1_000_000 + 100 * k for k, f in enumerate(frames))
    assert all(len(f.pcm) == 2 * f.rate_hz // 10 for f in frames)
    assert frames[0].headers() == {"Cx-Seq": "1", "Cx-Ts": "1000000", "Cx-Rate": str(feed.rate_hz)}
    rms = np.array([np.sqrt(np.mean(np.frombuffer(f.pcm, "<i2").astype(float) ** 2))
                    for f in frames])
    assert np.percentile(rms, 20) < 400  # pauses: the noise floor
    assert rms.max() > 2000  # clips: speech well above it
    again = MicFeed.seeded("loc-a", "desk1", clips, seed=3)
    assert [present(again.frame(1_000_000 + 100 * k)).pcm
            for k in range(50)] == [f.pcm for f in frames[:50]]


def test_mics_use_several_sample_rates(clips: list[Clip]) -> None:
    rates = {MicFeed.seeded(f"loc-{i}", "desk1", clips, seed=1).rate_hz for i in range(40)}
    assert rates == {8000, 16000, 48000}


def test_a_failing_mic_drops_frames_then_goes_silent(clips: list[Clip]) -> None:
    feed = MicFeed.seeded("loc-a", "desk1", clips, seed=5)
    for k in range(10):
        feed.frame(100 * k)
    sent = [f for k in range(10, 200) if (f := feed.frame(100 * k, down=True)) is not None]
    seqs = [f.seq for f in sent]
    assert 0 < len(seqs) < DROPOUT_FRAMES
    chain = [10, *seqs]
    assert any(b - a > 1 for a, b in itertools.pairwise(chain))  # Cx-Seq gaps
    assert seqs[-1] <= 10 + DROPOUT_FRAMES


class _Desk:
    """Two conversations at desk1 (and one at desk2 between them), at known times."""

    def __init__(self, t0: int) -> None:
        def conv(start: int, mic: str, lines: tuple[str, ...]) -> Conversation:
            timed = tuple((line, start + k * (SLOT_MS + 500)) for k, line in enumerate(lines))
            return Conversation(start, mic, "e1", 0.0, timed, False, 0.8, start + 30_000, None,
                                False)

        self.convs = [conv(t0 + 5_000, "desk1", ("greeting", "question", "thanks", "farewell")),
                      conv(t0 + 40_000, "desk2", ("greeting", "question")),
                      conv(t0 + 70_000, "desk1", ("question", "farewell"))]

    def next_for(self, mic: str, after_ms: int) -> Conversation:
        found = [c for c in self.convs if c.mic == mic and c.start_ms >= after_ms]
        return found[0] if found else Conversation(
            after_ms + 3_600_000, mic, "e1", 0.0, (("question", after_ms + 3_600_000),), False,
            0.8, after_ms + 3_700_000, None, False)


def test_a_desk_mic_speaks_its_schedule_at_the_scheduled_times(clips: list[Clip]) -> None:
    t0 = 1_000_000
    desk = _Desk(t0)
    feed = MicFeed.seeded("loc-a", "desk1", clips, seed=3, desk=desk)
    played = record_clips(feed)
    frames = [present(feed.frame(t0 + 100 * k)) for k in range(1200)]  # 2 minutes
    loud = [f.ts_ms for f in frames
            if np.sqrt(np.mean(np.frombuffer(f.pcm, "<i2").astype(float) ** 2)) > 1500]
    assert played[:6] == ["greeting", "question", "thanks", "farewell", "question", "farewell"]
    spans = [(t, t + 500) for c in desk.convs if c.mic == "desk1" for _, t in c.lines]
    assert loud and all(any(lo <= ts < hi for lo, hi in spans) for ts in loud)  # the clips are
    # 0.5 s tones here, each at its line's time; desk2's conversation stays silent here
    assert all(any(lo <= ts < hi for ts in loud) for lo, hi in spans)


def test_a_desk_mic_far_from_its_next_conversation_keeps_memory_flat(clips: list[Clip]) -> None:
    feed = MicFeed.seeded("loc-a", "desk1", clips, seed=3, desk=_Desk(0))
    feed.rate_hz = 48000
    for k in range(2000):  # the next conversation is an hour away: nothing big is allocated
        feed.frame(200_000 + 100 * k)
    assert len(feed._track) <= 1


def test_agitated_mic_plays_the_agitated_clips(clips: list[Clip]) -> None:
    feed = MicFeed.seeded("loc-a", "desk1", clips, seed=9)
    feed.rate_hz = 16000
    order = record_clips(feed)
    for k in range(3000):
        feed.frame(100 * k, agitation=0.9)
    played = collections.Counter(order)
    assert played["shouting"] >= 3 and played["complaint"] >= 5


def _listen(rate_hz: int, agitation: float,
            seconds: int = 90) -> tuple[list[str], list[Utterance]]:
    """Stream the shipped clips through the voice pipeline; (clips played, utterances)."""
    from voice.pipeline import VoicePipeline

    feed = MicFeed.seeded("loc-a", "desk1", load_clips(), seed=3)
    feed.rate_hz = rate_hz
    played = record_clips(feed)
    pipeline, heard = VoicePipeline(), []
    for k in range(seconds * 10):
        frame = present(feed.frame(1_000_000 + 100 * k, agitation=agitation))
        heard += pipeline.feed(frame.pcm, frame.ts_ms, frame.rate_hz)
    return played, heard + pipeline.flush()


def test_shipped_clips_load() -> None:
    manifest = json.loads((CLIPS_DIR / "manifest.json").read_text(encoding="utf-8"))
    clips = load_clips()
    assert len(clips) == len(manifest)
    assert {(c.info.lang, c.info.category) for c in clips} >= {
        (lang, cat) for lang in ("ru", "en") for cat in CATEGORIES}


@pytest.mark.parametrize("rate_hz", [16000, 8000, 48000])
def test_voice_pipeline_hears_each_clip_at_every_rate(rate_hz: int) -> None:
    played, heard = _listen(rate_hz, 0.0)
    assert len(played) >= 8
    assert abs(len(heard) - len(played)) <= 2


def test_agitated_desk_sounds_louder() -> None:
    played_calm, calm = _listen(16000, 0.0)
    played_tense, tense = _listen(16000, 0.9)
    assert "shouting" in played_tense and "shouting" not in played_calm
    assert max(u.loudness_db for u in tense) > max(u.loudness_db for u in calm) + 6
