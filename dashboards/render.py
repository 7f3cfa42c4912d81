"""HTML of the wall's tiles (pure: view models in, strings out).

Each tile carries ``data-k`` (what it is) and, where it shows a number, ``data-v`` (the
raw value) and ``data-n`` (its sample), so tests and the benchmark read values without
parsing the formatted text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from dashboards import fmt
from dashboards.csiview import FactorRow, QuestionRow
from dashboards.fmt import Score
from dashboards.i18n import label, t
from dashboards.theme import button_colour

Names = Mapping[str, str]


def _attr(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def win(lang: str, window: str, sample: int | None = None, unit: str = "n") -> str:
    """``1 ч · n=123``: every number on the wall says over what and over how many."""
    text = t(lang, f"win_{window}")
    return text if sample is None else f"{text} · {unit}={fmt.count(sample)}"


def value_block(s: Score, lang: str, min_sample: int, size: str = "big") -> str:
    """The big number, or why there is none."""
    if s.state == "few":
        return f'<div class="few">{escape(t(lang, "few_long", n=s.sample, min=min_sample))}</div>'
    if s.state == "none":
        return f'<div class="none">{escape(t(lang, "no_data"))}</div>'
    return f'<div class="{size} {s.tone}">{escape(s.text)}</div>'


def tile(key: str, title: str, window: str, s: Score, raw: float | None, lang: str,
         min_sample: int, sub: str = "") -> str:
    """One score tile: title and window with sample size, the value, a sub-line."""
    shown = raw if s.state == "ok" else None
    return (f'<div class="card" data-k="{key}" data-v="{_attr(shown)}" data-n="{s.sample}">'
            f'<div class="h"><b>{escape(title)}</b><span class="win">'
            f'{escape(win(lang, window, s.sample))}</span></div>'
            f'{value_block(s, lang, min_sample)}<div class="sub">{sub}</div></div>')


def nps_pair(h1: tuple[Score, float | None], today: tuple[Score, float | None], target: float,
             lang: str, min_sample: int) -> str:
    """NPS over the last hour and today side by side, against the target."""
    parts = []
    for key, window, (s, raw) in (("nps-1h", "1h", h1), ("nps-today", "today", today)):
        shown = raw if s.state == "ok" else None
        parts.append(f'<div data-k="{key}" data-v="{_attr(shown)}" data-n="{s.sample}">'
                     f'<div class="sub">{escape(win(lang, window, s.sample))}</div>'
                     f'{value_block(s, lang, min_sample)}</div>')
    return (f'<div class="h"><b>{t(lang, "nps")}</b><span class="win">{t(lang, "target")} '
            f'{fmt.signed(target)}</span></div><div class="pair">{"".join(parts)}</div>')


def buttons(shares: Mapping[str, float], counts: Mapping[str, int], presses: int,
            index: float | None, lang: str, min_sample: int) -> str:
    """Loyalty-button shares as one stacked bar (worst on the left) plus the index."""
    scale = max([3, *(int(k) for k, n in counts.items() if n > 0)])
    head = (f'<div class="h"><b>{t(lang, "buttons")}</b><span class="win">'
            f'{escape(win(lang, "today", presses))}</span></div>')
    values = range(1, scale + 1)
    attrs = " ".join(f'data-s{v}="{shares.get(str(v), 0.0):g}"' for v in values)
    tag = f'<div class="card" data-k="buttons" data-presses="{presses}" {attrs}>'
    if presses < min_sample:
        s = fmt.score(index, presses, min_sample, "", "neutral")
        return f'{tag}{head}{value_block(s, lang, min_sample)}</div>'
    segs = "".join(
        f'<div style="flex:{shares.get(str(v), 0.0):.4f} 1 0;background:{button_colour(v, scale)}">'
        f'{fmt.pct(shares.get(str(v), 0.0)) if shares.get(str(v), 0.0) >= 0.07 else ""}</div>'
        for v in values)
    legend = "".join(f'<span style="color:{button_colour(v, scale)}">{v}: '
                     f'{fmt.pct(shares.get(str(v), 0.0))} ({fmt.count(counts.get(str(v), 0))})'
                     f'</span>' for v in values)
    idx = f'{t(lang, "index")} <b class="mid">{fmt.decimal(index, 0)}</b> / 100'
    return f'{tag}{head}<div class="bar">{segs}</div><div class="legend">{legend}</div>' \
           f'<div class="sub" style="margin-top:6px">{idx}</div></div>'


def _question(q: QuestionRow, lang: str) -> str:
    """A question row; a flagged one says why: its 95 % interval against the reference."""
    index = fmt.index3(q.index)
    if q.few:
        index = f'<span class="muted">{index}</span>'
    mark, why = "", ""
    if q.interval is not None and q.reference is not None:
        lo, hi = q.interval
        why = t(lang, "ci_vs", lo=fmt.index3(lo), hi=fmt.index3(hi), ref=fmt.index3(q.reference),
                n=q.answers)
    if q.weakest:
        mark = f'<span class="tag bad" title="{escape(why)}">{t(lang, "weakest")}</span> '
    cls = "q weak" if q.weakest else "q"
    hi_attr = f' data-hi="{q.interval[1]:.4f}"' if q.interval is not None else ""
    return (f'<tr class="{cls}" data-q="{escape(q.question)}" data-n="{q.answers}"{hi_attr}>'
            f'<td class="grow" title="{escape(q.text)}{" · " + escape(why) if why else ""}">'
            f'{mark}{escape(q.text)}</td><td class="n">{index}</td>'
            f'<td class="n">{fmt.count(q.answers)}</td></tr>')


def csi(factors: Sequence[FactorRow], total: float | None, answers: int, lang: str,
        min_sample: int) -> str:
    """The CSI report: factor rows, their questions beneath, weakest ones highlighted."""
    rows = []
    for f in factors:
        rows.append(f'<tr class="f"><td class="grow">{escape(label(lang, "f", f.factor))}</td>'
                    f'<td class="n">{fmt.index3(f.index)}</td>'
                    f'<td class="n">{fmt.count(f.answers)}</td></tr>')
        for q in f.questions:
            rows.append(_question(q, lang))
    s = fmt.score(total, answers, min_sample, fmt.index3(total), "neutral")
    if s.state == "ok":
        shown = f'<span class="mid" style="font-size:40px">{fmt.index3(total)}</span>'
    elif s.state == "few":
        few = t(lang, "few_long", n=answers, min=min_sample)
        shown = f'<span class="warn">{escape(few)}</span>'
    else:
        shown = f'<span class="muted">{t(lang, "no_data")}</span>'
    head = (f'<div class="h"><span><b>{t(lang, "csi")}</b> {shown}</span><span class="win">'
            f'{escape(win(lang, "today", answers))}</span></div>')
    table = (f'<table><tr><th>{t(lang, "factor")}</th><th class="n">{t(lang, "index")}</th>'
             f'<th class="n">{t(lang, "answers")}</th></tr>{"".join(rows)}</table>') if rows else ""
    return (f'<div class="card" data-k="csi" data-v="{_attr(total if s.state == "ok" else None)}">'
            f'{head}{table}</div>')
