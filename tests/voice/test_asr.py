from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import load_clip
from voice.asr import AsrOptions, Transcriber, ensure_model
from voice.config import VoiceConfig
from voice.keywords import KeywordMatcher, normalise


@pytest.fixture(scope="module")
def transcriber(tmp_path_factory: pytest.TempPathFactory) -> Transcriber:
    return Transcriber(AsrOptions(cache_dir=str(tmp_path_factory.mktemp("whisper"))))


def test_model_is_joined_once(tmp_path: Path) -> None:
    first = ensure_model(tmp_path)
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert ensure_model(tmp_path) == first and (first / "model.bin").stat().st_mtime_ns == stamp
    assert {p.name for p in first.iterdir()} >= {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }


def test_russian_clip_with_language_given(transcriber: Transcriber) -> None:
    audio = load_clip("ru_greeting_1.wav").astype(np.float32) / np.float32(32768)
    t = transcriber.transcribe(audio, "ru")
    assert "здравствуйте" in normalise(t.text) and t.language == "ru"
    assert t.words and t.words[0].start_s < 1.0


def test_packed_utterances_keep_their_own_words(transcriber: Transcriber) -> None:
    names = ["ru_shouting_1.wav", "en_greeting_1.wav", "ru_farewell_1.wav", "en_complaint_2.wav"]
    audios = [load_clip(n).astype(np.float32) / np.float32(32768) for n in names]
    out = transcriber.transcribe_many(audios, ["ru", "en", "ru", "en"])
    m = KeywordMatcher(VoiceConfig().lexicons())
    got = [sorted({h.category for h in m.match(t.text, t.language)}) for t in out]
    assert got == [["escalation"], ["greeting"], ["farewell"], ["escalation"]]
    assert all(
        w.end_s <= len(a) / 16000 + 0.05 for t, a in zip(out, audios, strict=True) for w in t.words
    )


def test_backlog_skips_when_behind_and_batches_one_language() -> None:
    from voice.asr import Backlog

    b = Backlog(max_s=10.0, window_s=6.0)
    sec = np.zeros(16000, np.float32)
    assert b.offer("a", np.tile(sec, 3), "ru") and b.offer("b", np.tile(sec, 2), "en")
    assert b.offer("c", np.tile(sec, 4), "ru")
    assert not b.offer("d", np.tile(sec, 2), "ru") and b.skipped == {"backlog": 1}
    assert [k for k, _, _ in b.take()] == ["a"]  # a + c would exceed the 6 s window
    assert [k for k, _, _ in b.take()] == ["b"] and [k for k, _, _ in b.take()] == ["c"]
    assert b.take() == [] and b.queued_s == 0.0
