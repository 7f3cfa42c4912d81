"""The per-mic session without NATS: chunks in, contract events out, a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.audio import Clip
from stream.events import (
    EncounterEvent,
    IncidentEvent,
    MicHeartbeat,
    VoiceEvent,
    VoiceKeyword,
    encode,
    validate_event,
)
from tests.support.voice import clip_frames
from voice.asr import Transcript, Word
from voice.audio import AudioChunk
from voice.config import VoiceConfig
from voice.encounters import EncounterOptions
from voice.keywords import KeywordMatcher
from voice.pipeline import PipelineOptions
from voice.session import MicSession, PendingUtterance, SessionSetup

T0 = 1_767_225_600_000
SETUP = SessionSetup(pipeline=PipelineOptions(), matcher=KeywordMatcher(VoiceConfig().lexicons()),
                     encounters=EncounterOptions(silence_ms=120_000, settle_ms=300),
                     idle_flush_s=2.0, heartbeat_every_ms=15_000)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def chunks(clips: dict[str, Any], names: list[str], **kw: Any) -> list[AudioChunk]:
    return [AudioChunk("shop", "desk1", f.seq, f.ts_ms, f.rate_hz, f.pcm)
            for f in clip_frames(clips, names, T0, **kw)]


def play(session: MicSession, clock: Clock, audio: list[AudioChunk]) -> list[PendingUtterance]:
    """Feed chunks as they would arrive (the clock moves with the audio)."""
    out: list[PendingUtterance] = []
    for c in audio:
        clock.now_s += c.duration_ms / 1000
        out += session.receive_audio(c)
    return out


def complaint() -> Transcript:
    text = "I want my money back, call me on 8 916 123 45 67"
    words = tuple(Word(w, 0.25 * i, 0.25 * i + 0.2) for i, w in enumerate(text.split()))
    return Transcript(text, words, "en")


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_an_angry_complaint_becomes_a_voice_event_with_the_sensor_report(
    clips: dict[str, Clip],
) -> None:
    clock = Clock()
    session = MicSession("shop", "desk1", "en", SETUP, clock=clock)
    [p] = play(session, clock, chunks(clips, ["en_complaint_2.wav"]))
    assert p.id == f"v-shop-desk1-{p.utterance.start_ms}" and p.language == "en"
    session.resolve(p, complaint(), "ok")
    events = session.events_to_send()

    [beat] = of_type(events, MicHeartbeat)
    assert (beat.location, beat.mic, beat.ts) == ("shop", "desk1", T0)
    [voice] = of_type(events, VoiceEvent)
    assert (voice.start, voice.end, voice.asr) == (p.utterance.start_ms, p.utterance.end_ms, "ok")
    assert voice.emotion.anger >= 0.7 and voice.transcript is not None
    assert "[телефон]" in voice.transcript and "916" not in voice.transcript  # masked
    assert voice.keywords == [VoiceKeyword("escalation", "money back", p.utterance.start_ms + 750)]
    assert of_type(events, IncidentEvent) == []  # the sensor reports, the case rules open
    assert voice.escalation is not None and voice.escalation.category == "claim"
    assert not hasattr(validate_event("voice", "shop", encode(voice), T0 + 60_000), "code")
    assert of_type(events, EncounterEvent) == []  # still open


def test_a_rating_closes_the_encounter_after_it_settles(clips: dict[str, Clip]) -> None:
    clock = Clock()
    session = MicSession("shop", "desk1", "ru", SETUP, clock=clock)
    [p] = play(session, clock, chunks(clips, ["ru_greeting_1.wav"]))
    greeting = Transcript("Здравствуйте!", (Word("Здравствуйте!", 0.1, 0.9),), "ru")
    session.resolve(p, greeting, "ok")
    session.events_to_send()
    rated_at = session.now_ms()
    session.receive_feedback(rated_at, "feedback", 1.0)
    assert of_type(session.events_to_send(), EncounterEvent) == []  # settling
    clock.now_s += 0.5
    assert session.tick() == []
    [enc] = session.events_to_send()
    assert isinstance(enc, EncounterEvent)
    assert (enc.greeting, enc.thanks, enc.closed_by, enc.rating, enc.utterances) == (
        True, False, "feedback", 1.0, 1)


@pytest.mark.parametrize("keep", [True, False])
def test_skipped_recognition_and_transcript_retention(clips: dict[str, Clip], keep: bool) -> None:
    clock = Clock()
    setup = SessionSetup(pipeline=SETUP.pipeline, matcher=SETUP.matcher, keep_transcripts=keep)
    session = MicSession("shop", "desk1", "en", setup, clock=clock)
    first, second = play(session, clock, chunks(clips, ["en_greeting_1.wav", "en_thanks_1.wav"]))
    session.resolve(first, None, "backlog")
    session.resolve(second, Transcript("Thank you", (Word("Thank", 0, 0.3),
                                                     Word("you", 0.3, 0.5)), "en"), "ok")
    a, b = of_type(session.events_to_send(), VoiceEvent)
    assert (a.asr, a.transcript, a.keywords) == ("backlog", None, [])
    assert b.transcript == ("Thank you" if keep else None)  # keywords are kept either way
    assert [k.category for k in b.keywords] == ["thanks"]
    assert session.counts["asr_backlog"] == session.counts["asr_ok"] == 1


def test_a_mic_that_stops_mid_utterance_is_flushed_when_idle(clips: dict[str, Clip]) -> None:
    clock = Clock()
    session = MicSession("shop", "desk1", "en", SETUP, clock=clock)
    audio = chunks(clips, ["en_neutral_1.wav"], gap_s=0.0)
    cut = len(audio) - 3  # the speech's tail, then nothing more arrives
    assert play(session, clock, audio[:cut]) == []
    clock.now_s += 1.0
    assert session.tick() == []
    clock.now_s += 1.5  # idle_flush_s passed
    [p] = session.tick()
    assert p.utterance.end_ms <= audio[cut - 1].end_ms
    assert session.now_ms() == audio[cut - 1].end_ms + 2500  # the audio clock runs on


def test_heartbeats_duplicates_and_eviction(clips: dict[str, Clip]) -> None:
    clock = Clock()
    session = MicSession("shop", "desk1", "en", SETUP, clock=clock)
    audio = chunks(clips, ["en_greeting_1.wav"], lead_s=20.0)
    pending = play(session, clock, audio)
    assert session.receive_audio(audio[5]) == []  # a repeated Cx-Seq is dropped
    assert session.counts["chunks"] == len(audio)
    events = session.events_to_send()
    beats = [e.ts for e in of_type(events, MicHeartbeat)]
    assert beats == [T0, T0 + 15_000]
    for p in pending:
        session.resolve(p, None, "disabled")
    clock.now_s += 3_600
    assert not session.evictable(3_600)  # an encounter is still open
    session.tick()  # the encounter closes by silence (120 s)
    assert [e.closed_by for e in of_type(session.events_to_send(), EncounterEvent)] == ["silence"]
    assert session.evictable(3_600) and not session.evictable(7_200)


def test_shutdown_resolves_the_utterance_in_progress_and_closes_the_encounter(
    clips: dict[str, Clip],
) -> None:
    clock = Clock()
    session = MicSession("shop", "desk1", "en", SETUP, clock=clock)
    audio = chunks(clips, ["en_neutral_1.wav"], gap_s=0.0)
    play(session, clock, audio[:-3])
    [p] = session.flush()
    session.resolve(p, None, "shutdown")
    session.close()
    events = session.events_to_send()
    assert [type(e).__name__ for e in events] == ["MicHeartbeat", "VoiceEvent", "EncounterEvent"]
    closing, utterance = events[-1], events[1]
    assert isinstance(closing, EncounterEvent) and isinstance(utterance, VoiceEvent)
    assert closing.closed_by == "shutdown" and utterance.asr == "shutdown"
