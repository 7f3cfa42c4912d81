
"""The demo means something: CSI factors of their own, believable flow, realistic comments."""

from __future__ import annotations

import collections
import re
import statistics
from collections.abc import Callable
from functools import cache

import pytest

from cxpulse.config import load_config_text
from simulators.comments import write_comment
from simulators.csi import FACTOR_LEVELS, CsiProfile
from simulators.model import Emission, SimLocation, build_network
from simulators.scenarios import Plan
from simulators.traffic import generate, make_plan, questionnaire
from stream.events import CsatEvent, CsiEvent, FlowEvent, NpsEvent
from tests.support.sim_network import CONFIG, DAY_MS, MONDAY_MS
from text import Tagger, mask

HOUR_MS = 3_600_000
THURSDAY_NOON = MONDAY_MS + 3 * DAY_MS + 12 * HOUR_MS
CC_CONFIG = CONFIG + """
[[locations]]
id = "msk-kc"
name = "Москва, контакт-центр"
region = "msk"
timezone = "Europe/Moscow"
"""


@cache
def _events(scenario: str, hours: float, seed: int = 3,
            config: str = CONFIG) -> tuple[Plan, tuple[SimLocation, ...], list[Emission]]:
    cfg = load_config_text(config)
    network = build_network(cfg)
    plan = make_plan(network, scenario, THURSDAY_NOON - int(hours * HOUR_MS), THURSDAY_NOON, seed,
                     target="msk-b")
    return plan, network, generate(plan, network, questionnaire(cfg))


def _norm(ev: CsiEvent) -> float:
    return (ev.value - 1) / (ev.scale - 1)


def test_csi_factors_have_levels_of_their_own() -> None:
    _, _, events = _events("normal-day", 72)
    by_factor = collections.defaultdict(list)
    for e in events:
        if isinstance(e.event, CsiEvent):
            by_factor[e.event.factor].append(_norm(e.event))
    means = {f: statistics.fmean(v) for f, v in by_factor.items()}
    assert min(len(v) for v in by_factor.values()) > 400
    for factor, mean in means.items():  # the seed's levels, give or take each location's side
        assert mean == pytest.approx(FACTOR_LEVELS[factor], abs=0.07), (factor, mean)
    assert means["tangibles"] > max(means["responsiveness"], means["empathy"]) + 0.1


def test_csi_drifts_slowly_per_location() -> None:
    profile, other = CsiProfile("msk-a", seed=1), CsiProfile("msk-b", seed=1)
    days = [profile.level("empathy", "attention", MONDAY_MS + d * DAY_MS) for d in range(30)]
    hours = [profile.level("empathy", "attention", MONDAY_MS + h * HOUR_MS) for h in range(24)]
    assert 0.02 < max(days) - min(days) < 0.09  # moves over a month ...
    assert max(hours) - min(hours) < 0.01  # ... not within a day
    assert profile.level("empathy", "attention", MONDAY_MS) != other.level(
        "empathy", "attention", MONDAY_MS)
    assert CsiProfile("msk-a", seed=2).drift("empathy", MONDAY_MS) != profile.drift(
        "empathy", MONDAY_MS)


def test_bad_shift_lowers_responsiveness_and_empathy_most() -> None:
    plan, _, events = _events("bad-shift", 8)
    profile = CsiProfile(plan.target, plan.seed)
    drops = collections.defaultdict(list)  # the location's usual level minus the answer
    for e in events:
        ev = e.event
        late = e.ts_ms > plan.phase_ms + 600_000
        if isinstance(ev, CsiEvent) and e.location == plan.target and late:
            drops[ev.factor].append(profile.level(ev.factor, ev.question, e.ts_ms) - _norm(ev))
    drop = {f: statistics.fmean(v) for f, v in drops.items()}
    assert min(len(v) for v in drops.values()) > 30
    assert drop["tangibles"] > 0.1  # everything suffers ...
    assert drop["responsiveness"] > drop["tangibles"] + 0.1  # ... these the most
    assert drop["empathy"] > drop["tangibles"] + 0.1


