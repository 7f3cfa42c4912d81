"""The comments tile's pure parts: wall order, scores, the change of a topic's share and
its tone, escaping, the topic chart's rows."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dashboards.commentview import (
    TopicBar,
    change,
    comment_list,
    comments_tile,
    ordered,
    period_of,
    score,
    topic_chart,
)
from stream.push import CommentItem

NOW = 1_800_000_000_000
MIN = 60_000
TZ = ZoneInfo("Europe/Moscow")
NAMES = {"wait": ("Ожидание", "Waiting"), "staff": ("Персонал", "Staff")}


def item(i: str, ago_min: int, value: int | None = 9, type_: str = "nps", urgent: bool = False,
         text: str = "ok", topics: tuple[str, ...] = ()) -> CommentItem:
    return CommentItem(id=i, ts_ms=NOW - ago_min * MIN, location="a", type=type_, value=value,
                       comment=text, topics=list(topics), urgent=urgent, seq=1)


def test_urgent_then_detractors_first_within_the_hour_then_newest() -> None:
    items = [item("old-urgent", 90, 0, urgent=True), item("happy", 1), item("det", 30, 3),
             item("urgent", 50, 8, urgent=True), item("det-new", 5, 6), item("older", 70, 2)]
    assert [c.id for c in ordered(items, NOW)] == ["urgent", "det-new", "det", "happy",
                                                  "older", "old-urgent"]


def test_scores_and_their_tones() -> None:
    assert score(item("a", 1, 3), "ru") == ("NPS 3", "bad")
    assert score(item("a", 1, 7), "ru") == ("NPS 7", "warn")
    assert score(item("a", 1, 10), "en") == ("NPS 10", "good")
    assert score(item("a", 1, 2, "csat"), "en") == ("CSAT 2", "bad")
    button = CommentItem(id="b", ts_ms=NOW, location="a", type="button", value=1, scale=3,
                         comment="x")
    assert score(button, "ru") == ("кнопка 1/3", "bad")
    assert score(item("v", 1, None, "visit"), "ru") == ("·", "muted")


def test_change_in_points_coloured_by_what_the_topic_is() -> None:
    complaint = TopicBar("wait", 10, 0.5, 0.3, 4.2)
    assert change(complaint) == ("▲20", "bad")
    assert change(TopicBar("wait", 10, 0.2, 0.3, 4.2)) == ("▼10", "good")
    assert change(TopicBar("praise", 10, 0.5, 0.3, 9.6)) == ("▲20", "good")
    assert change(TopicBar("x", 10, 0.5, 0.3, None)) == ("▲20", "muted")
    assert change(TopicBar("x", 10, 0.3, 0.301, 5.0)) == ("=", "muted")
    assert change(TopicBar("x", 10, 0.3, None, 5.0))[0] == "—"


def test_period_of_needs_enough_comments_on_both_sides() -> None:
    enough = period_of(40, 20, [("wait", 10, 2, 4.0)], min_sample=10)
    assert enough.bars["wait"].share == 0.25 and enough.bars["wait"].previous_share == 0.1
    few = period_of(40, 5, [("wait", 10, 2, 4.0)], min_sample=10)
    assert few.bars["wait"].previous_share is None


def test_text_is_escaped_and_the_list_is_bounded() -> None:
    items = [item(f"c{i}", i, 2, text=f"<b>{i}</b> & co", topics=("wait",)) for i in range(30)]
    html = comment_list(items, NAMES, None, TZ, "ru", NOW)
    assert "<b>0</b>" not in html and "&lt;b&gt;0&lt;/b&gt; &amp; co" in html
    assert html.count('data-k="comment"') == 10 and "Ожидание" in html
    assert comment_list([], NAMES, None, TZ, "en", NOW).count("No comments yet") == 1


def test_topic_chart_rows_and_the_whole_tile() -> None:
    today = period_of(20, 30, [("wait", 8, 6, 3.1), ("staff", 2, 9, 6.0)], 10)
    week = period_of(150, 140, [("wait", 40, 20, 3.5), ("staff", 30, 28, 6.2),
                                ("parking", 3, 0, None)], 10)
    chart = topic_chart(today, week, NAMES, "en")
    assert chart.index('data-topic="wait"') < chart.index('data-topic="staff"') \
        < chart.index('data-topic="parking"')
    assert "today · n=20" in chart and "7 days · n=150" in chart and "parking" in chart
    assert topic_chart(None, None, NAMES, "ru").count("загружаются") == 1
    tile = comments_tile([item("u", 2, 0, urgent=True, text="угроза")], today, week, NAMES,
                         {"a": "Арбат"}, TZ, "ru", NOW)
    assert "Что говорят клиенты" in tile and "срочных за час: 1" in tile and "Арбат" in tile
    failed = comments_tile([], None, None, NAMES, None, TZ, "en", NOW, error="archive down")
    assert "archive down" in failed and "What customers say" in failed
