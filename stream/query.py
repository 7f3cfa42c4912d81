"""Reading the engine: windows -> bucket ranges -> column sums -> the contract's metrics.

Window semantics (the reference tests use the same): ``1h`` is the last 60 minute buckets
including the current one; ``today`` is the location's local calendar day so far (a region
or the network sums each member's own day); ``7d``/``30d`` are the last 168/720 hour
buckets of the scope, including the current hour.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from stream.engine import MetricsEngine
from stream.events import FLOW_CHANNELS, INCIDENT_CATEGORIES
from stream.geography import DAY_MS, HOUR_MS, NETWORK, Place
from stream.incidents import NONE, STATUS_NAMES, THANKS
from stream.layout import COL, DIM_COL, FLOW_COLS, UNIT
from stream.readmodel import (
    WINDOWS,
    ButtonsResult,
    CsiQuestionResult,
    CsiResult,
    FlowProfile,
    FlowResult,
    IncidentsResult,
    IncidentView,
    Metrics,
    Problem,
)

_HOURS = {"7d": 168, "30d": 720}
_DAYS = {"today": 1, "7d": 7, "30d": 30}


class QueryError(ValueError):
    """A query the engine cannot answer (unknown window, unsupported breakdown)."""


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else float(num) / float(den)


def _counts(engine: MetricsEngine, scope: str, window: str, now_ms: int) -> tuple[npt.NDArray[np.int64], dict[int, int]]:
    """Column totals of a scope over a window, and each member place's window start (ms)."""
    geo = engine.geo
    members = geo.members(scope)
    ent = geo.scope_entity[scope]
    starts: dict[int, int] = {}
    if window == "1h":
        last = now_ms // 60_000
        first = last - 59
        sums = engine.minutes.sum(np.array([ent], np.int64), np.array([first], np.int64),
                                  np.array([last], np.int64))
        starts = {p.idx: first * 60_000 for p in members}
    elif window == "today":
        ents = np.array([p.entity for p in members], np.int64)
        firsts = np.empty(len(members), np.int64)
        lasts = np.empty(len(members), np.int64)
        for i, p in enumerate(members):
            start = p.day_start_ms(now_ms)
            starts[p.idx] = start
            firsts[i] = (start - p.offsets_ms[0]) // HOUR_MS
            lasts[i] = p.hour_bucket(now_ms)
        sums = engine.hours.sum(ents, firsts, lasts)
    elif window in _HOURS:
        offset = members[0].offsets_ms[0] if (scope in geo.by_id and members) else 0
        last = (now_ms - offset) // HOUR_MS
        first = last - _HOURS[window] + 1
        sums = engine.hours.sum(np.array([ent], np.int64), np.array([first], np.int64),
                                np.array([last], np.int64))
        starts = {p.idx: first * HOUR_MS + offset for p in members}
    else:
        raise QueryError(f"unknown window {window!r}; expected one of {', '.join(WINDOWS)}")
    return sums, starts


def _csi(engine: MetricsEngine, c: npt.NDArray[np.int64]) -> CsiResult:
    """Question index = mean of normalised answers; factor = over its answers; total = over
    factors weighted by answers, or by the configured weights."""
    questions, f_n, f_sum = [], {}, {}
    for (factor, question), col in sorted(engine.csi_keys.items()):
        n, s = int(c[col]) if col < c.shape[0] else 0, int(c[col + 1]) if col < c.shape[0] else 0
        questions.append(CsiQuestionResult(factor, question, _ratio(s, n * UNIT), n))
        f_n[factor] = f_n.get(factor, 0) + n
        f_sum[factor] = f_sum.get(factor, 0) + s
    factors = {f: _ratio(f_sum[f], f_n[f] * UNIT) for f in f_n}
    weights = engine.cfg.csi.weights
    answered = [f for f in factors if f_n[f] > 0]
    if weights and answered:
        wsum = sum(weights.get(f, 0.0) for f in answered)
        total = (sum(weights.get(f, 0.0) * (factors[f] or 0.0) for f in answered) / wsum
                 if wsum > 0 else None)
    else:
        total = _ratio(sum(f_sum.values()), sum(f_n.values()) * UNIT)
    return CsiResult(total, factors, sum(f_n.values()), f_n, questions)