def test_flow_is_tens_an_hour_per_branch_and_hundreds_at_a_contact_centre() -> None:
    _, network, events = _events("normal-day", 24, config=CC_CONFIG)
    noon = collections.Counter(e.location for e in events if isinstance(e.event, FlowEvent)
                               and THURSDAY_NOON - HOUR_MS <= e.ts_ms < THURSDAY_NOON)
    kinds = {loc.id: loc.contact_centre for loc in network}
    assert kinds == {"msk-a": False, "msk-b": False, "nsk-c": False, "msk-kc": True}
    assert 250 <= noon["msk-kc"] <= 800
    for loc in ("msk-a", "msk-b"):  # 11:00-12:00 Moscow: near the daily peak
        assert 20 <= noon[loc] <= 120, (loc, noon[loc])
    answers = [e.event for e in events if e.location == "msk-kc" and isinstance(e.event, NpsEvent)]
    assert {a.channel for a in answers} == {"sms", "web"}  # surveyed after the call


def _comments(events: list[Emission],
              where: Callable[[Emission], bool] = lambda e: True) -> list[tuple[str, int]]:
    """(text, nps of the session) of every comment, from the NPS or the CSAT answer."""
    nps = {e.event.session: e.event.value for e in events if isinstance(e.event, NpsEvent)}
    return [(e.event.comment, nps[e.event.session]) for e in events
            if isinstance(e.event, NpsEvent | CsatEvent) and e.event.comment and where(e)]


def test_comments_are_realistic_and_follow_the_rating() -> None:
    _, _, events = _events("normal-day", 72)
    sessions = {e.event.session: e.event.value for e in events if isinstance(e.event, NpsEvent)}
    comments = _comments(events)
    assert 0.22 < len(comments) / len(sessions) < 0.38
    low = sum(v <= 6 for v in sessions.values())
    low_commented = sum(v <= 6 for _, v in comments)
    high_commented = sum(v >= 9 for _, v in comments)
    assert low_commented / low > 1.8 * high_commented / sum(v >= 9 for v in sessions.values())
    tagger = Tagger()
    tags = [(tagger.tag(mask(text), v, "nps"), v) for text, v in comments]
    tagged = sum(bool(t.topics) for t, _ in tags) / len(tags)
    assert tagged > 0.8
    praise_high = sum("praise" in t.topics for t, v in tags if v >= 9)
    praise_low = sum("praise" in t.topics for t, v in tags if v <= 6)
    assert praise_high > 5 * max(praise_low, 1)
    urgent = sum(t.urgent for t, _ in tags) / len(tags)
    assert urgent < 0.01
    pii = sum(mask(text) != text for text, _ in comments) / len(comments)
    assert 0.01 < pii < 0.08
    russian_sites = [text for text, _ in _comments(events, lambda e: e.location != "nsk-c")]
    english = sum(not re.search("[а-яё]", t, re.IGNORECASE) for t in russian_sites)
    assert 0.08 < english / len(russian_sites) < 0.25  # ~15% English where Russian is spoken


def test_urgent_and_personal_data_come_in_the_right_doses() -> None:
    import random

    rng, tagger = random.Random(5), Tagger()
    texts = [write_comment(rng, "ru", rng.random()) for _ in range(6000)]
    urgent = sum(tagger.tag(mask(t)).urgent for t in texts) / len(texts)
    assert 0.001 < urgent < 0.01
    assert all(len(t) <= 2000 for t in texts)
    typos = [t for t in texts if t[:1].islower() or not t.endswith((".", "!", "?"))]
    assert len(typos) > 0.3 * len(texts)  # phones, not typewriters


def test_bad_shift_comments_complain_about_waits_and_staff_at_the_degraded_location() -> None:
    plan, _, events = _events("bad-shift", 8)
    tagger = Tagger()

    def shares(rows: list[tuple[str, int]]) -> tuple[dict[str, float], int]:
        tags = [tagger.tag(mask(text), v, "nps").topics for text, v in rows]
        return {k: sum(k in t for t in tags) / len(tags) for k in ("wait", "staff")}, len(tags)

    late = plan.phase_ms + 600_000
    bad, n_bad = shares(_comments(events, lambda e: e.location == plan.target and e.ts_ms > late))
    calm, n_calm = shares(_comments(events, lambda e: e.location != plan.target and e.ts_ms > late))
    assert n_bad > 40 and n_calm > 40
    assert bad["wait"] > calm["wait"] + 0.1 and bad["staff"] > calm["staff"] + 0.1, (bad, calm)
