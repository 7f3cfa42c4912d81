"""Build one digest: read the archive for its period, lay out the report, attach files.

    built = await build_digest(cfg, spec, slot, archive, now_ms, late_note="")
    built.report          # digests.report.Report -> digests.html / digests.pdf
    built.attachments     # the PDF and the CSV records (a zip of feedback, flow, incidents)

Order of work: key figures (history, one query per metric over the period and its
comparison periods) -> the period's sections -> attachments. Every record file is written
to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from archive import periods
from digests import charts, fmt, pdf, records, sections
from digests.config import DigestConfig, DigestSettings
from digests.report import Block, Chart, Charts, Paragraph, Report
from digests.schedule import Slot
from digests.source import Archive, Point, Source
from digests.words import say
from stream.geography import Geo
from stream.ids import NETWORK
from stream.incident_views import is_overdue
from stream.readmodel import CoreReader, IncidentView

DAY_METRICS = ("nps", "nps_with_non_responders", "csat", "ces", "buttons.index",
               "response_rate", "responses", "visits", "sessions", "flow.contacts",
               "incidents.opened", "incidents.sla_breached")
WEEK_METRICS = (*DAY_METRICS, "flow.answered_share", "flow.mean_wait_s", "flow.mean_hold_s",
                "incidents.within_sla")
MONTH_METRICS = (*WEEK_METRICS, "csi.total")
TRENDS = ("nps", "csat", "ces", "buttons.index", "response_rate", "csi.total")
HEADLINE = ("nps", "csat", "response_rate")
LIST_LIMIT = 20  # rows of a list section
TOP_CONTACTS = 10
RANK_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    data: bytes


@dataclass(slots=True)
class Built:
    report: Report
    attachments: list[Attachment] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    history_queries: int = 0


@dataclass(frozen=True, slots=True)
class Ctx:
    cfg: DigestSettings
    spec: DigestConfig
    slot: Slot
    lang: str
    geo: Geo
    tz: dt.tzinfo
    names: dict[str, str]
    topic_names: dict[str, str]
    now_ms: int


def context(cfg: DigestSettings, spec: DigestConfig, slot: Slot, now_ms: int) -> Ctx:
    lang = spec.lang or cfg.core.language
    geo = Geo.from_config(cfg)
    names = {p.id: p.name for p in geo.places.values()} | dict(geo.region_names)
    names[NETWORK] = say(lang, "network")
    comments = getattr(cfg, "comments", None)
    topics = {t.id: (t.name_ru if lang == "ru" else t.name_en)
              for t in getattr(comments, "topics", ())}
    return Ctx(cfg, spec, slot, lang, geo, geo.timezone(spec.scope), names, topics, now_ms)


def compare_of(ctx: Ctx) -> tuple[sections.Compare, dt.date]:
    """The comparison columns of the period and the first date the history must cover."""
    by, start, lang = ctx.spec.period, ctx.slot.start, ctx.lang
    label = periods.label(start, by)
    prev = periods.previous_start(start, by)
    if by == "day":
        week = start - dt.timedelta(days=7)
        return sections.Compare(label, ((say(lang, "col.vs_prev.day"), periods.label(prev, by)),
                                        (say(lang, "col.vs_week"), periods.label(week, by)))), week
    if by == "week":
        return sections.Compare(label, ((say(lang, "col.vs_prev.week"),
                                         periods.label(prev, by)),)), prev
    year = start.replace(year=start.year - 1)
    return sections.Compare(label, ((say(lang, "col.vs_prev.month"), periods.label(prev, by)),
                                    (say(lang, "col.vs_year"), periods.label(year, by)))), year


async def build_digest(cfg: DigestSettings, spec: DigestConfig, slot: Slot, archive: Archive,
                       now_ms: int, *, late_note: str = "",
                       live: CoreReader | None = None) -> Built:
    """The digest of ``slot``; ``live``: the core of this process (the open incidents),
    when there is one."""
    ctx = context(cfg, spec, slot, now_ms)
    with tempfile.TemporaryDirectory(prefix="cxpulse-digest-") as tmp:
        source = Source(archive, spec.scope, Path(tmp))
        t0 = time.perf_counter()
        report, _ = await _key_figures(ctx, source, late_note)
        t1 = time.perf_counter()
        if spec.period == "day":
            report.blocks += await _daily(ctx, source, live)
        elif spec.period == "week":
            report.blocks += await _weekly(ctx, source)
        else:
            report.blocks += await _monthly(ctx, source)
        t2 = time.perf_counter()
        built = Built(report)
        await _attach(ctx, source, built)
        t3 = time.perf_counter()
    built.timings_s = {"key_figures": t1 - t0, "sections": t2 - t1, "attachments": t3 - t2}
    built.history_queries = source.queries
    return built


async def _key_figures(ctx: Ctx, source: Source,
                       late_note: str) -> tuple[Report, dict[str, dict[str, Point]]]:
    by, lang = ctx.spec.period, ctx.lang
    cmp, first = compare_of(ctx)
    metrics = {"day": DAY_METRICS, "week": WEEK_METRICS, "month": MONTH_METRICS}[by]
    cheap = [m for m in metrics if not m.startswith("incidents.")]
    data = await source.many(cheap, by, first, ctx.slot.start)
    # incident metrics replay the archived steps of their whole span: a month's digest
    # asks for the last two months and the one a year before, not the 11 months between
    spans = [(first, ctx.slot.start)]
    if by == "month":
        spans = [(periods.previous_start(ctx.slot.start, by), ctx.slot.start), (first, first)]
    for metric in (m for m in metrics if m.startswith("incidents.")):
        found = await asyncio.gather(*(source.series(metric, by, a, b) for a, b in spans))
        data[metric] = {p.label: p for pts in found for p in pts}
    period_text = fmt.period_text(by, ctx.slot.start, ctx.slot.last, lang)
    scope_name = ctx.names.get(ctx.spec.scope, ctx.spec.scope)
    title = say(lang, f"title.{by}")
    headline = [(fmt.metric_name(m, lang), fmt.value(m, _at(data, m, cmp.label), lang))
                for m in HEADLINE]
    subject = f"{title} · {scope_name} · {period_text} · " + ", ".join(
        f"{k} {v}" for k, v in headline[:2])
    footer = say(lang, "footer", zone=getattr(ctx.tz, "key", str(ctx.tz)),
                 made=fmt.stamp(ctx.now_ms, ctx.tz))
    report = Report(lang, title, scope_name, period_text, subject, footer, late_note,
                    headline=headline)
    report.blocks.append(sections.kpi_table(lang, by, metrics, data, cmp))
    return report, data


def _today(ctx: Ctx) -> dt.date:
    return dt.datetime.fromtimestamp(ctx.now_ms / 1000, ctx.tz).date() + dt.timedelta(days=1)


def _at(data: dict[str, dict[str, Point]], metric: str, label: str) -> float | None:
    p = data.get(metric, {}).get(label)
    return p.value if p else None


async def _daily(ctx: Ctx, source: Source, live: CoreReader | None) -> list[Block]:
    lang, day = ctx.lang, ctx.slot.start
    items = await source.low_ratings(day, day, LIST_LIMIT)
    detractors = int((await source.series("detractors", "day", day, day))[0].value or 0)
    blocks: list[Block] = [sections.low_ratings_table(lang, items, ctx.names, ctx.topic_names,
                                                      detractors)]
    blocks.append(await _cases(ctx, source, live))
    alerts = await source.export("alerts", day, day)
    rows = await asyncio.to_thread(_read_rows, alerts)
    blocks.append(sections.alerts_table(lang, "day", rows, ctx.names, ctx.tz))
    return blocks


async def _cases(ctx: Ctx, source: Source, live: CoreReader | None) -> Block:
    """Overdue now and closed late in the period: from the live core when this process
    has one (it holds the incidents of the live retention), else from the archived steps
    replayed through the engine's incident book."""
    first, last = ctx.slot.start, ctx.slot.last
    lo, hi = records.period_bounds_ms(ctx.tz, first, last)
    scope, now = ctx.spec.scope, ctx.now_ms
    if live is not None:
        views = await live.wait(lambda: live.incidents(scope))
        overdue = [v for v in views if v.status != "resolved" and v.category != "thanks"
                   and is_overdue(v, now)]
        breached = [v for v in views if v.status == "resolved" and v.breached
                    and v.resolved_ms is not None and lo <= v.resolved_ms < hi]
    else:
        lookback = first - dt.timedelta(days=ctx.cfg.core.retention_days)
        steps = await source.export("incidents", lookback, _today(ctx))

        def work() -> tuple[list[IncidentView], list[IncidentView]]:
            engine = records.replay(ctx.cfg, steps, lo, hi, unresolved=True)
            return (records.overdue(engine, scope, now),
                    records.breached_between(engine, scope, lo, hi, now))

        overdue, breached = await asyncio.to_thread(work)
    return sections.cases_table(ctx.lang, overdue, breached, ctx.names, ctx.tz,
                                fmt.stamp(ctx.now_ms, ctx.tz), LIST_LIMIT)


