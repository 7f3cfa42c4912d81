"""Shaping for the flow, CSI, voice and alert tiles."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from dashboards import render_live
from dashboards.alertview import belongs, cards, per_location, playbook
from dashboards.csiview import csi_report
from dashboards.flowview import channel_mix, heatmap, vs_usual
from dashboards.scopes import page_topics
from dashboards.voiceview import standard, voice_summary
from stream.geography import Geo
from stream.push import Alert, PlaybookText, VoiceItem
from stream.readmodel import CsiQuestionResult, CsiResult, LocationView, VoiceResult
from tests.support.checks import present

NOW = 1_800_000_000_000


def test_heatmap_scales_to_the_peak_marks_now_and_pads() -> None:
    grid = [[0.0] * 24 for _ in range(7)]
    grid[2][10] = 8.0
    grid[2][11] = 2.0
    heat = heatmap(grid, weekday=2, hour=11)
    assert heat.peak == 8.0 and heat.rows[2][10].level == 1.0 and heat.rows[2][11].level == 0.25
    assert heat.rows[2][11].now and sum(c.now for row in heat.rows for c in row) == 1
    empty = heatmap([], 0, 0)
    assert len(empty.rows) == 7 and all(len(r) == 24 for r in empty.rows) and empty.peak == 0


def test_flow_against_usual_and_channel_mix() -> None:
    assert vs_usual(30, 20.0) == (1.5, "bad")
    assert vs_usual(25, 20.0)[1] == "warn" and vs_usual(10, 20.0)[1] == "good"
    assert vs_usual(10, None) == (None, "neutral") and vs_usual(3, 0.0) == (None, "neutral")
    assert channel_mix({"site": 1, "phone": 3, "email": 0}) == \
        [("phone", 3, 0.75), ("site", 1, 0.25)]
    assert channel_mix({}) == []


def test_csi_report_orders_and_flags_only_questions_clearly_below() -> None:
    qs = [CsiQuestionResult("tangibles", "clean", 0.9, 40),
          CsiQuestionResult("tangibles", "nav", 0.5, 40),
          CsiQuestionResult("empathy", "care", 0.6, 30),
          CsiQuestionResult("empathy", "smile", 0.1, 3),
          CsiQuestionResult("assurance", "skill", 0.3, 60)]
    csi = CsiResult(total=0.7, factors={"tangibles": 0.7, "empathy": 0.55, "assurance": 0.3},
                    answers=173, factor_answers={"tangibles": 80, "empathy": 33, "assurance": 60},
                    questions=qs)
    report = csi_report(csi, {("tangibles", "clean"): "Clean?"}, min_sample=10)
    assert [f.factor for f in report] == ["tangibles", "empathy", "assurance"]
    weak = {(f.factor, q.question) for f in report for q in f.questions if q.weakest}
    # nav: 0.5 of 40 (upper bound 0.65) under its factor's 0.7; skill, its factor's only
    # question, under the scope's 0.7; care is above its factor; smile has 3 answers only
    assert weak == {("tangibles", "nav"), ("assurance", "skill")}
    tangibles = report[0]
    assert [q.question for q in tangibles.questions] == ["clean", "nav"]
    assert tangibles.questions[0].text == "Clean?" and tangibles.questions[1].text == "nav"
    nav = tangibles.questions[1]
    assert nav.reference == 0.7 and nav.interval is not None and nav.interval[1] < 0.7
    smile = next(q for q in report[1].questions if q.question == "smile")
    assert smile.few and not smile.weakest


def test_csi_noise_is_not_flagged() -> None:
    """The issue's case: questions at 0.832 against others at 0.837 are all alike."""
    qs = [CsiQuestionResult("f", f"q{i}", v, 80) for i, v in enumerate((0.832, 0.837, 0.84))]
    csi = CsiResult(total=0.836, factors={"f": 0.836}, answers=240, factor_answers={"f": 240},
                    questions=qs)
    assert not any(q.weakest for f in csi_report(csi, {}, 10) for q in f.questions)


def item(seq: int, ago_s: float, **event: Any) -> VoiceItem:
    return VoiceItem(seq, NOW - int(ago_s * 1000), event)


