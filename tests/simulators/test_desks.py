"""Desks: the simulated timeline (conversations + the location's feedback events) gives the
voice worker's encounter tracker whole conversations with realistic compliance."""

from __future__ import annotations

import bisect
import collections
import itertools
import random
from functools import cache

from cxpulse.config import load_config_text
from simulators.desks import (
    BEFORE_MS,
    SLOT_MS,
    STANDARD,
    Conversation,
    Habits,
    script,
    staff_habits,
)
from simulators.model import Emission, build_network
from simulators.scenarios import Plan
from simulators.traffic import Traffic, make_plan, questionnaire
from stream.events import EncounterEvent, FeedbackEvent
from tests.support.sim_network import CONFIG, DAY_MS, MONDAY_MS
from voice.encounters import EncounterTracker, closed_by_of, rating_of

HOUR_MS = 3_600_000
END = MONDAY_MS + 2 * DAY_MS + 20 * HOUR_MS  # Tuesday 20:00 Moscow


@cache
def _run(scenario: str, hours: float, target: str = "msk-b",
         seed: int = 4) -> tuple[Plan, list[Emission], dict[str, list[Conversation]]]:
    """(plan, events, conversations per location) of one run."""
    cfg = load_config_text(CONFIG)
    network = build_network(cfg)
    plan = make_plan(network, scenario, END - int(hours * HOUR_MS), END, seed, target=target)
    events = Traffic(plan, network, questionnaire(cfg)).advance(END)
    twin = Traffic(plan, network, questionnaire(cfg))  # same seed: the same conversations
    convs = {loc.id: twin.desks[loc.id].conversations(plan.start_ms, END) for loc in network}
    return plan, events, convs


def encounters(location: str, mic: str, events: list[Emission],
               convs: list[Conversation]) -> list[EncounterEvent]:
    """What the voice worker's tracker makes of one mic: its utterances (keywords as the
    lines say) and every feedback event of the location closing encounters."""
    tracker = EncounterTracker(location, mic)
    timeline: list[tuple[int, int, object]] = []
    for conv in convs:
        if conv.mic == mic:
            timeline += [(t, 1, line) for line, t in conv.lines]
    timeline += [(e.ts_ms, 0, e.event) for e in events
                 if e.location == location and isinstance(e.event, FeedbackEvent)]
    out: list[EncounterEvent] = []
    for t, kind, item in sorted(timeline, key=lambda x: x[:2]):
        if kind:
            speech_ms = t + 250  # the clip's lead-in silence
            tracker.finish(speech_ms, speech_ms + 2_800, 0.1,
                           frozenset({str(item)}) & frozenset(STANDARD))
        else:
            assert isinstance(item, FeedbackEvent)
            tracker.close(t, closed_by_of(item), rating_of(item))
        out += tracker.poll(t)
    return out + tracker.flush()


def compliance(encs: list[EncounterEvent]) -> dict[str, float]:
    n = len(encs)
    shares = {k: sum(getattr(e, k) for e in encs) / n for k in STANDARD}
    shares["all"] = sum(e.greeting and e.thanks and e.farewell for e in encs) / n
    return shares


def test_every_conversation_is_one_whole_encounter_with_its_rating() -> None:
    _, events, convs = _run("normal-day", 12)
    for loc, mics in (("msk-a", None), ("msk-b", None), ("nsk-c", None)):
        mine = convs[loc]
        for mic in mics or sorted({c.mic for c in mine}):
            at_mic = [c for c in mine if c.mic == mic and c.close_ms < END - 10_000]
            encs = [e for e in encounters(loc, mic, events, mine) if e.closed_by != "shutdown"]
            assert len(at_mic) > 50
            assert len(encs) == len(at_mic), (loc, mic)  # nothing split, nothing merged
            for enc, conv in zip(encs, at_mic, strict=True):
                assert enc.utterances == len(conv.lines)
                assert enc.closed_by in ("visit", "feedback")
                assert (enc.greeting, enc.thanks, enc.farewell) == tuple(conv.said().values())
                assert (enc.rating is not None) == (conv.press_ms is not None)


def test_a_normal_day_shows_realistic_compliance() -> None:
    _, events, convs = _run("normal-day", 24)
    encs = [e for loc, mine in convs.items() for mic in {c.mic for c in mine}
            for e in encounters(loc, mic, events, mine)]
    got = compliance(encs)
    assert len(encs) > 1000
    assert 0.82 <= got["greeting"] <= 0.93, got
    assert 0.72 <= got["thanks"] <= 0.86, got
    assert 0.66 <= got["farewell"] <= 0.82, got
    assert 0.5 <= got["all"] <= 0.7, got
    greeted = [e.rating for e in encs if e.rating is not None and e.greeting]
    not_greeted = [e.rating for e in encs if e.rating is not None and not e.greeting]
    assert sum(greeted) / len(greeted) > sum(not_greeted) / len(not_greeted) + 0.03


