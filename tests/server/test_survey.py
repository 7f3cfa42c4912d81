"""QR survey rules: questions, events of the contract, cooldown cookie, rate limit."""

from __future__ import annotations

import json
import random

import pytest

from cxpulse.config import load_config_text
from server.survey import (
    CooldownCookie,
    RateLimiter,
    SurveyAnswers,
    SurveyError,
    pick_questions,
    survey_events,
)
from stream.events import validate_event

CFG = load_config_text("""
[[locations]]
id = "a"
[csi]
questions_per_survey = 2
[[csi.questions]]
id = "clean"
factor = "tangibles"
[[csi.questions]]
id = "speed"
factor = "responsiveness"
scale = 7
[[csi.questions]]
id = "care"
factor = "empathy"
""")
NOW_MS = 1_780_000_000_000


def test_questions_are_random_and_limited() -> None:
    picks = {tuple(q.id for q in pick_questions(CFG.csi.questions, 2, random.Random(s)))
             for s in range(40)}
    assert all(len(p) == 2 and len(set(p)) == 2 for p in picks)
    assert len(picks) > 3  # varies between surveys
    assert len(pick_questions(CFG.csi.questions, 9, random.Random(1))) == 3


def test_answers_become_valid_contract_events_with_one_session() -> None:
    answers = SurveyAnswers(nps=9, why="  Быстро  и\nвежливо ", csi={"speed": 6, "clean": 4})
    events = [json.loads(e) for e in survey_events(CFG, "a", answers, "s1", NOW_MS)]
    assert [e["type"] for e in events] == ["nps", "csi", "csi"]
    assert {e["session"] for e in events} == {"s1"} and {e["channel"] for e in events} == {"qr"}
    assert events[0]["comment"] == "Быстро и вежливо" and events[0]["value"] == 9
    speed = next(e for e in events if e.get("question") == "speed")
    assert (speed["factor"], speed["scale"], speed["value"]) == ("responsiveness", 7, 6)
    assert len({e["id"] for e in events}) == 3
    for raw in survey_events(CFG, "a", answers, "s1", NOW_MS):
        assert not hasattr(validate_event("feedback", "a", raw, NOW_MS), "code")


def test_no_comment_when_why_is_blank() -> None:
    (nps,) = survey_events(CFG, "a", SurveyAnswers(nps=3, why="   "), "s", NOW_MS)
    assert "comment" not in json.loads(nps)


@pytest.mark.parametrize(("csi", "field"), [({"nope": 3}, "csi.nope"), ({"clean": 6}, "csi.clean"),
                                            ({"speed": 0}, "csi.speed")])
def test_bad_answers_name_the_field(csi: dict[str, int], field: str) -> None:
    with pytest.raises(SurveyError) as info:
        survey_events(CFG, "a", SurveyAnswers(nps=5, csi=csi), "s", NOW_MS)
    assert info.value.field == field


def test_cooldown_cookie() -> None:
    c = CooldownCookie(b"k" * 32, 1800)
    value = c.issue("a", 1000.0)
    assert c.wait_s(value, "a", 1000.0) == 1800
    assert c.wait_s(value, "a", 2000.0) == 800
    assert c.wait_s(value, "a", 2800.0) == 0
    assert c.wait_s(value, "b", 1000.0) == 0  # per location
    assert c.wait_s(value.replace(".", ".0"), "a", 1000.0) == 0  # forged: ignored
    assert c.wait_s("junk", "a", 1000.0) == 0 and c.wait_s(None, "a", 1.0) == 0
    assert CooldownCookie(b"other", 1800).wait_s(value, "a", 1000.0) == 0


def test_rate_limiter_sliding_minute_and_bounded_memory() -> None:
    r = RateLimiter(3, max_keys=2)
    assert [r.allow("ip", t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert r.retry_after_s("ip", 3) == 57
    assert r.allow("ip", 60.5)  # the first hit left the window
    r.allow("x", 61)
    r.allow("y", 62)
    assert len(r._hits) == 2 and "ip" not in r._hits
