"""The wall's comments tile «Что говорят клиенты» / "What customers say" (pure).

Left: the newest comments of the scope (the ``comments:{scope}`` topic): the answer that
came with each (NPS 3, CSAT 2...), its local time, the location on a region or network
page, the masked text and its topic chips; urgent ones in red. Within the last hour the
urgent ones come first, then the detractors, then the rest; older ones follow, newest
first. Right: a bar per topic, its share of the period's comments today and over 7 days
(``/api/comments/topics``), with the change in percentage points against the period
before (yesterday; the 7 days before), shown only when both periods have at least
``min_sample`` comments. A rise is red for a complaint topic (its commenters' mean NPS
below 7), green for praise (mean NPS 9 or more), else neutral.

Sizes are fixed so the tile fits its box at 1920x1080: ``ROWS`` comment lines of one line
each (longer text ends in an ellipsis; the whole text is in the archive) and at most
``TOPICS_SHOWN`` topic rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from dashboards import fmt
from dashboards.i18n import t
from dashboards.theme import ACCENT, BAD, GOOD, MUTED, TEXT, WARN
from stream.comments import is_detractor
from stream.push import CommentItem

ROWS = 10
TOPICS_SHOWN = 9
RECENT_MS = 3_600_000
TopicNames = Mapping[str, tuple[str, str]]  # id -> (ru, en)


@dataclass(frozen=True)
class TopicBar:
    topic: str
    count: int
    share: float | None
    previous_share: float | None  # None: too few comments in one of the periods
    mean_nps: float | None


@dataclass(frozen=True)
class Period:
    """One period of the topic chart: its comments and bars (``None``: not fetched yet)."""

    comments: int
    previous: int
    bars: dict[str, TopicBar]


def period_of(comments: int, previous: int, topics: Sequence[tuple[str, int, int,
                                                                   float | None]],
              min_sample: int) -> Period:
    """A chart period from ``/api/comments/topics`` (``topics``: topic, count,
    previous_count, mean_nps); the previous share only when both periods have at least
    ``min_sample`` comments."""
    both = comments >= min_sample and previous >= min_sample
    bars = {tp: TopicBar(tp, n, n / comments if comments else None,
                         p / previous if both else None, mean)
            for tp, n, p, mean in topics}
    return Period(comments, previous, bars)


def ordered(items: Sequence[CommentItem], now_ms: int) -> list[CommentItem]:
    """Within the last hour urgent first, then detractors, then the rest; older ones after
    them; each group newest first."""
    def key(c: CommentItem) -> tuple[int, int]:
        if now_ms - c.ts_ms > RECENT_MS:
            return 3, -c.ts_ms
        group = 0 if c.urgent else 1 if is_detractor(c.type, c.value, c.scale) else 2
        return group, -c.ts_ms

    return sorted(items, key=key)


def score(c: CommentItem, lang: str) -> tuple[str, str]:
    """(text, tone) of the answer a comment came with."""
    if c.value is None:
        return "·", "muted"
    tone = "bad" if is_detractor(c.type, c.value, c.scale) else "good" if _happy(c) else "warn"
    if c.type == "button":
        return f'{t(lang, "cm_button")} {c.value}/{c.scale or 3}', tone
    if c.type == "csi":
        return f"CSI {c.value}/{c.scale or 5}", tone
    return f"{c.type.upper()} {c.value}", tone


def _happy(c: CommentItem) -> bool:
    value = c.value or 0
    if c.type == "nps":
        return value >= 9
    if c.type == "csat":
        return value >= 4
    if c.type == "ces":
        return value >= 6
    top = c.scale or (3 if c.type == "button" else 5)
    return value == top


def topic_name(topic: str, names: TopicNames, lang: str) -> str:
    pair = names.get(topic)
    if pair is None:
        return topic.replace("_", " ")
    return pair[0] if lang == "ru" else pair[1]


def _row(c: CommentItem, names: TopicNames, places: Mapping[str, str] | None,
         tz: dt.tzinfo, lang: str) -> str:
    text, tone = score(c, lang)
    cls = "cm-row urgent" if c.urgent else "cm-row"
    where = (f'<span class="cm-loc">{escape(places.get(c.location, c.location))}</span>'
             if places is not None else "")
    chips = "".join(f'<span class="chip">{escape(topic_name(tp, names, lang))}</span>'
                    for tp in c.topics[:2])
    flag = f'<span class="tag bad">{t(lang, "cm_urgent")}</span> ' if c.urgent else ""
    return (f'<div class="{cls}" data-k="comment" data-id="{escape(c.id)}">'
            f'<span class="cm-score {tone}">{escape(text)}</span>'
            f'<span class="cm-time">{fmt.clock(c.ts_ms, tz)}</span>{where}'
            f'<span class="cm-text">{flag}{escape(c.comment)}</span>'
            f'<span class="cm-chips">{chips}</span></div>')


def comment_list(items: Sequence[CommentItem], names: TopicNames,
                 places: Mapping[str, str] | None, tz: dt.tzinfo, lang: str,
                 now_ms: int) -> str:
    """The left half: at most ``ROWS`` comments in wall order."""
    rows = ordered(items, now_ms)[:ROWS]
    if not rows:
        return f'<div class="none">{t(lang, "cm_none")}</div>'
    return "".join(_row(c, names, places, tz, lang) for c in rows)


def change(bar: TopicBar) -> tuple[str, str]:
    """(text, tone) of the change of a topic's share against the period before."""
    if bar.share is None or bar.previous_share is None:
        return fmt.DASH, "muted"
    points = round((bar.share - bar.previous_share) * 100)
    if points == 0:
        return "=", "muted"
    up = points > 0
    complaint, praise = (bar.mean_nps is not None and bar.mean_nps < 7,
                         bar.mean_nps is not None and bar.mean_nps >= 9)
    tone = ("bad" if complaint else "good" if praise else "muted") if up else \
        ("good" if complaint else "bad" if praise else "muted")
    return f'{"▲" if up else "▼"}{abs(points)}', tone