def _buttons(n: int, idx: int, counts: list[int]) -> ButtonsResult:
    shares = {str(v): counts[v - 1] / n for v in range(1, 6)} if n else {}
    return ButtonsResult(_ratio(100 * idx, n * UNIT), shares, n,
                         {str(v): counts[v - 1] for v in range(1, 6)})


def _feedback_fields(c: npt.NDArray[np.int64], col: dict[str, int], non_resp_as: str) -> dict[str, object]:
    p, pa, d = (int(c[col[k]]) for k in ("nps_promoters", "nps_passives", "nps_detractors"))
    responses = p + pa + d
    out: dict[str, object] = {
        "promoters": p, "passives": pa, "detractors": d, "responses": responses,
        "nps": _ratio(100 * (p - d), responses),
        "csat": _ratio(100 * int(c[col["csat_sat"]]), int(c[col["csat_n"]])),
        "csat_responses": int(c[col["csat_n"]]),
        "ces": _ratio(int(c[col["ces_sum"]]), int(c[col["ces_n"]])),
        "ces_responses": int(c[col["ces_n"]]),
        "buttons": _buttons(int(c[col["btn_n"]]), int(c[col["btn_idx"]]),
                            [int(c[col[f"btn_{v}"]]) for v in range(1, 6)]),
    }
    if "visits" in col:
        visits, sessions = int(c[col["visits"]]), int(c[col["sessions"]])
        silent = max(visits - sessions, 0)
        detractors = d + (silent if non_resp_as == "detractor" else 0)
        out.update(visits=visits, sessions=sessions,
                   response_rate=None if visits == 0 else min(sessions / visits, 1.0),
                   nps_with_non_responders=_ratio(100 * (p - detractors), responses + silent))
    return out


def _flow(engine: MetricsEngine, scope: str, c: npt.NDArray[np.int64], now_ms: int) -> FlowResult:
    by_channel = {ch: int(c[col]) for ch, col in zip(FLOW_CHANNELS, FLOW_COLS, strict=True)}
    profile, this_hour, usual = flow_profile_cells(engine, scope, now_ms)
    del profile
    return FlowResult(
        contacts=sum(by_channel.values()), by_channel=by_channel,
        answered_share=_ratio(int(c[COL["answered_yes"]]), int(c[COL["answered_n"]])),
        mean_wait_s=_ratio(c[COL["wait_ds"]] / 10, int(c[COL["wait_n"]])),
        mean_handle_s=_ratio(c[COL["handle_ds"]] / 10, int(c[COL["handle_n"]])),
        mean_hold_s=_ratio(c[COL["hold_ds"]] / 10, int(c[COL["hold_n"]])),
        fcr=_ratio(int(c[COL["fcr_yes"]]), int(c[COL["fcr_n"]])),
        this_hour=this_hour, usual_this_hour=usual,
    )


def flow_profile_cells(engine: MetricsEngine, scope: str, now_ms: int) -> tuple[list[list[float]], int, float | None]:
    """Mean contacts per (local weekday, local hour) over the 4 weeks of completed hours
    before the current one; plus contacts in the current hour and the usual for it."""
    geo = engine.geo
    ent = geo.scope_entity[scope]
    place = geo.by_id.get(scope)
    offset = place.offsets_ms[0] if place else 0
    tz = geo.scope_tz[scope]
    now_h = (now_ms - offset) // HOUR_MS
    first, last = now_h - 672, now_h - 1
    ents = np.array([ent], np.int64)
    per = np.zeros(last - first + 1, np.int64)
    for col in FLOW_COLS:
        per += engine.hours.per_bucket(ents, first, last, col)
    this_hour = int(sum(engine.hours.per_bucket(ents, now_h, now_h, col)[0] for col in FLOW_COLS))
    cells = _profile_cells(tz.key, offset, first, last)
    sums = np.bincount(cells, weights=per, minlength=168).reshape(7, 24)
    occurrences = np.bincount(cells, minlength=168).reshape(7, 24)
    mean = np.divide(sums, occurrences, out=np.zeros_like(sums), where=occurrences > 0)
    now_local = dt.datetime.fromtimestamp(now_ms / 1000, tz)
    usual = float(mean[now_local.weekday(), now_local.hour]) if per.sum() > 0 else None
    return mean.round(3).tolist(), this_hour, usual


