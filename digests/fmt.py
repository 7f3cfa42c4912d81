
"""Words and numbers of a digest in Russian and English: one formatter per kind of value.

``value`` formats a history value the way the digest shows it (the tests format the
``/api/history`` value with the same function and compare the text); ``delta`` the change
against a comparison period, with its tone (better / worse for that metric).
"""

from __future__ import annotations

import datetime as dt
import math

from digests.report import Cell, Tone

MONTHS = {
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
           "сентября", "октября", "ноября", "декабря"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
MONTHS_NOM = {
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
           "октябрь", "ноябрь", "декабрь"),
    "en": MONTHS["en"],
}
MONTHS_SHORT = {
    "ru": ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
WEEKDAYS = {
    "ru": ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

# metric -> (ru, en, unit kind, higher is better)
METRICS: dict[str, tuple[str, str, str, bool]] = {
    "nps": ("NPS", "NPS", "score", True),
    "nps_with_non_responders": ("NPS с молчунами", "NPS with non-responders", "score", True),
    "csat": ("CSAT", "CSAT", "pct", True),
    "ces": ("CES (1–7)", "CES (1–7)", "mean", True),
    "buttons.index": ("Индекс кнопок", "Buttons index", "score", True),
    "response_rate": ("Уровень отклика", "Response rate", "share", True),
    "responses": ("Ответы NPS", "NPS answers", "count", True),
    "visits": ("Визиты", "Visits", "count", True),
    "sessions": ("Опрошены", "Surveyed", "count", True),
    "csi.total": ("CSI", "CSI", "index", True),
    "flow.contacts": ("Обращения", "Contacts", "count", True),
    "flow.answered_share": ("Доля отвеченных", "Answered", "share", True),
    "flow.mean_wait_s": ("Среднее ожидание", "Mean wait", "seconds", False),
    "flow.mean_hold_s": ("Среднее удержание", "Mean hold", "seconds", False),
    "incidents.opened": ("Инциденты открыто", "Incidents opened", "count", False),
    "incidents.sla_breached": ("Нарушен SLA", "SLA breached", "count", False),
    "incidents.within_sla": ("Решено в SLA", "Resolved within SLA", "share", True),
    "incidents.thanks_share": ("Доля благодарностей", "Thanks share", "share", True),
}

CATEGORIES = {
    "ru": {"claim": "претензия", "consultation": "консультация",
           "product_quality": "качество товара", "certificate": "справка",
           "service": "обслуживание", "thanks": "благодарность", "other": "другое"},
    "en": {"claim": "claim", "consultation": "consultation", "product_quality": "product quality",
           "certificate": "certificate", "service": "service", "thanks": "thanks",
           "other": "other"},
}
FACTORS = {
    "ru": {"tangibles": "Материальность", "reliability": "Надёжность",
           "responsiveness": "Отзывчивость", "assurance": "Убедительность",
           "empathy": "Сопереживание"},
    "en": {"tangibles": "Tangibles", "reliability": "Reliability",
           "responsiveness": "Responsiveness", "assurance": "Assurance", "empathy": "Empathy"},
}


def metric_name(metric: str, lang: str) -> str:
    entry = METRICS.get(metric)
    return (entry[0] if lang == "ru" else entry[1]) if entry else metric


def _num(x: float, places: int, lang: str) -> str:
    text = f"{x:,.{places}f}".replace(",", "\u202f")
    return text.replace(".", ",") if lang == "ru" else text


def value(metric: str, v: float | None, lang: str) -> str:
    """A history value as the digest shows it; "—" when there is no data."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    kind = METRICS.get(metric, ("", "", "mean", True))[2]
    if metric.startswith(("csi.", "buttons.shares")):
        kind = "index" if metric.startswith("csi.") else "share"
    if kind == "score":
        return _num(v, 1, lang)
    if kind == "pct":
        return _num(v, 1, lang) + "\u202f%"
    if kind == "share":
        return _num(v * 100, 1, lang) + "\u202f%"
    if kind == "count":
        return _num(v, 0, lang)
    if kind == "seconds":
        return duration(v, lang)
    if kind == "index":
        return _num(v, 3, lang)
    return _num(v, 2, lang)


def count(n: int | float, lang: str) -> str:
    return _num(n, 0, lang)


def duration(seconds: float, lang: str) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}\u202f{'с' if lang == 'ru' else 's'}"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}:{s:02d}"
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def delta(metric: str, now: float | None, before: float | None, lang: str) -> Cell:
    """The change from ``before`` to ``now`` in the metric's unit, toned better/worse."""
    if now is None or before is None:
        return Cell("—", "muted")
    kind = METRICS.get(metric, ("", "", "mean", True))[2]
    higher_better = METRICS.get(metric, ("", "", "", True))[3]
    d = now - before
    scale, places, unit = {"share": (100.0, 1, " п.п." if lang == "ru" else " pp"),
                           "pct": (1.0, 1, " п.п." if lang == "ru" else " pp"),
                           "count": (1.0, 0, ""), "index": (1.0, 3, ""),
                           "seconds": (1.0, 0, " с" if lang == "ru" else " s"),
                           "score": (1.0, 1, "")}.get(kind, (1.0, 2, ""))
    shown = round(d * scale, places)
    if shown == 0:
        return Cell("±0" + unit.replace(" ", "\u202f"), "muted")
    sign = "+" if shown > 0 else "−"
    tone: Tone = "good" if (shown > 0) == higher_better else "bad"
    if kind == "count":
        tone = "muted" if metric in ("responses", "visits", "sessions", "flow.contacts") else tone
    return Cell(f"{sign}{_num(abs(shown), places, lang)}{unit.replace(' ', chr(0x202f))}", tone)


def long_date(day: dt.date, lang: str, weekday: bool = True) -> str:
    wd = f"{WEEKDAYS[lang][day.weekday()]}, " if weekday else ""
    if lang == "ru":
        return f"{wd}{day.day} {MONTHS[lang][day.month - 1]} {day.year}"
    return f"{wd}{day.day} {MONTHS[lang][day.month - 1]} {day.year}"


def short_date(day: dt.date, lang: str) -> str:
    return f"{day.day:02d}.{day.month:02d}" if lang == "ru" else f"{day.month:02d}/{day.day:02d}"


def period_text(period: str, start: dt.date, last: dt.date, lang: str) -> str:
    if period == "day":
        return long_date(start, lang)
    if period == "week":
        week = start.isocalendar()[1]
        word = "неделя" if lang == "ru" else "week"
        return (f"{word} {week}: {long_date(start, lang, False)} – "
                f"{long_date(last, lang, False)}")
    return f"{MONTHS_NOM[lang][start.month - 1]} {start.year}"


def stamp(ms: int, tz: dt.tzinfo) -> str:
    """``2025-03-05 08:00 MSK``: an instant in the scope's zone."""
    t = dt.datetime.fromtimestamp(ms / 1000, tz)
    return t.strftime("%Y-%m-%d %H:%M ") + (t.tzname() or "")


def clock(ms: int, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M")