def _cell(bar: TopicBar | None, top: float) -> str:
    if bar is None or not bar.count:
        return f'<td class="n muted">{fmt.DASH}</td><td></td><td></td>'
    width = 100 * (bar.share or 0) / top if top else 0
    delta, tone = change(bar)
    return (f'<td class="n">{fmt.pct(bar.share)}</td><td class="cm-bar"><div class="meter">'
            f'<div style="width:{width:.1f}%;background:{ACCENT}"></div></div></td>'
            f'<td class="n {tone}" data-k="delta">{delta}</td>')


def topic_chart(today: Period | None, week: Period | None, names: TopicNames,
                lang: str) -> str:
    """The right half: one row per topic with today's and the 7 days' share and change."""
    if today is None and week is None:
        return f'<div class="none">{t(lang, "cm_loading")}</div>'
    periods = [p or Period(0, 0, {}) for p in (today, week)]
    order = sorted({*periods[0].bars, *periods[1].bars},
                   key=lambda tp: (-(periods[1].bars.get(tp) or TopicBar(tp, 0, 0, None,
                                                                        None)).count, tp))
    order = [tp for tp in order if any(p.bars.get(tp) and p.bars[tp].count for p in periods)]
    tops = [max((b.share or 0 for b in p.bars.values()), default=0) for p in periods]
    head = "".join(
        f'<th colspan="3" class="n">{t(lang, key)} · n={fmt.count(p.comments)}</th>'
        for key, p in (("cm_today", periods[0]), ("cm_week", periods[1])))
    rows = "".join(
        f'<tr data-k="topic" data-topic="{escape(tp)}"><td class="cm-name">'
        f'{escape(topic_name(tp, names, lang))}</td>'
        f'{_cell(periods[0].bars.get(tp), tops[0])}{_cell(periods[1].bars.get(tp), tops[1])}'
        f"</tr>" for tp in order[:TOPICS_SHOWN])
    more = len(order) - TOPICS_SHOWN
    tail = f'<div class="sub">+{more}</div>' if more > 0 else ""
    empty = "" if order else f'<div class="none">{t(lang, "cm_no_topics")}</div>'
    return (f'<table class="cm-topics"><tr><th></th>{head}</tr>{rows}</table>{empty}{tail}'
            f'<div class="sub cm-note">{t(lang, "cm_change")}</div>')


