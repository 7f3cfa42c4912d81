"""Reading the engine: (merged) partial sums -> the contract's metrics.

``stream.partial`` sums a window's buckets (windows: ``stream.windows``); this module turns
the sums into ratios and means. Incident views and their order: ``stream.incident_views``.
"""

from __future__ import annotations

import numpy as np

from stream.config import StreamSettings
from stream.engine import MetricsEngine
from stream.events import FLOW_CHANNELS, VOICE_CATEGORIES
from stream.incident_views import incident_views, problems
from stream.layout import UNIT
from stream.partial import IncidentSums, Partial, dimension_partial, partial
from stream.readmodel import (
    ButtonsResult,
    CsiQuestionResult,
    CsiResult,
    FlowProfile,
    FlowResult,
    IncidentsResult,
    Metrics,
    QueryError,
    SourceResult,
    VoiceResult,
)

USUAL_MIN_HISTORY_H = 168


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else float(num) / float(den)


def _csi(cfg: StreamSettings, p: Partial) -> CsiResult:
    """Question index = mean of normalised answers; factor = over its answers; total = over
    factors weighted by answers, or by the configured weights."""
    questions: list[CsiQuestionResult] = []
    f_n: dict[str, int] = {}
    f_sum: dict[str, int] = {}
    for key in sorted(p.csi):
        factor, question = key.split("\x1f")
        n, s = p.csi[key]
        questions.append(CsiQuestionResult(factor, question, _ratio(s, n * UNIT), n))
        f_n[factor] = f_n.get(factor, 0) + n
        f_sum[factor] = f_sum.get(factor, 0) + s
    factors = {f: _ratio(f_sum[f], f_n[f] * UNIT) for f in f_n}
    weights = cfg.csi.weights
    answered = [f for f in factors if f_n[f] > 0]
    if weights and answered:
        wsum = sum(weights.get(f, 0.0) for f in answered)
        total = (sum(weights.get(f, 0.0) * (factors[f] or 0.0) for f in answered) / wsum
                 if wsum > 0 else None)
    else:
        total = _ratio(sum(f_sum.values()), sum(f_n.values()) * UNIT)
    return CsiResult(total, factors, sum(f_n.values()), f_n, questions)


def _feedback_fields(c: dict[str, int], non_resp_as: str) -> dict[str, object]:
    p, pa, d = c["nps_promoters"], c["nps_passives"], c["nps_detractors"]
    responses = p + pa + d
    presses = c["btn_n"]
    counts = {str(v): c[f"btn_{v}"] for v in range(1, 6)}
    out: dict[str, object] = {
        "promoters": p, "passives": pa, "detractors": d, "responses": responses,
        "nps": _ratio(100 * (p - d), responses),
        "csat": _ratio(100 * c["csat_sat"], c["csat_n"]), "csat_responses": c["csat_n"],
        "ces": _ratio(c["ces_sum"], c["ces_n"]), "ces_responses": c["ces_n"],
        "buttons": ButtonsResult(_ratio(100 * c["btn_idx"], presses * UNIT),
                                 {k: v / presses for k, v in counts.items()} if presses else {},
                                 presses, counts),
    }
    if "visits" in c:
        visits, sessions = c["visits"], c["sessions"]
        silent = max(visits - sessions, 0)
        detractors = d + (silent if non_resp_as == "detractor" else 0)
        out.update(visits=visits, sessions=sessions,
                   response_rate=None if visits == 0 else min(sessions / visits, 1.0),
                   nps_with_non_responders=_ratio(100 * (p - detractors), responses + silent))
    return out


def _flow(p: Partial) -> FlowResult:
    c = p.counts
    by_channel = {ch: c[f"flow_{ch}"] for ch in FLOW_CHANNELS}
    hours = p.profile_hours[p.now_cell] if p.profile_hours else 0
    # "usual" needs at least a week of history, else this weekday-hour has never been seen
    usual = (p.profile_sums[p.now_cell] / hours
             if p.profile_history_h >= USUAL_MIN_HISTORY_H and hours else None)
    return FlowResult(
        contacts=sum(by_channel.values()), by_channel=by_channel,
        answered_share=_ratio(c["answered_yes"], c["answered_n"]),
        mean_wait_s=_ratio(c["wait_ds"] / 10, c["wait_n"]),
        mean_handle_s=_ratio(c["handle_ds"] / 10, c["handle_n"]),
        mean_hold_s=_ratio(c["hold_ds"] / 10, c["hold_n"]),
        fcr=_ratio(c["fcr_yes"], c["fcr_n"]), this_hour=p.this_hour, usual_this_hour=usual,
    )


