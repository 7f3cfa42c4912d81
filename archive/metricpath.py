"""Which metrics the history serves, what each needs, and its value and sample (pure).

A metric is a dotted path into ``/api/metrics`` (``nps``, ``csi.factors.empathy``,
``buttons.shares.1``, ``incidents.within_sla``...). Its value is read from the
``Metrics`` the live engine's ``assemble`` builds; its sample ``n`` is what the value is
computed over (answers, presses, visits, contacts, incidents).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from stream.events import FLOW_CHANNELS
from stream.partial import SOURCE_SUMS, Partial
from stream.readmodel import Metrics

Family = Literal["feedback", "csi", "flow", "incidents"]

_FEEDBACK = ("nps", "nps_with_non_responders", "response_rate", "promoters", "passives",
             "detractors", "responses", "visits", "sessions", "csat", "csat_responses", "ces",
             "ces_responses")
_PATTERNS: tuple[tuple[str, Family], ...] = (
    (rf"({'|'.join(_FEEDBACK)})", "feedback"),
    (r"buttons\.(index|presses)|buttons\.(shares|counts)\.[1-5]", "feedback"),
    (r"csi\.(total|answers)|csi\.factors\.[^.]+|csi\.questions\.[^.]+", "csi"),
    (r"flow\.(contacts|answered_share|mean_wait_s|mean_handle_s|mean_hold_s|fcr)"
     rf"|flow\.by_channel\.({'|'.join(FLOW_CHANNELS)})", "flow"),
    (r"incidents\.(opened|resolved|sla_breached|within_sla|thanks_share|thanks|appeals|"
     r"same_day_share|mean_resolve_s|mean_first_action_s)"
     r"|incidents\.by_source\.(desk|api|auto)\.(opened|resolved|within_sla|same_day_share|"
     r"mean_first_action_s|mean_resolve_s)", "incidents"),
)
_COMPILED = [(re.compile(rf"^(?:{p})\Z"), f) for p, f in _PATTERNS]
# metrics a staff / touchpoint breakdown keeps (the engine's per-dimension columns)
DIMENSION_OK = re.compile(r"^(nps|promoters|passives|detractors|responses|csat|csat_responses|"
                          r"ces|ces_responses|csi\.total|csi\.answers|buttons\..+)\Z")


_NPS = ("nps_promoters", "nps_passives", "nps_detractors")
_NEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nps_with_non_responders", (*_NPS, "visits", "sessions")),
    ("response_rate", ("visits", "sessions")), ("visits", ("visits", "sessions")),
    ("sessions", ("visits", "sessions")), ("csat", ("csat_n", "csat_sat")),
    ("ces", ("ces_n", "ces_sum")), ("buttons.", ("btn_n", "btn_idx", *(f"btn_{v}" for v in
                                                                        range(1, 6)))),
    ("csi.", ("csi_n", "csi_sum")),
    ("", _NPS),  # nps, promoters, passives, detractors, responses
)


def counters_of(metric: str) -> frozenset[str] | None:
    """The feedback counters a feedback metric reads (the others stay 0 for it); None:
    all of them."""
    for prefix, names in _NEEDS:
        if metric.startswith(prefix):
            return frozenset(names)
    return None


class MetricError(ValueError):
    """An unknown metric, or one a breakdown does not keep."""


def family(metric: str) -> Family:
    for pattern, fam in _COMPILED:
        if pattern.match(metric):
            return fam
    raise MetricError(f"unknown metric {metric!r}; e.g. nps, csat, ces, response_rate, "
                      "csi.total, csi.factors.<factor>, buttons.index, buttons.shares.<v>, "
                      "flow.contacts, flow.answered_share, incidents.within_sla")


def check(metric: str, *, breakdown: bool) -> Family:
    fam = family(metric)
    if breakdown and not DIMENSION_OK.match(metric):
        raise MetricError(f"metric {metric!r} is not kept per staff member or touchpoint; "
                          "use a feedback metric (nps, csat, ces, buttons.*, csi.total)")
    return fam


def value(metric: str, m: Metrics) -> float | None:
    """The metric's value in ``m`` (None when it has no data)."""
    if metric.startswith("csi.questions."):
        found = _question(m, metric.removeprefix("csi.questions."))
        return found.index if found is not None else None
    node: Any = msgspec.to_builtins(m)
    for part in metric.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _question(m: Metrics, question: str) -> Any:
    matches = [q for q in m.csi.questions if q.question == question]
    return max(matches, key=lambda q: q.answers) if matches else None


def sample(metric: str, m: Metrics, p: Partial) -> int:
    """What ``metric`` is computed over in this period."""
    c, inc = p.counts, p.incidents
    if metric == "nps_with_non_responders":
        return m.responses + max(m.visits - m.sessions, 0)
    if metric in ("response_rate", "visits", "sessions"):
        return m.visits
    if metric.startswith(("csat", "ces")):
        return m.csat_responses if metric.startswith("csat") else m.ces_responses
    if metric in _FEEDBACK:
        return m.responses
    if metric.startswith("buttons."):
        return m.buttons.presses
    if metric.startswith("csi.factors."):
        return m.csi.factor_answers.get(metric.removeprefix("csi.factors."), 0)
    if metric.startswith("csi.questions."):
        found = _question(m, metric.removeprefix("csi.questions."))
        return int(found.answers) if found is not None else 0
    if metric.startswith("csi."):
        return m.csi.answers
    flow_n = {"flow.answered_share": "answered_n", "flow.mean_wait_s": "wait_n",
              "flow.mean_hold_s": "hold_n", "flow.mean_handle_s": "handle_n", "flow.fcr": "fcr_n"}
    if metric in flow_n:
        return int(c.get(flow_n[metric], 0))
    if metric.startswith("flow."):
        return m.flow.contacts
    if metric in ("incidents.thanks_share", "incidents.appeals", "incidents.thanks"):
        return inc.opened + inc.thanks
    if metric in ("incidents.opened", "incidents.sla_breached"):
        return inc.opened
    if metric == "incidents.mean_first_action_s":
        return inc.first_actions
    if metric.startswith("incidents.by_source."):
        source, name = metric.removeprefix("incidents.by_source.").split(".")
        # [opened, resolved, on_time, same_day, resolve_ms, first_actions, first_action_ms]:
        # opened, those with a first action, else the resolved ones
        sums = inc.sources.get(source, [0] * SOURCE_SUMS)
        return sums[{"opened": 0, "mean_first_action_s": 5}.get(name, 1)]
    return inc.resolved  # within_sla, same_day_share, resolved, mean_resolve_s