async def _categories(ctx: Ctx, source: Source) -> Block:
    first, last = ctx.slot.start, ctx.slot.last
    lookback = first - dt.timedelta(days=ctx.cfg.core.retention_days)
    # up to today: a resolution after the period decides, as in the history, whether an
    # incident opened in it counts as breached
    steps = await source.export("incidents", lookback, _today(ctx))
    lo, hi = records.period_bounds_ms(ctx.tz, first - dt.timedelta(days=1),
                                      last + dt.timedelta(days=1))  # any member's zone

    def work() -> dict[str, records.CategoryCases]:
        engine = records.replay(ctx.cfg, steps, lo, hi)
        return records.by_category(engine, ctx.spec.scope, first, last, ctx.now_ms)

    cats = await asyncio.to_thread(work)
    return sections.categories_table(ctx.lang, cats, month=ctx.spec.period == "month")


async def _weekly(ctx: Ctx, source: Source) -> list[Block]:
    lang, first, last = ctx.lang, ctx.slot.start, ctx.slot.last
    flow = await source.export("flow", first, last)
    waits = await asyncio.to_thread(records.longest, flow, "wait_s", TOP_CONTACTS)
    holds = await asyncio.to_thread(records.longest, flow, "hold_s", TOP_CONTACTS)
    feedback = await source.export("feedback", first, last)
    counts, total = await asyncio.to_thread(records.topic_counts, feedback)
    blocks: list[Block] = [
        sections.contacts_table(lang, "waits", waits, ctx.names, ctx.tz),
        sections.contacts_table(lang, "holds", holds, ctx.names, ctx.tz),
        await _categories(ctx, source),
        sections.topics_table(lang, counts, total, ctx.topic_names),
    ]
    blocks += await _ranking(ctx, source)
    return blocks


