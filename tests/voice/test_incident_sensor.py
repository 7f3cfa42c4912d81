"""The contactless incident sensor: sustained anger, escalation and profanity, episodes."""

from __future__ import annotations

from stream.events import (
    VoiceCategory,
    VoiceEmotion,
    VoiceEvent,
    VoiceKeyword,
    encode,
    validate_event,
)
from tests.support.checks import present
from voice.incident_sensor import IncidentSensor, SensorOptions, Trigger, escalation_report

T0 = 1_767_225_600_000
OPT = SensorOptions(
    anger_threshold=0.7, anger_utterances=2, anger_window_ms=60_000, cooldown_ms=300_000
)


def kw(category: VoiceCategory, word: str) -> VoiceKeyword:
    return VoiceKeyword(category, word, T0)


def utt(s: IncidentSensor, at_s: float, anger: float, *keywords: VoiceKeyword) -> Trigger | None:
    start = T0 + int(at_s * 1000)
    return s.observe(start, start + 2000, anger, keywords)


def test_one_angry_utterance_is_not_an_incident_two_in_a_minute_are() -> None:
    s = IncidentSensor(OPT)
    assert utt(s, 0, 0.9) is None
    assert utt(s, 100, 0.95) is None          # the first one left the window
    t = utt(s, 130, 0.8)
    assert t is not None and t.category == "service" and "sustained anger: 2" in t.reason


def test_calm_speech_opens_nothing() -> None:
    s = IncidentSensor(OPT)
    assert all(utt(s, i * 5, 0.69, kw("greeting", "здравствуйте")) is None for i in range(20))


def test_escalation_words_are_a_claim_profanity_is_service() -> None:
    t = utt(IncidentSensor(OPT), 0, 0.2, kw("escalation", "позовите менеджера"))
    assert t is not None and t.category == "claim" and "«позовите менеджера»" in t.reason
    t = utt(IncidentSensor(OPT), 0, 0.9, kw("profanity", "идиот"))
    assert t is not None and t.category == "service" and t.words == ("идиот",)


def test_one_incident_per_episode_then_a_new_one_after_the_cool_down() -> None:
    s = IncidentSensor(OPT)
    assert utt(s, 0, 0.9, kw("escalation", "жалоба")) is not None
    assert utt(s, 10, 0.9) is None and utt(s, 20, 0.95, kw("profanity", "идиот")) is None
    assert utt(s, 200, 0.9, kw("escalation", "менеджер")) is None  # still within 300 s of the last
    assert utt(s, 600, 0.9, kw("escalation", "менеджер")) is not None
    assert s.episodes == 2


def test_out_of_order_utterances_count_on_event_time() -> None:
    s = IncidentSensor(OPT)
    assert utt(s, 50, 0.9) is None
    assert utt(s, 20, 0.9) is not None  # arrived later, happened earlier: two within 60 s


def test_the_sensor_reports_an_episode_the_case_rules_decide() -> None:
    t = utt(IncidentSensor(OPT), 0, 0.91, kw("escalation", "верните деньги"))
    report = escalation_report("shop1", "desk1", present(t))
    assert (report.category, report.words, report.anger) == ("claim", ["верните деньги"], 0.91)
    assert report.episode == f"vi-shop1-desk1-{T0}"  # a re-sent utterance repeats it
    voice = VoiceEvent(id="v1", ts=T0, location="shop1", mic="desk1", start=T0, end=T0 + 2000,
                       emotion=VoiceEmotion(0.9, 0.91), loudness_db=-20.0,
                       keywords=[kw("escalation", "верните деньги")], escalation=report)
    ok = validate_event("voice", "shop1", encode(voice), T0 + 5000, subject_mic="desk1")
    assert not hasattr(ok, "code"), ok
