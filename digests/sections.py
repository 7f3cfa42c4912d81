"""The blocks of a digest, from data already read (pure: no I/O, no clock).

Each function turns one kind of finding into a ``report.Table``; numbers are formatted by
``digests.fmt`` once, here. ``Compare`` names the comparison columns of the key-figures
table of each period (day: the day before and a week earlier; week: the week before;
month: the month before and a year earlier).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archive.records import FeedbackItem
from digests import fmt
from digests.records import CategoryCases, Contact
from digests.report import Cell, Table, Tone
from digests.source import Point
from digests.words import say
from stream.readmodel import IncidentView


@dataclass(frozen=True, slots=True)
class Compare:
    label: str  # the period shown
    others: tuple[tuple[str, str], ...]  # (column title, period label)


def kpi_table(lang: str, period: str, metrics: Sequence[str],
              data: Mapping[str, Mapping[str, Point]], cmp: Compare) -> Table:
    """Value, sample and change against each comparison period, one row per metric."""
    rows: list[tuple[Cell, ...]] = []
    for metric in metrics:
        points = data[metric]
        now = points.get(cmp.label)
        v = now.value if now else None
        row = [Cell(fmt.metric_name(metric, lang)),
               Cell(fmt.value(metric, v, lang), ref=f"{metric}@{cmp.label}", bold=True),
               Cell(fmt.count(now.n, lang) if now else "—", "muted", ref=f"n:{metric}@{cmp.label}")]
        for _, other in cmp.others:
            before = points.get(other)
            had = before is not None and before.n > 0  # no sample: nothing to compare with
            d = fmt.delta(metric, v, before.value if before and had else None, lang)
            row.append(Cell(d.text, d.tone, ref=f"d:{metric}@{cmp.label}@{other}"))
        rows.append(tuple(row))
    visits, sessions = data.get("visits", {}).get(cmp.label), data.get("sessions", {}).get(
        cmp.label)
    if visits and sessions and visits.value is not None and sessions.value is not None:
        silent = max(int(visits.value) - int(sessions.value), 0)
        rows.append((Cell(say(lang, "non_responders")), Cell(fmt.count(silent, lang), bold=True),
                     Cell(""), *(Cell("") for _ in cmp.others)))
    columns = (say(lang, "col.metric"), say(lang, "col.value"), say(lang, "col.n"),
               *(title for title, _ in cmp.others))
    return Table(say(lang, "kpi"), columns, tuple(rows), note=say(lang, f"kpi.note.{period}"),
                 widths=(34, 18, 14, *(17 for _ in cmp.others)))


def _rating(item: FeedbackItem) -> str:
    scale = {"nps": "/10", "csat": "/5", "ces": "/7"}.get(item.type, f"/{item.scale or ''}")
    return f"{item.type.upper() if item.type != 'button' else '●'} {item.value}{scale}"


def low_ratings_table(lang: str, items: Sequence[FeedbackItem], names: Mapping[str, str],
                      topic_names: Mapping[str, str], detractors: int) -> Table:
    rows = tuple((Cell(item.ts[11:16]), Cell(names.get(item.location, item.location)),
                  Cell(_rating(item), "bad"), Cell(item.comment or ""),
                  Cell(", ".join(topic_names.get(t, t) for t in item.topics or ()), "muted"))
                 for item in items)
    return Table(say(lang, "low"), (say(lang, "col.time"), say(lang, "col.location"),
                                    say(lang, "col.rating"), say(lang, "col.comment"),
                                    say(lang, "col.topics")),
                 rows, note=say(lang, "low.note", detractors=fmt.count(detractors, lang)),
                 empty=say(lang, "low.empty"), widths=(9, 20, 12, 42, 17))


def cases_table(lang: str, overdue: Sequence[IncidentView], breached: Sequence[IncidentView],
                names: Mapping[str, str], tz: dt.tzinfo, now_text: str, limit: int) -> Table:
    """Open incidents past a deadline, then those closed late in the period."""
    def when(ms: int | None) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%d.%m %H:%M") if ms else "—"

    rows = []
    for v in [*overdue, *breached][:limit]:
        deadline = v.transfer_deadline_ms if (v.assigned_ms is None and v.transfer_deadline_ms
                                              and v.transfer_deadline_ms < v.resolve_deadline_ms
                                              ) else v.resolve_deadline_ms
        status = say(lang, f"status.{v.status}")
        rows.append((Cell(v.incident), Cell(names.get(v.location, v.location)),
                     Cell(fmt.CATEGORIES[lang].get(v.category, v.category)),
                     Cell(when(v.opened_ms)), Cell(when(deadline), "bad"),
                     Cell(status, "bad" if v.status != "resolved" else "muted")))
    return Table(say(lang, "cases"), (say(lang, "col.case"), say(lang, "col.location"),
                                      say(lang, "col.category"), say(lang, "col.opened"),
                                      say(lang, "col.deadline"), say(lang, "col.status")),
                 tuple(rows), note=say(lang, "cases.note", now=now_text),
                 empty=say(lang, "cases.empty"), widths=(18, 22, 17, 14, 14, 15))


def alerts_table(lang: str, period: str, rows_in: Sequence[Mapping[str, str]],
                 names: Mapping[str, str], tz: dt.tzinfo, limit: int = 30) -> Table:
    """Alert state changes (firing / resolved) of the period, oldest first."""
    rows = []
    for r in rows_in[:limit]:
        t = dt.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).astimezone(tz)
        where = r.get("location") or r.get("scope") or ""
        tone: Tone = "bad" if r.get("status") == "firing" else "good"
        rows.append((Cell(t.strftime("%d.%m %H:%M") if period != "day" else t.strftime("%H:%M")),
                     Cell(r.get("rule", "")), Cell(r.get("severity", ""), "muted"),
                     Cell(names.get(where, where)), Cell(r.get("status", ""), tone)))
    return Table(say(lang, "alerts" if period == "day" else "alerts.week"),
                 (say(lang, "col.time"), say(lang, "col.rule"), say(lang, "col.severity"),
                  say(lang, "col.scope"), say(lang, "col.status")),
                 tuple(rows), empty=say(lang, "alerts.empty"), widths=(14, 30, 14, 26, 16))


def contacts_table(lang: str, key: str, contacts: Sequence[Contact], names: Mapping[str, str],
                   tz: dt.tzinfo) -> Table:
    rows = tuple((Cell(dt.datetime.fromtimestamp(c.ts_ms / 1000, tz).strftime("%d.%m %H:%M")),
                  Cell(names.get(c.location, c.location)), Cell(c.channel),
                  Cell(fmt.duration(c.seconds, lang), "bad", bold=True)) for c in contacts)
    return Table(say(lang, key), (say(lang, "col.time"), say(lang, "col.location"),
                                  say(lang, "col.channel"), say(lang, "col.duration")),
                 rows, empty=say(lang, f"{key}.empty"), widths=(20, 40, 20, 20))


def categories_table(lang: str, cats: Mapping[str, CategoryCases], *, month: bool) -> Table:
    """Cases per category: opened, SLA breached, resolved and the share within SLA."""
    order = sorted(cats.items(), key=lambda kv: (kv[0] == "thanks", -kv[1].opened, kv[0]))
    rows: list[tuple[Cell, ...]] = []
    total = CategoryCases()  # the incidents of the history: thanks are not incidents
    for name, c in order:
        if name != "thanks":
            total.opened += c.opened
            total.breached += c.breached
            total.resolved += c.resolved
            total.on_time += c.on_time
        rows.append(_category_row(lang, fmt.CATEGORIES[lang].get(name, name), c, name))
    if len(rows) > 1:
        rows.append(_category_row(lang, say(lang, "total"), total, "", bold=True))
    return Table(say(lang, "categories.month" if month else "categories"),
                 (say(lang, "col.category"), say(lang, "col.count"), say(lang, "col.breached"),
                  say(lang, "col.resolved"), say(lang, "col.within_sla")),
                 tuple(rows), empty=say(lang, "categories.empty"), widths=(32, 17, 17, 17, 17))


def _category_row(lang: str, label: str, c: CategoryCases, name: str,
                  bold: bool = False) -> tuple[Cell, ...]:
    thanks = name == "thanks"
    share = None if thanks or not c.resolved else c.on_time / c.resolved
    return (Cell(label, bold=bold), Cell(fmt.count(c.opened, lang), bold=bold),
            Cell("—" if thanks else fmt.count(c.breached, lang), "bad" if c.breached else ""),
            Cell("—" if thanks else fmt.count(c.resolved, lang)),
            Cell(fmt.value("incidents.within_sla", share, lang),
                 "" if share is None else ("good" if share >= 0.9 else "bad")))


def topics_table(lang: str, counts: Counter[str], total: int, topic_names: Mapping[str, str],
                 limit: int = 8) -> Table:
    rows = tuple((Cell(topic_names.get(t, t)), Cell(fmt.count(n, lang), bold=True),
                  Cell(fmt.value("response_rate", n / total if total else None, lang), "muted"))
                 for t, n in counts.most_common(limit))
    return Table(say(lang, "topics"), (say(lang, "col.topic"), say(lang, "col.count"),
                                       say(lang, "col.share")), rows,
                 note=say(lang, "topics.note", total=fmt.count(total, lang)),
                 empty=say(lang, "topics.empty"), widths=(50, 25, 25))


def ranking_tables(lang: str, ranked: Sequence[tuple[str, Point]], names: Mapping[str, str],
                   label: str, limit: int, min_sample: int) -> list[Table]:
    """Best and worst locations by NPS (``ranked``: best first), with their samples."""
    def table(key: str, part: Sequence[tuple[str, Point]]) -> Table:
        rows = tuple((Cell(names.get(loc, loc)),
                      Cell(fmt.value("nps", p.value, lang), "good" if key == "best" else "bad",
                           ref=f"nps@{label}@{loc}", bold=True),
                      Cell(fmt.count(p.n, lang), "muted", ref=f"n:nps@{label}@{loc}"))
                     for loc, p in part)
        return Table(say(lang, key), (say(lang, "col.location"), "NPS", say(lang, "col.n")),
                     rows, note=say(lang, "best.note", min=min_sample),
                     empty=say(lang, "best.empty"), widths=(60, 20, 20))

    if len(ranked) < 2:
        return [table("best", ranked)]
    k = min(limit, (len(ranked) + 1) // 2)  # a location is never both best and worst
    worst = list(reversed(ranked[k:]))[:limit]
    return [table("best", ranked[:k]), table("worst", worst)]


def csi_table(lang: str, questions: Sequence[tuple[str, str, str]],
              data: Mapping[str, Point], label: str) -> Table:
    """The seed's clinic table: per factor its satisfaction row, then its questions, each
    with index and answers (``questions``: (factor, question id, text))."""
    rows: list[tuple[Cell, ...]] = []
    factors: list[str] = []
    for factor, _, _ in questions:
        if factor not in factors:
            factors.append(factor)
    for factor in factors:
        p = data.get(f"csi.factors.{factor}")
        name = fmt.FACTORS[lang].get(factor, factor)
        rows.append((Cell(name, bold=True), Cell(say(lang, "csi.factor"), bold=True),
                     *_index_cells(lang, p, f"csi.factors.{factor}", label, bold=True)))
        for f, qid, text in questions:
            if f == factor:
                q = data.get(f"csi.questions.{qid}")
                rows.append((Cell(""), Cell(text), *_index_cells(lang, q, f"csi.questions.{qid}",
                                                                 label)))
    total = data.get("csi.total")
    rows.append((Cell(say(lang, "csi.total"), bold=True), Cell(""),
                 *_index_cells(lang, total, "csi.total", label, bold=True)))
    return Table(say(lang, "csi"), (say(lang, "col.factor"), say(lang, "col.question"),
                                    say(lang, "col.index"), say(lang, "col.n")),
                 tuple(rows), note=say(lang, "csi.note"), widths=(20, 52, 14, 14))


def _index_cells(lang: str, p: Point | None, metric: str, label: str,
                 bold: bool = False) -> tuple[Cell, Cell]:
    v = p.value if p else None
    tone: Tone = "" if v is None else ("good" if v >= 0.75 else "bad" if v < 0.6 else "")
    return (Cell(fmt.value(metric, v, lang), tone, ref=f"{metric}@{label}", bold=bold),
            Cell(fmt.count(p.n if p else 0, lang), "muted", ref=f"n:{metric}@{label}"))