def test_the_bad_shift_drops_greetings_at_the_degraded_desks() -> None:
    plan, events, convs = _run("bad-shift", 8)
    late = plan.phase_ms + 15 * 60_000

    def shares(loc: str) -> dict[str, float]:
        mine = convs[loc]
        encs = [e for mic in {c.mic for c in mine} for e in encounters(loc, mic, events, mine)
                if e.start >= late]
        return compliance(encs)

    bad, calm = shares(plan.target), shares("msk-a")
    assert bad["greeting"] < calm["greeting"] - 0.25, (bad, calm)
    assert bad["all"] < calm["all"] - 0.2, (bad, calm)


def test_most_staff_keep_to_the_standard_some_skip_steps() -> None:
    network = build_network(load_config_text(CONFIG), extra=20)
    habits = [h for loc in network for h in staff_habits(loc)]
    skippers = [h for h in habits if h.greeting < 0.8]
    assert 0.12 < len(skippers) / len(habits) < 0.35
    rng = random.Random(1)
    diligent = Habits(0.97, 0.9, 0.85)
    lines = collections.Counter(
        line for _ in range(4000) for line in script(rng, diligent, 0.0, rng.random(), True))
    assert lines["thanks"] / 4000 > 0.8 and lines["complaint"] / 4000 < 0.15
    tense = collections.Counter(
        line for _ in range(4000) for line in script(rng, diligent, 0.8, rng.random(), True))
    assert tense["shouting"] > 10 * max(lines["shouting"], 1)
    assert tense["thanks"] < lines["thanks"]


def test_conversations_follow_each_other_with_room_for_other_events() -> None:
    _, events, convs = _run("normal-day", 12)
    for mine in convs.values():
        for a, b in itertools.pairwise(mine):
            assert a.end_ms <= a.close_ms < a.free_ms < b.start_ms
            assert all(t2 - t1 >= SLOT_MS for (_, t1), (_, t2) in itertools.pairwise(a.lines))
    for loc, mine in convs.items():  # the location's other feedback waits for quiet time
        starts = [c.start_ms for c in mine]
        own = {c.close_ms for c in mine} | {c.press_ms for c in mine if c.press_ms}
        for e in events:
            if e.location == loc and isinstance(e.event, FeedbackEvent) and e.ts_ms not in own:
                i = bisect.bisect_right(starts, e.ts_ms + BEFORE_MS) - 1
                assert i < 0 or e.ts_ms >= mine[i].free_ms, (e, mine[i])


def test_desk_audio_and_events_make_whole_encounters_through_the_voice_pipeline() -> None:
    """The mic's real audio through VAD + silero (as the voice worker runs it), keywords
    as the scheduled line says (recognition assumed right), closes from the events."""
    from dsp.silero import SileroGate
    from simulators.audio import MicFeed, load_clips
    from voice.pipeline import PipelineOptions, VoicePipeline

    cfg = load_config_text(CONFIG)
    network = build_network(cfg)
    loc = network[0]
    start = MONDAY_MS + DAY_MS + 12 * HOUR_MS  # Tuesday noon
    end = start + 12 * 60_000
    plan = make_plan(network, "normal-day", start - HOUR_MS, end, seed=2)
    traffic = Traffic(plan, network, questionnaire(cfg))
    traffic.advance(start)
    mic = loc.mics[0]
    feed = MicFeed.seeded(loc.id, mic, load_clips(), 2, loc.language, desk=traffic.desks[loc.id])
    pipeline = VoicePipeline(PipelineOptions(confirm=SileroGate()))
    tracker = EncounterTracker(loc.id, mic)
    heard = []
    for k in range((end - start) // 100):
        ts = start + 100 * k
        for e in traffic.advance(ts + 100):
            if e.location == loc.id and isinstance(e.event, FeedbackEvent):
                tracker.close(e.ts_ms, closed_by_of(e.event), rating_of(e.event))
        frame = feed.frame(ts)
        assert frame is not None
        heard += pipeline.feed(frame.pcm, frame.ts_ms, frame.rate_hz)
    convs = [c for c in traffic.desks[loc.id].conversations(start, end) if c.mic == mic]
    lines = sorted((t, line) for c in convs for line, t in c.lines)
    for u in heard + pipeline.flush():
        said = [line for t, line in lines if t - 500 <= u.start_ms < t + SLOT_MS]
        assert len(said) == 1, (u.start_ms, said)  # one utterance per line, nothing else
        tracker.finish(u.start_ms, u.end_ms, 0.0, frozenset(said) & frozenset(STANDARD))
    encs = [e for e in tracker.poll(end + 10_000) if e.closed_by != "shutdown"]
    whole = [c for c in convs if c.close_ms < end - 6_000]
    assert len(whole) >= 4
    assert [e.utterances for e in encs] == [len(c.lines) for c in whole]  # none split
    assert all(abs(e.start - c.start_ms) < 1_000 for e, c in zip(encs, whole, strict=True))
    assert [e.rating is not None for e in encs] == [c.press_ms is not None for c in whole]
    assert [(e.greeting, e.thanks, e.farewell) for e in encs] == [
        tuple(c.said().values()) for c in whole]