def test_voice_meters_and_keywords() -> None:
    items = [item(1, 300, mic="m1", emotion={"anger": 0.9},
                  keywords=[{"category": "greeting", "word": "hi"}]),
             item(2, 30, mic="m1", emotion={"anger": 0.2}),
             item(3, 10, mic="m2", emotion={"anger": 0.7},
                  keywords=[{"category": "escalation", "word": "manager"}]),
             item(4, 5, device="m3", keywords="garbage")]
    s = voice_summary({"loc": items}, NOW)
    assert [(m.mic, m.anger) for m in s.mics] == [("m2", 0.7), ("m1", 0.2), ("m3", 0.0)]
    assert [h.word for h in s.hits] == ["manager", "hi"] and s.hits[0].angry
    assert voice_summary({}, NOW).mics == [] and s.utterances == 4


def test_standard_compliance_from_the_core_never_over_too_few_encounters() -> None:
    greeting = item(1, 5, mic="a", keywords=[{"category": "greeting", "word": "hi"}])
    hits = voice_summary({"loc": [greeting]}, NOW).hits
    voice = VoiceResult(encounters=12, compliance={"greeting": 0.9, "thanks": 0.5, "farewell": 0.75,
                                                   "all": 0.4},
                        rating_with_greeting=0.8, rating_without_greeting=0.5,
                        rated_with_greeting=10, rated_without_greeting=4)
    std = standard(voice, hits, min_sample=10)
    assert {i.name: i.share for i in std.items} == \
        {"greeting": 0.9, "thanks": 0.5, "farewell": 0.75, "all": 0.4}
    assert std.items[0].heard == 1 and not std.few
    assert (std.rating_with, std.rating_without) == (None, None)  # 4 rated without: too few
    few = standard(replace(voice, encounters=3), hits, 10)
    assert few.few and all(i.share is None for i in few.items)
    line = render_live.standard_line(few, "en", 10)
    assert "too few encounters: 3 of 10" in line and "%" not in line
    none = render_live.standard_line(standard(VoiceResult(), hits, 10), "ru", 10)
    assert "приветствие <b>×1</b>" in none


def geo() -> Geo:
    g = Geo("Europe/Moscow", {"msk": "Moscow", "ural": "Ural"})
    g.add([LocationView("a", "A", "msk", "Europe/Moscow", True),
           LocationView("b", "B", "msk", "Europe/Moscow", True),
           LocationView("e", "E", "ural", "Asia/Yekaterinburg", True)])
    return g


def alert(aid: str, loc: str, region: str, severity: str = "warning", status: str = "firing",
          starts: int = 0, **kw: Any) -> Alert:
    return Alert(id=aid, rule="r", status=status, severity=severity, scope=loc,
                 labels={"location": loc, "region": region}, starts_ms=starts, **kw)


def test_alerts_of_a_page_order_and_playbook_language() -> None:
    g = geo()
    alerts = [alert("1", "a", "msk", starts=1), alert("2", "b", "msk", "critical", starts=2),
              alert("3", "e", "ural", "critical", starts=3),
              alert("4", "a", "msk", status="pending"),
              alert("5", "a", "msk", status="resolved")]
    assert [c.alert.id for c in cards(alerts, "network", g, "ru")] == ["3", "2", "1", "4"]
    assert [c.alert.id for c in cards(alerts, "msk", g, "ru")] == ["2", "1", "4"]
    assert [c.alert.id for c in cards(alerts, "a", g, "ru")] == ["1", "4"]
    assert not belongs(alerts[2], "msk", g)
    assert per_location(alerts) == {"a": 2, "b": 1, "e": 1}
    only_en = alert("6", "a", "msk",
                    playbook={"ru": None, "en": PlaybookText("Red button", ["t"], ["a"])})
    assert present(playbook(only_en, "ru")).event == "Red button"
    assert playbook(alerts[0], "ru") is None


def test_scopes_and_the_topics_of_a_page() -> None:
    g = geo()
    assert (g.known_kind("network"), g.known_kind("msk"), g.known_kind("a"),
            g.known_kind("zzz")) == ("network", "region", "location", None)
    assert g.kind("zzz") == "location"  # what an unknown id denotes (access control)
    assert g.members("msk") == ["a", "b"] and g.members("network") == ["a", "b", "e"]
    assert g.parent("a") == "msk" and g.parent("msk") == "network" and g.parent("network") is None
    assert str(g.timezone("e")) == "Asia/Yekaterinburg"
    assert str(g.timezone("ural")) == "Europe/Moscow"
    assert page_topics(g, "a") == ["metrics:a", "incidents:a", "alerts", "voice:a"]
    assert page_topics(g, "msk") == ["metrics:msk", "incidents:msk", "alerts", "metrics:a",
                                     "metrics:b", "voice:a", "voice:b"]