@functools.lru_cache(maxsize=256)
def _profile_cells(tzname: str, offset_ms: int, first: int, last: int) -> npt.NDArray[np.int64]:
    """Local weekday * 24 + hour of each hour bucket first..last (DST-aware, cached)."""
    tz = ZoneInfo(tzname)
    out = np.empty(last - first + 1, np.int64)
    for i, b in enumerate(range(first, last + 1)):
        local = dt.datetime.fromtimestamp((b * HOUR_MS + offset_ms) / 1000, tz)
        out[i] = local.weekday() * 24 + local.hour
    return out


def _incidents(engine: MetricsEngine, scope: str, starts: dict[int, int], now_ms: int) -> IncidentsResult:
    book = engine.incidents
    cols = book.cols
    if cols.size == 0 or not starts:
        return IncidentsResult()
    place = cols.view("place")
    start_of = np.full(len(engine.geo.places), np.iinfo(np.int64).max, np.int64)
    for idx, start in starts.items():
        start_of[idx] = start
    in_scope = cols.view("valid") & (start_of[place] != np.iinfo(np.int64).max)
    start = start_of[place]
    cat, opened, resolved = cols.view("category"), cols.view("opened"), cols.view("resolved")
    thanks = in_scope & (cat == THANKS)
    real = in_scope & (cat != THANKS)
    opened_w = real & (opened >= start) & (opened <= now_ms)
    thanks_w = thanks & (opened >= start) & (opened <= now_ms)
    resolved_w = real & (resolved != NONE) & (resolved >= start) & (resolved <= now_ms)
    breached = book.breached(now_ms)
    on_time = resolved_w & ~breached
    same_day = resolved_w & (cols.view("resolved_day") == cols.view("opened_day"))
    open_now = real & (cols.view("status") != 2) & (opened <= now_ms)
    n_res, n_open, n_thx = int(resolved_w.sum()), int(opened_w.sum()), int(thanks_w.sum())
    durations = (resolved - opened)[resolved_w]
    return IncidentsResult(
        open=int(open_now.sum()), opened=n_open, resolved=n_res,
        sla_breached=int((opened_w & breached).sum()),
        within_sla=_ratio(int(on_time.sum()), n_res),
        thanks_share=_ratio(n_thx, n_open + n_thx), open_breached=int((open_now & breached).sum()),
        thanks=n_thx, appeals=n_open + n_thx, same_day_share=_ratio(int(same_day.sum()), n_res),
        mean_resolve_s=float(durations.mean() / 1000) if n_res else None,
        problems=_problems(engine, place[opened_w], cat[opened_w]),
    )


