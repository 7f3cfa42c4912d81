"""The case card (pure HTML): what a supervisor reads before acting on a case.

Text, the rating it came from and what the electronic mystery shopper heard around it
("no greeting, raised voice at desk 2"), the deadline with a live countdown, and every
step. Laid out in one column that reads on a 390 px phone as on a 1920 px wall; every
value is escaped (text comes from customers). ``now_ms`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urlencode

from dashboards import fmt
from dashboards.i18n import label
from stream.events import LinkedEncounter
from stream.incident_views import is_overdue, next_deadline
from stream.readmodel import IncidentView

ANGER_RAISED = 0.6  # peak anger from which the card says "raised voice"
_RU = {
    "title": "Обращение", "back": "← к стене", "deadline": "Срок", "left": "осталось",
    "overdue": "просрочено на", "resolved": "решено", "text": "Текст", "rating": "Оценка",
    "session": "сессия", "heard": "Что было слышно", "mic": "микрофон", "no_greeting":
    "без приветствия", "greeting": "приветствие было", "no_thanks": "без благодарности",
    "no_farewell": "без прощания", "raised": "повышенный голос", "anger": "гнев",
    "words": "слова", "transcript": "расшифровка", "steps": "Шаги", "nothing_heard":
    "у этой точки ничего не записано рядом по времени", "escalated": "эскалаций",
    "src_auto": "авто", "src_api": "API", "src_desk": "стойка", "st_open": "открыто",
    "st_assigned": "назначено", "st_resolved": "решено", "a_open": "открыто",
    "a_assign": "назначено", "a_comment": "комментарий", "a_resolve": "решено",
    "a_reopen": "открыто снова", "assignee": "Исполнитель", "nobody": "не назначен",
    "transfer": "передача", "resolve": "решение", "sla": "SLA нарушен",
    "sev_low": "низкая", "sev_normal": "обычная", "sev_high": "высокая",
    "sev_critical": "критическая", "d": "д", "h": "ч", "min": "мин",
}
_EN = {
    "title": "Case", "back": "← back to the wall", "deadline": "Deadline", "left": "left",
    "overdue": "overdue by", "resolved": "resolved", "text": "Text", "rating": "Rating",
    "session": "session", "heard": "What was heard", "mic": "microphone", "no_greeting":
    "no greeting", "greeting": "greeted", "no_thanks": "no thanks", "no_farewell":
    "no farewell", "raised": "raised voice", "anger": "anger", "words": "words",
    "transcript": "transcript", "steps": "Steps", "nothing_heard":
    "nothing recorded at this location around that time", "escalated": "escalations",
    "src_auto": "auto", "src_api": "API", "src_desk": "desk", "st_open": "open",
    "st_assigned": "assigned", "st_resolved": "resolved", "a_open": "opened",
    "a_assign": "assigned", "a_comment": "comment", "a_resolve": "resolved",
    "a_reopen": "reopened", "assignee": "Assignee", "nobody": "unassigned",
    "transfer": "transfer", "resolve": "resolution", "sla": "SLA breached",
    "sev_low": "low", "sev_normal": "normal", "sev_high": "high", "sev_critical": "critical",
    "d": "d", "h": "h", "min": "min",
}

CARD_CSS = """
.case { max-width: 980px; margin: 0 auto; font-size: 19px; line-height: 1.35; }
.case .head { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.case .head .t { font-size: 28px; font-weight: 700; }
.case section { background: #141b24; border-radius: 10px; padding: 10px 14px; margin: 8px 0; }
.case h3 { font-size: 16px; color: #93a1ae; text-transform: uppercase; letter-spacing: .04em;
           margin: 0 0 4px 0; font-weight: 400; }
.case .cd { font-size: 34px; font-weight: 700; font-variant-numeric: tabular-nums; }
.case .said { white-space: pre-wrap; overflow-wrap: anywhere; }
.case ul.steps { list-style: none; margin: 0; padding: 0; }
.case ul.steps li { padding: 4px 0; border-top: 1px solid #26313d; overflow-wrap: anywhere; }
.case ul.steps li:first-child { border-top: none; }
.case .tag { margin-right: 4px; }
@media (max-width: 520px) { .case { font-size: 17px; } .case .head .t { font-size: 22px; }
                            .case .cd { font-size: 26px; } }
"""


def _t(lang: str, key: str) -> str:
    return (_EN if lang == "en" else _RU).get(key, key)


def when(ts_ms: int, tz: dt.tzinfo, now_ms: int) -> str:
    """``HH:MM`` today, ``dd.mm HH:MM`` on another day (local time)."""
    at = dt.datetime.fromtimestamp(ts_ms / 1000, tz)
    today = dt.datetime.fromtimestamp(now_ms / 1000, tz).date()
    return at.strftime("%H:%M" if at.date() == today else "%d.%m %H:%M")


def heard_summary(e: LinkedEncounter, lang: str) -> list[str]:
    """The encounter in words: greeting/thanks/farewell missing, a raised voice."""
    out = [_t(lang, "greeting" if e.greeting else "no_greeting")]
    if not e.thanks:
        out.append(_t(lang, "no_thanks"))
    if not e.farewell:
        out.append(_t(lang, "no_farewell"))
    if e.anger_max >= ANGER_RAISED:
        out.append(_t(lang, "raised"))
    return out


def span_text(ms: int, lang: str) -> str:
    """``2 д 3 ч``, ``17 ч 50 мин``, ``12 мин`` (rounded up to the minute)."""
    minutes = -(-max(ms, 0) // 60_000)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f'{days} {_t(lang, "d")} {hours} {_t(lang, "h")}'
    if hours:
        return f'{hours} {_t(lang, "h")} {mins} {_t(lang, "min")}'
    return f'{mins} {_t(lang, "min")}'


def countdown(v: IncidentView, now_ms: int, lang: str) -> tuple[str, str]:
    """(text, tone) of the deadline the case races now."""
    if v.status == "resolved":
        return _t(lang, "resolved"), "good"
    deadline, _ = next_deadline(v)
    left = deadline - now_ms
    if is_overdue(v, now_ms):
        late = max(now_ms - deadline, 0)
        return f'{_t(lang, "overdue")} {span_text(late, lang)}', "bad"
    return f'{_t(lang, "left")} {span_text(left, lang)}', "warn" if left < 3_600_000 else "neutral"


def _linked(v: IncidentView, tz: dt.tzinfo, lang: str) -> str:
    link = v.linked
    if link is None:
        return ""
    parts = []
    if link.rating:
        parts.append(f'<b>{escape(link.rating.upper())}</b>')
    if link.session:
        parts.append(f'{_t(lang, "session")} {escape(link.session)}')
    rating = f'<section data-k="rating"><h3>{_t(lang, "rating")}</h3>{" · ".join(parts)}</section>'
    e = link.encounter
    if e is None:
        return rating + (f'<section data-k="heard"><h3>{_t(lang, "heard")}</h3><span class="muted">'
                         f'{_t(lang, "nothing_heard")}</span></section>' if link.rating else "")
    words = (f'<div>{_t(lang, "words")}: ' + ", ".join(f"«{escape(w)}»" for w in
             e.escalation_words) + "</div>") if e.escalation_words else ""
    said = (f'<div class="said muted">{_t(lang, "transcript")}: {escape(e.transcript)}</div>'
            if e.transcript else "")
    span = f'{fmt.clock(e.start, tz)}–{fmt.clock(e.end, tz)}'
    return rating + (
        f'<section data-k="heard"><h3>{_t(lang, "heard")}</h3>'
        f'<div class="bad" data-k="summary"><b>{escape(", ".join(heard_summary(e, lang)))}</b>'
        f' · {_t(lang, "mic")} {escape(e.mic)}</div>'
        f'<div class="muted">{span} · {_t(lang, "anger")} {e.anger_max:.2f}</div>{words}{said}'
        '</section>')


def _steps(v: IncidentView, tz: dt.tzinfo, now_ms: int, lang: str) -> str:
    items = []
    for s in v.steps:
        who = f' · {escape(s.who)}' if s.who else ""
        extra = f' → {escape(s.assignee)}' if s.action == "assign" and s.assignee else ""
        sev = (f' <span class="tag">{escape(_t(lang, "sev_" + (s.severity or "normal")))}</span>'
               if s.escalation else "")
        text = f'<div class="said">{escape(s.text)}</div>' if s.text and s.action != "open" else ""
        items.append(f'<li data-action="{escape(s.action)}"><b>{when(s.ts, tz, now_ms)}</b> '
                     f'{_t(lang, "a_" + s.action)}{extra}{sev}<span class="muted">{who}</span>'
                     f'{text}</li>')
    return f'<section data-k="steps"><h3>{_t(lang, "steps")}</h3><ul class="steps">' \
           f'{"".join(items)}</ul></section>'


def case_card(v: IncidentView, place: str, tz: dt.tzinfo, now_ms: int, lang: str) -> str:
    """The whole card of one case."""
    text, tone = countdown(v, now_ms, lang)
    deadline, kind = next_deadline(v)
    tags = [f'<span class="tag info">{_t(lang, "src_" + v.source)}</span>',
            f'<span class="tag{" bad" if v.status != "resolved" else ""}" data-k="status">'
            f'{_t(lang, "st_" + v.status)}</span>']
    if v.severity:
        tags.append(f'<span class="tag{" bad" if v.severity == "critical" else ""}" '
                    f'data-k="severity">{escape(_t(lang, "sev_" + v.severity))}</span>')
    if v.breached:
        tags.append(f'<span class="tag bad">{_t(lang, "sla")}</span>')
    if v.escalations:
        tags.append(f'<span class="tag">{_t(lang, "escalated")}: {v.escalations}</span>')
    nobody = f'<span class="muted">{_t(lang, "nobody")}</span>'
    assignee = escape(v.assignee) if v.assignee else nobody
    return (
        f'<div class="case" data-k="case" data-incident="{escape(v.incident)}">'
        f'<div class="head"><span class="t">{escape(label(lang, "cat", v.category))}</span>'
        f'<span class="muted">{escape(place)} · {when(v.opened_ms, tz, now_ms)}</span>'
        f'{"".join(tags)}</div>'
        f'<section data-k="deadline"><h3>{_t(lang, "deadline")} ({_t(lang, kind)}: '
        f'{when(deadline, tz, now_ms)})</h3><div class="cd {tone}" data-k="countdown">{text}</div>'
        f'<div>{_t(lang, "assignee")}: <b data-k="assignee">{assignee}</b></div></section>'
        f'<section data-k="text"><h3>{_t(lang, "text")}</h3><div class="said">'
        f'{escape(v.text or "—")}</div></section>'
        f'{_linked(v, tz, lang)}{_steps(v, tz, now_ms, lang)}</div>')


def texts(lang: str) -> dict[str, str]:
    """The card's words (the page's buttons use them too)."""
    return dict(_EN if lang == "en" else _RU)


def case_href(location: str, incident: str, scope: str, lang: str) -> str:
    """``./case?..`` of one case, back to the wall of ``scope`` (no token: the login cookie
    says who is looking); escaped for an attribute."""
    query = {"location": location, "incident": incident, "scope": scope, "lang": lang}
    return escape(f"./case?{urlencode(query)}")
