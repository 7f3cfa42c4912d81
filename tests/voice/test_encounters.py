"""Encounter tracking: service-standard parts, closes by rating/visit/silence, late keywords."""

from __future__ import annotations

import pytest

from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    FeedbackEvent,
    NpsEvent,
    VisitEvent,
)
from voice.encounters import EncounterOptions, EncounterTracker, closed_by_of, rating_of

T0 = 1_767_225_600_000
OPT = EncounterOptions(silence_ms=120_000, settle_ms=5_000)
G, TH, F = frozenset({"greeting"}), frozenset({"thanks"}), frozenset({"farewell"})


def said(tr: EncounterTracker, at_s: float, cats: frozenset[str] = frozenset(), anger: float = 0.1,
         dur_s: float = 2.0) -> None:
    start = T0 + int(at_s * 1000)
    tr.finish(start, start + int(dur_s * 1000), anger, cats)


def test_a_rating_closes_the_encounter_with_its_parts() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    said(tr, 0, G)
    said(tr, 5, anger=0.8)
    said(tr, 10, TH)
    tr.close(T0 + 14_000, "feedback", 0.75)
    assert tr.poll(T0 + 15_000) == []  # settling: more answers of the survey may follow
    [e] = tr.poll(T0 + 19_000)
    assert (e.greeting, e.thanks, e.farewell, e.utterances) == (True, True, False, 3)
    assert (e.start, e.end, e.ts, e.closed_by, e.rating) == (
        T0,
        T0 + 12_000,
        T0 + 14_000,
        "feedback",
        0.75,
    )
    assert e.anger_max == pytest.approx(0.8) and e.id == f"e-shop-desk-{T0}"
    assert tr.poll(T0 + 500_000) == []  # closed: no silence close after it


def test_silence_closes_and_starts_the_next_encounter() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    said(tr, 0, G)
    said(tr, 4, F)
    assert tr.poll(T0 + 100_000) == []
    said(tr, 300, G)  # long after: a new customer
    [e] = tr.poll(T0 + 302_000)
    assert (e.closed_by, e.ts, e.utterances, e.farewell, e.rating) == (
        "silence",
        T0 + 6_000,
        2,
        True,
        None,
    )
    [e2] = tr.poll(T0 + 302_000 + 120_000)
    assert (e2.start, e2.closed_by, e2.greeting) == (T0 + 300_000, "silence", True)


def test_keywords_still_in_recognition_hold_the_close() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    said(tr, 0, G)
    tr.begin(T0 + 6_000)              # the farewell, still being transcribed
    tr.close(T0 + 9_000, "feedback", 1.0)
    tr.begin(T0 + 12_000)             # the next customer, after the rating
    assert tr.poll(T0 + 30_000) == []
    tr.finish(T0 + 6_000, T0 + 8_000, 0.1, F)
    [e] = tr.poll(T0 + 30_000)
    assert (e.greeting, e.farewell, e.utterances, e.rating) == (True, True, 2, 1.0)
    tr.finish(T0 + 12_000, T0 + 13_000, 0.1, G)
    assert tr.poll(T0 + 30_000) == [] and tr.pending == 0


def test_a_visit_and_a_rating_close_once_with_the_rating() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    said(tr, 0, G)
    tr.close(T0 + 5_000, "visit")
    tr.close(T0 + 7_000, "feedback", 0.5)
    tr.close(T0 + 8_000, "feedback", 0.9)  # another answer of the same survey
    [e] = tr.poll(T0 + 20_000)
    assert (e.closed_by, e.rating, e.ts) == ("feedback", 0.5, T0 + 5_000)


def test_a_close_without_speech_is_ignored() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    tr.close(T0, "visit")
    assert tr.poll(T0 + 60_000) == [] and tr.pending == 0


def test_flush_closes_as_shutdown() -> None:
    tr = EncounterTracker("shop", "desk", OPT)
    said(tr, 0, G)
    tr.begin(T0 + 3_000)
    [e] = tr.flush()
    assert (e.closed_by, e.utterances, e.greeting) == ("shutdown", 2, True)


@pytest.mark.parametrize(("event", "rating", "by"), [
    (ButtonEvent(id="x", ts=T0, location="s", value=3, scale=3), 1.0, "feedback"),
    (ButtonEvent(id="x", ts=T0, location="s", value=2, scale=5), 0.25, "feedback"),
    (NpsEvent(id="x", ts=T0, location="s", value=7), 0.7, "feedback"),
    (CsatEvent(id="x", ts=T0, location="s", value=4), 0.75, "feedback"),
    (CesEvent(id="x", ts=T0, location="s", value=7), 1.0, "feedback"),
    (CsiEvent(id="x", ts=T0, location="s", factor="f", question="q", value=3), None, "feedback"),
    (VisitEvent(id="x", ts=T0, location="s"), None, "visit"),
])
def test_ratings_are_normalised(event: FeedbackEvent, rating: float | None, by: str) -> None:
    assert rating_of(event) == (pytest.approx(rating) if rating is not None else None)
    assert closed_by_of(event) == by