def _incidents(cfg: StreamSettings, s: IncidentSums) -> IncidentsResult:
    return IncidentsResult(
        open=s.open, opened=s.opened, resolved=s.resolved, sla_breached=s.sla_breached,
        within_sla=_ratio(s.on_time, s.resolved),
        thanks_share=_ratio(s.thanks, s.opened + s.thanks),
        open_breached=s.open_breached, thanks=s.thanks, appeals=s.opened + s.thanks,
        same_day_share=_ratio(s.same_day, s.resolved),
        mean_resolve_s=s.resolve_ms / 1000 / s.resolved if s.resolved else None,
        problems=problems(s.repeats),
        mean_first_action_s=_ratio(s.first_action_ms / 1000, s.first_actions),
        by_source={src: _source(v) for src, v in sorted(s.sources.items())},
    )


def _source(v: list[int]) -> SourceResult:
    """One source's incident figures from its sums (``IncidentSums.sources``)."""
    opened, resolved, on_time, same_day, resolve_ms, acted, acted_ms = v
    return SourceResult(opened=opened, resolved=resolved, within_sla=_ratio(on_time, resolved),
                        same_day_share=_ratio(same_day, resolved),
                        mean_first_action_s=_ratio(acted_ms / 1000, acted),
                        mean_resolve_s=_ratio(resolve_ms / 1000, resolved))


def _voice(c: dict[str, int]) -> VoiceResult:
    n = c["enc_n"]
    return VoiceResult(
        utterances=c["voice_utt"], anger_events=c["voice_anger"],
        keywords={k: c[f"kw_{k}"] for k in VOICE_CATEGORIES}, encounters=n,
        compliance={k: _ratio(c[f"enc_{k}"], n) for k in ("greeting", "thanks", "farewell")}
        | {"all": _ratio(c["enc_full"], n)},
        rating_with_greeting=_ratio(c["enc_greet_rating"], c["enc_greet_rated"] * UNIT),
        rating_without_greeting=_ratio(c["enc_nogreet_rating"], c["enc_nogreet_rated"] * UNIT),
        rated_with_greeting=c["enc_greet_rated"], rated_without_greeting=c["enc_nogreet_rated"],
    )


def assemble(cfg: StreamSettings, p: Partial) -> Metrics:
    """The contract's metrics from (merged) sums."""
    fields = _feedback_fields(p.counts, cfg.core.non_responders_as)
    if p.staff or p.touchpoint:
        n, s = p.counts["csi_n"], p.counts["csi_sum"]
        return Metrics(scope=p.scope, window=p.window, start_ms=p.start_ms, end_ms=p.end_ms,
                       csi=CsiResult(total=_ratio(s, n * UNIT), answers=n), staff=p.staff,
                       touchpoint=p.touchpoint, **fields)  # type: ignore[arg-type]
    return Metrics(scope=p.scope, window=p.window, start_ms=p.start_ms, end_ms=p.end_ms,
                   csi=_csi(cfg, p), flow=_flow(p), incidents=_incidents(cfg, p.incidents),
                   voice=_voice(p.counts), **fields)  # type: ignore[arg-type]


def metrics(engine: MetricsEngine, scope: str, window: str, now_ms: int) -> Metrics:
    """Every metric of a scope (network, region or location id) over a window."""
    if not engine.geo.known(scope):
        raise QueryError(f"unknown scope {scope!r}")
    return assemble(engine.cfg, partial(engine, scope, window, now_ms))


def dimension_metrics(engine: MetricsEngine, scope: str, window: str, now_ms: int, *,
                      staff: str | None = None, touchpoint: str | None = None) -> Metrics:
    """Feedback metrics of one staff member or touchpoint (daily resolution)."""
    return assemble(engine.cfg, dimension_partial(engine, scope, window, now_ms, staff=staff,
                                                  touchpoint=touchpoint))


def profile_of(p: Partial) -> list[list[float]]:
    """Mean contacts per (weekday, hour) from a partial's profile sums."""
    sums, hours = np.asarray(p.profile_sums), np.asarray(p.profile_hours)
    mean = np.divide(sums, hours, out=np.zeros_like(sums), where=hours > 0)
    table: list[list[float]] = mean.reshape(7, 24).round(3).tolist()
    return table


def flow_profile(engine: MetricsEngine, scope: str, now_ms: int) -> FlowProfile:
    if not engine.geo.known(scope):
        raise QueryError(f"unknown scope {scope!r}")
    return FlowProfile(scope=scope, weeks=4,
                       contacts=profile_of(partial(engine, scope, "1h", now_ms)))


# ``incident_views`` lives in ``stream.incident_views``; it is re-exported as part of the read API
__all__ = ["assemble", "dimension_metrics", "flow_profile", "incident_views", "metrics",
           "profile_of"]
