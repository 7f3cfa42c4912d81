"""The leaderboard of a network or region page: its locations, worst first (pure).

Order: locations whose NPS today rests on enough answers, worst first by how bad their NPS
is *at least*: the upper end of its 95 % interval (``stream.confidence.nps_interval``),
so 12 answers at -20 (somewhere between -60 and +26) do not outrank 400 answers at 0
(-8..+8) by chance; ties: more SLA-breached incidents, then the lower loyalty-button
index, first. Then locations with too few answers, then those without data, each by name.
A location with too few answers is never ranked by its score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboards.fmt import Score, csat_score, nps_score
from stream.confidence import nps_interval
from stream.readmodel import Metrics

_STATE_ORDER = {"ok": 0, "few": 1, "none": 2}


@dataclass(frozen=True)
class BoardRow:
    location: str
    name: str
    nps: Score
    csat: Score
    button_index: float | None
    presses: int
    open_incidents: int
    breached: int
    alerts: int
    nps_interval: tuple[float, float] | None = None  # 95 %, in NPS points


def board_row(location: str, name: str, m: Metrics | None, alerts: int, min_sample: int,
              nps_target: float, csat_target: float) -> BoardRow:
    if m is None:
        m = Metrics(scope=location, window="today", start_ms=0, end_ms=0)
    return BoardRow(
        location=location, name=name,
        nps=nps_score(m.nps, m.responses, min_sample, nps_target),
        csat=csat_score(m.csat, m.csat_responses, min_sample, csat_target),
        button_index=m.buttons.index if m.buttons.presses >= min_sample else None,
        presses=m.buttons.presses, open_incidents=m.incidents.open,
        breached=m.incidents.open_breached, alerts=alerts,
        nps_interval=nps_interval(m.promoters, m.passives, m.detractors),
    )


def _key(row: BoardRow) -> tuple[object, ...]:
    state = _STATE_ORDER[row.nps.state]
    value = row.nps_interval[1] if state == 0 and row.nps_interval is not None else 0.0
    index = row.button_index if row.button_index is not None else 101.0
    return (state, value, -row.breached, index, row.name, row.location)


def leaderboard(today: Mapping[str, Metrics | None], names: Mapping[str, str],
                alerts: Mapping[str, int], min_sample: int, nps_target: float,
                csat_target: float) -> list[BoardRow]:
    """Rows for ``today``'s metrics of each location (None: no frame yet), worst first."""
    keyed = []
    for loc, m in today.items():
        row = board_row(loc, names.get(loc, loc), m, alerts.get(loc, 0), min_sample,
                        nps_target, csat_target)
        keyed.append((_key(row), row))
    keyed.sort(key=lambda kr: kr[0])
    return [row for _, row in keyed]