async def _ranking(ctx: Ctx, source: Source) -> list[Block]:
    """Best and worst member locations by NPS, from one history query per location."""
    if ctx.geo.known_kind(ctx.spec.scope) == "location":
        return []
    members = ctx.geo.members(ctx.spec.scope)
    by, start = ctx.spec.period, ctx.slot.start
    gate = asyncio.Semaphore(RANK_CONCURRENCY)

    async def one(loc: str) -> tuple[str, Point]:
        async with gate:
            return loc, (await source.series("nps", by, start, start, scope=loc))[0]

    found = await asyncio.gather(*(one(loc) for loc in members))
    ranked = sorted(((loc, p) for loc, p in found
                     if p.value is not None and p.n >= ctx.spec.min_sample),
                    key=lambda lp: (-(lp[1].value or 0.0), -lp[1].n, lp[0]))
    if not ctx.spec.best_worst:
        return []
    return list(sections.ranking_tables(ctx.lang, ranked, ctx.names, periods.label(start, by),
                                        ctx.spec.best_worst, ctx.spec.min_sample))


async def _monthly(ctx: Ctx, source: Source) -> list[Block]:
    lang, start = ctx.lang, ctx.slot.start
    first = periods.start_of(start.replace(year=start.year - 1), "month")
    labels = [periods.label(s, "month") for s in periods.series(first, start, "month")]
    trend = await source.many(list(TRENDS), "month", first, start)
    images = []
    for metric in TRENDS:
        values = [trend[metric][lb].value if lb in trend[metric] else None for lb in labels]
        axis = [fmt.MONTHS_SHORT[lang][int(lb[5:]) - 1] for lb in labels]
        png = await asyncio.to_thread(
            charts.trend_png, axis, values, last_text=fmt.value(metric, values[-1], lang),
            scale=100.0 if metric == "response_rate" else 1.0,
            empty_text="нет данных" if lang == "ru" else "no data")
        images.append(Chart(f"trend-{metric.replace('.', '-')}@cxpulse",
                            fmt.metric_name(metric, lang), png))
    blocks: list[Block] = [Charts(say(lang, "trends"), tuple(images))]
    questions = [(q.factor, q.id, (q.text_ru if lang == "ru" else q.text_en) or q.id)
                 for q in ctx.cfg.csi.questions]
    csi_metrics = ["csi.total", *dict.fromkeys(f"csi.factors.{f}" for f, _, _ in questions),
                   *(f"csi.questions.{q}" for _, q, _ in questions)]
    csi = await source.many(csi_metrics, "month", start, start)
    label = periods.label(start, "month")
    blocks.append(sections.csi_table(lang, questions,
                                     {m: pts[label] for m, pts in csi.items() if label in pts},
                                     label))
    blocks.append(await _categories(ctx, source))
    return blocks


def _read_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


async def _attach(ctx: Ctx, source: Source, built: Built) -> None:
    spec, first, last = ctx.spec, ctx.slot.start, ctx.slot.last
    stem = f"cxpulse-{spec.id}-{ctx.slot.label}"
    limit = int(ctx.cfg.smtp.max_attachments_mb * 1_000_000)
    if "csv" in spec.attach:
        files = {kind: await source.export(kind, first, last)
                 for kind in ("feedback", "flow", "incidents")}
        data = await asyncio.to_thread(_zip, files, source.workdir / f"{stem}.zip")
        if len(data) <= limit:
            built.attachments.append(Attachment(f"{stem}-csv.zip", "application", "zip", data))
        else:
            url = (f"/api/export/feedback?scope={spec.scope}&from={first.isoformat()}"
                   f"&to={last.isoformat()}")
            built.report.blocks.append(Paragraph(say(ctx.lang, "csv.too_big",
                                                     mb=f"{len(data) / 1e6:.1f}", url=url),
                                                 "muted"))
    if "pdf" in spec.attach:
        doc = await asyncio.to_thread(pdf.render, built.report)
        built.attachments.append(Attachment(f"{stem}.pdf", "application", "pdf", doc))


def _zip(files: dict[str, Path], target: Path) -> bytes:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for kind, path in files.items():
            zf.write(path, f"{kind}.csv")
    return target.read_bytes()
