"""The wall's trend tile (pure): NPS, CSAT and the buttons index from the archive, by day
for 30 days and by month for 13 months, each with last year's line.

Input is the ``/api/history`` points (``dashboards.history``); output is HTML with inline
SVG (vector: sharp on a scaled page, no canvas to mis-measure itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from html import escape

from dashboards.theme import ACCENT, MUTED, TEXT

Point = tuple[str, float | None, float | None, int]  # period, value, last year's, sample
METRICS = (("nps", "NPS", "NPS"), ("csat", "CSAT", "CSAT"),
           ("buttons.index", "Индекс кнопок", "Buttons index"))
WORDS = {
    "ru": {"title": "Тренды из архива", "month": "13 месяцев", "day": "30 дней",
           "now": "сейчас", "last_year": "год назад"},
    "en": {"title": "Trends from the archive", "month": "13 months", "day": "30 days",
           "now": "now", "last_year": "a year ago"},
}
_MONTHS = {"ru": ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя",
                  "дек"),
           "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec")}


def nps_spark(days: Sequence[Point], live: float | None, today: dt.date,
              min_sample: int) -> list[tuple[int, float]]:
    """The NPS card's sparkline: the archive's NPS per local day (``days``, the history
    the trend tile shows, not a second one), days with fewer than ``min_sample`` answers
    left out, and today's live value as the last point (the archive's today lags it).
    x is the day's ordinal, so a missing day keeps its place."""
    points = [(dt.date.fromisoformat(period).toordinal(), value)
              for period, value, _, n in days
              if value is not None and n >= min_sample and len(period) == 10]
    points = [(x, v) for x, v in points if x < today.toordinal()]
    if live is not None:
        points.append((today.toordinal(), live))
    elif days and days[-1][0] == today.isoformat() and days[-1][1] is not None \
            and days[-1][3] >= min_sample:
        points.append((today.toordinal(), days[-1][1]))
    return [(x, float(v)) for x, v in points]


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 10:
        mid = (high + low) / 2
        low, high = mid - 5, mid + 5
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _path(values: Sequence[float | None], sx: Callable[[int], float],
          sy: Callable[[float], float]) -> list[str]:
    """Polyline point lists, broken where a period has no value."""
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{sx(i):.1f},{sy(v):.1f}")
    return [" ".join(r) for r in runs if r]


def chart(points: Sequence[Point], width: int = 300, height: int = 62) -> str:
    """This period's line (solid) over last year's (dashed); empty SVG without data."""
    now = [p[1] for p in points]
    before = [p[2] for p in points]
    values = [v for v in (*now, *before) if v is not None]
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" height="{height}" '
             'preserveAspectRatio="none" role="img">']
    if values and len(points) > 1:
        low, high = _bounds(values)

        def sx(i: int) -> float:
            return 4 + (width - 8) * i / (len(points) - 1)

        def sy(v: float) -> float:
            return 4 + (height - 8) * (high - v) / (high - low)

        for line in _path(before, sx, sy):
            parts.append(f'<polyline points="{line}" fill="none" stroke="{MUTED}" '
                         'stroke-width="2" stroke-dasharray="5 4"/>')
        for line in _path(now, sx, sy):
            parts.append(f'<polyline points="{line}" fill="none" stroke="{ACCENT}" '
                         'stroke-width="3" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return "".join(parts)


def _label(period: str, lang: str) -> str:
    if len(period) == 7:  # 2025-03
        return f"{_MONTHS.get(lang, _MONTHS['en'])[int(period[5:]) - 1]} {period[2:4]}"
    return period[5:]


def _last(points: Sequence[Point]) -> float | None:
    return next((p[1] for p in reversed(points) if p[1] is not None), None)


def _value(v: float | None, metric: str) -> str:
    if v is None:
        return "—"
    if metric == "nps":
        return f"{v:+.0f}"
    return f"{v:.0f}%" if metric == "csat" else f"{v:.0f}"


def trend_tile(series: Mapping[tuple[str, str], Sequence[Point]], lang: str) -> str:
    """Three rows (NPS, CSAT, buttons index), each with the 13-month and 30-day charts."""
    w = WORDS.get(lang, WORDS["en"])
    rows = []
    for metric, ru, en in METRICS:
        cells = []
        for by in ("month", "day"):
            points = series.get((metric, by), [])
            first = _label(points[0][0], lang) if points else ""
            last = _label(points[-1][0], lang) if points else ""
            cells.append(
                f'<div class="tr-cell" data-k="trend-{metric}-{by}" data-n="{len(points)}">'
                f'<div class="sub">{escape(w[by])} <span style="float:right">'
                f'{escape(first)} \u2013 {escape(last)}</span></div>{chart(points)}</div>')
        name = ru if lang == "ru" else en
        value = _value(_last(series.get((metric, "month"), [])), metric)
        rows.append(f'<div class="tr-row"><div class="tr-name"><b>{escape(name)}</b>'
                    f'<div class="mid" style="font-size:34px">{value}</div></div>'
                    f'{"".join(cells)}</div>')
    legend = (f'<span class="win"><b style="color:{ACCENT}">━</b> {escape(w["now"])}'
              f' &nbsp; <b style="color:{MUTED}">┅</b> {escape(w["last_year"])}</span>')
    style = ("<style>.tr-row{display:grid;grid-template-columns:150px 1fr 1fr;gap:10px;"
             "align-items:center;margin-top:2px}.tr-cell svg{display:block}"
             f".tr-name b{{color:{TEXT};font-size:19px}}"
             "@media (max-width:699px){.tr-row{grid-template-columns:1fr 1fr}"
             ".tr-name{grid-column:1/-1;display:flex;gap:12px;align-items:baseline}}</style>")
    return (f'{style}<div class="card" data-k="trends"><div class="h"><b>'
            f'{escape(w["title"])}</b>{legend}</div>{"".join(rows)}</div>')