STYLE = (
    "<style>.cm{display:grid;grid-template-columns:minmax(0,1fr) 700px;gap:18px}"
    ".cm-row{display:flex;align-items:center;gap:10px;height:31px;font-size:18px;"
    "border-bottom:1px solid #1f2833;white-space:nowrap}"
    ".cm-row.urgent{background:rgba(255,82,82,.16);box-shadow:inset 4px 0 0 " + BAD + "}"
    ".cm-row.urgent .cm-text{color:#ffb3b3;font-weight:700}"
    ".cm-score{flex:0 0 96px;font-weight:700;text-align:right;padding-right:4px}"
    ".cm-time{flex:0 0 50px;color:" + MUTED + ";font-variant-numeric:tabular-nums}"
    ".cm-loc{flex:0 0 150px;overflow:hidden;text-overflow:ellipsis;color:" + MUTED + "}"
    ".cm-text{flex:1 1 auto;min-width:0;overflow:hidden;text-overflow:ellipsis;color:"
    + TEXT + "}"
    ".cm-chips{flex:0 0 auto;display:flex;gap:4px}"
    ".chip{border-radius:10px;padding:0 8px;font-size:14px;background:#26313d;max-width:160px;"
    "overflow:hidden;text-overflow:ellipsis;color:" + TEXT + "}"
    ".cm-topics td,.cm-topics th{padding:1px 5px;font-size:17px;line-height:29px}"
    ".cm-topics .cm-name{max-width:190px}.cm-topics .cm-bar{width:110px}"
    ".cm-topics .meter{height:16px}.cm-note{font-size:15px;margin-top:2px;white-space:nowrap;"
    "overflow:hidden;text-overflow:ellipsis}"
    ".cm-right{border-left:1px solid #26313d;padding-left:14px;min-width:0}"
    f".tag.bad{{background:{BAD};color:#fff}} .warn{{color:{WARN}}} .good{{color:{GOOD}}}"
    # a tablet: the topics under the comments; a phone: each comment on two lines
    "@media (max-width:1299px){.cm{grid-template-columns:minmax(0,1fr)}"
    ".cm-right{border-left:none;padding-left:0;border-top:1px solid #26313d}}"
    "@media (max-width:699px){.cm-row{flex-wrap:wrap;height:auto;padding:3px 0;gap:2px 8px}"
    ".cm-score{flex-basis:auto;text-align:left}.cm-loc{flex:1 1 auto}"
    ".cm-text{flex:1 1 100%;white-space:normal}.cm-chips{flex-wrap:wrap}"
    ".cm-topics .cm-bar{width:60px}.cm-topics td,.cm-topics th{font-size:15px}}"
    "</style>")


def comments_tile(items: Sequence[CommentItem], today: Period | None, week: Period | None,
                  names: TopicNames, places: Mapping[str, str] | None, tz: dt.tzinfo,
                  lang: str, now_ms: int, error: str | None = None) -> str:
    """The whole tile; ``places`` (id -> name) on region and network pages, else None."""
    urgent = sum(1 for c in items if c.urgent and now_ms - c.ts_ms <= RECENT_MS)
    flag = (f'<span class="tag bad" data-k="cm-urgent">{t(lang, "cm_urgent_n", n=urgent)}'
            f"</span>" if urgent else "")
    left = (f'<div class="banner">{escape(error)}</div>' if error is not None
            else comment_list(items, names, places, tz, lang, now_ms))
    return (f'{STYLE}<div class="card" data-k="comments"><div class="h"><b>'
            f'{t(lang, "cm_title")}</b><span class="win">{flag} {t(lang, "cm_newest")}'
            f'</span></div><div class="cm"><div>{left}</div><div class="cm-right">'
            f"{topic_chart(today, week, names, lang)}</div></div></div>")