def _problems(engine: MetricsEngine, places: npt.NDArray[np.int32], cats: npt.NDArray[np.int8]) -> list[Problem]:
    """The same category at one location repeating >= N times in the window."""
    if places.shape[0] == 0:
        return []
    keys = places.astype(np.int64) * 16 + cats
    uniq, counts = np.unique(keys, return_counts=True)
    out = [Problem(engine.geo.places[int(k // 16)].id, INCIDENT_CATEGORIES[int(k % 16)], int(n))
           for k, n in zip(uniq, counts, strict=True) if n >= engine.cfg.core.problem_threshold]
    return sorted(out, key=lambda p: (-p.count, p.location, p.category))


def metrics(engine: MetricsEngine, scope: str, window: str, now_ms: int) -> Metrics:
    """Every metric of a scope (network, region or location id) over a window."""
    if not engine.geo.known(scope):
        raise QueryError(f"unknown scope {scope!r}")
    c, starts = _counts(engine, scope, window, now_ms)
    fields = _feedback_fields(c, COL, engine.cfg.core.non_responders_as)
    start_ms = min(starts.values()) if starts else now_ms
    return Metrics(
        scope=scope, window=window, start_ms=start_ms, end_ms=now_ms,
        csi=_csi(engine, c), flow=_flow(engine, scope, c, now_ms),
        incidents=_incidents(engine, scope, starts, now_ms), **fields,  # type: ignore[arg-type]
    )


def dimension_metrics(engine: MetricsEngine, scope: str, window: str, now_ms: int, *,
                      staff: str | None = None, touchpoint: str | None = None) -> Metrics:
    """Feedback metrics of one staff member or touchpoint (daily resolution)."""
    if window not in _DAYS:
        raise QueryError(f"window {window!r} is not kept per staff/touchpoint; use today, 7d or 30d")
    kind, key = ("staff", staff) if staff else ("touchpoint", touchpoint)
    members = engine.geo.members(scope)
    ents, firsts, lasts = [], [], []
    for p in members:
        ent = engine.dim_keys.get((kind, p.idx, key or ""))
        if ent is not None:
            today = p.day_of(now_ms)
            ents.append(ent)
            firsts.append(today - _DAYS[window] + 1)
            lasts.append(today)
    c = engine.dims.sum(np.array(ents, np.int64), np.array(firsts, np.int64),
                        np.array(lasts, np.int64))
    fields = _feedback_fields(c, DIM_COL, engine.cfg.core.non_responders_as)
    csi_n, csi_sum = int(c[DIM_COL["csi_n"]]), int(c[DIM_COL["csi_sum"]])
    start = min((p.day_start_ms(now_ms) - (_DAYS[window] - 1) * DAY_MS for p in members),
                default=now_ms)
    return Metrics(scope=scope, window=window, start_ms=start, end_ms=now_ms,
                   csi=CsiResult(total=_ratio(csi_sum, csi_n * UNIT), answers=csi_n),
                   staff=staff, touchpoint=touchpoint, **fields)  # type: ignore[arg-type]


def flow_profile(engine: MetricsEngine, scope: str, now_ms: int) -> FlowProfile:
    if not engine.geo.known(scope):
        raise QueryError(f"unknown scope {scope!r}")
    cells, _, _ = flow_profile_cells(engine, scope, now_ms)
    return FlowProfile(scope=scope, weeks=4, contacts=cells)


def incident_views(engine: MetricsEngine, scope: str, now_ms: int, status: str | None = None,
                   breached: bool | None = None) -> list[IncidentView]:
    """Incidents of a scope, most urgent first (nearest unmet deadline)."""
    book, cols = engine.incidents, engine.incidents.cols
    members = {p.idx for p in engine.geo.members(scope)}
    if cols.size == 0 or not members:
        return []
    late = book.breached(now_ms)
    window_start = now_ms - engine.cfg.core.problem_window_days * DAY_MS
    opened = cols.view("opened")
    recent = cols.view("valid") & (opened >= window_start) & (cols.view("category") != THANKS)
    keys = cols.view("place").astype(np.int64) * 16 + cols.view("category")
    uniq, counts = np.unique(keys[recent], return_counts=True)
    problem_keys = set(uniq[counts >= engine.cfg.core.problem_threshold].tolist())
    out = []
    for (pidx, _), row in book.rows.items():
        if pidx not in members or not cols.valid[row]:
            continue
        view = _view(engine.geo.places[pidx], book, row, bool(late[row]),
                     int(keys[row]) in problem_keys)
        if (status is None or view.status == status) and (breached is None or view.breached == breached):
            out.append(view)
    return sorted(out, key=lambda v: _urgency(v, now_ms))


def _view(place: Place, book, row: int, late: bool, problem: bool) -> IncidentView:  # noqa: ANN001
    c, info = book.cols, book.details[row]
    opt = (lambda v: None if v == NONE else int(v))  # noqa: E731
    return IncidentView(
        location=place.id, incident=info.incident,
        category=INCIDENT_CATEGORIES[int(c.category[row])], status=STATUS_NAMES[int(c.status[row])],
        opened_ms=int(c.opened[row]), assigned_ms=opt(c.handled[row]),
        resolved_ms=opt(c.resolved[row]), transfer_deadline_ms=opt(c.transfer_dl[row]),
        resolve_deadline_ms=int(c.resolve_dl[row]), breached=late, problem=problem,
        severity=info.severity, channel=info.channel, department=info.department,
        assignee=info.assignee, text=info.text,
    )


def _urgency(v: IncidentView, now_ms: int) -> tuple[int, int, str, str]:
    if v.status == "resolved":
        return (2, -(v.resolved_ms or 0), v.location, v.incident)
    deadline = v.resolve_deadline_ms
    if v.assigned_ms is None and v.transfer_deadline_ms is not None:
        deadline = min(deadline, v.transfer_deadline_ms)
    return (0 if v.breached else 1, deadline - now_ms, v.location, v.incident)


__all__ = ["NETWORK", "QueryError", "dimension_metrics", "flow_profile", "incident_views", "metrics"]
