"""Incidents, claims and thanks of one location, each generated as its whole life at once.

An incident opens, is assigned to Customer Service after a delay (SLA: 3 working hours;
minutes for a live call),
may get a comment, is resolved (SLA: 24 h for claims, 2 working days for reviews) and is
occasionally reopened. Some delays are drawn long on purpose, so some miss the SLA. A
``thanks`` is an appeal resolved at once. Steps in the future are emitted when their time
comes, by the caller's schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.model import Emission, Ids, SimLocation
from simulators.profiles import lognormal_s, pick
from simulators.texts import incident_text
from stream.events import IncidentEvent

CATEGORY_MIX: tuple[tuple[str, float], ...] = (
    ("claim", 0.24), ("consultation", 0.18), ("product_quality", 0.15), ("certificate", 0.08),
    ("service", 0.17), ("thanks", 0.15), ("other", 0.03),
)
# A bad shift: claims and service complaints, hardly any thanks.
BAD_CATEGORY_MIX: tuple[tuple[str, float], ...] = (
    ("claim", 0.34), ("consultation", 0.14), ("product_quality", 0.1), ("certificate", 0.04),
    ("service", 0.34), ("thanks", 0.03), ("other", 0.01),
)
CHANNELS: tuple[tuple[str, float], ...] = (
    ("walk_in", 0.35), ("phone", 0.3), ("site", 0.15), ("marketplace", 0.1),
    ("social", 0.07), ("email", 0.03),
)
SEVERITY: tuple[tuple[str, float], ...] = (
    ("low", 0.25), ("normal", 0.55), ("high", 0.17), ("critical", 0.03),
)
DEPARTMENTS = ("customer-service", "store", "logistics", "service-centre")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class IncidentStress:
    """Share of incidents whose assignment / resolution runs late, and the category mix."""

    late_assign: float = 0.08
    late_resolve: float = 0.08
    mix: tuple[tuple[str, float], ...] = CATEGORY_MIX


class IncidentGen:
    """Seeded generator of incident lifecycles of one location."""

    def __init__(self, loc: SimLocation, rng: random.Random, ids: Ids, agents: int = 6) -> None:
        self.loc = loc
        self.rng = rng
        self.ids = ids
        self.agents = tuple(f"cs-{loc.region}-{i + 1:02d}" for i in range(agents))

    def lifecycle(self, ts_ms: int, stress: IncidentStress) -> list[Emission]:
        """Every step of one incident, open first; later steps have later times."""
        rng = self.rng
        category = pick(rng, stress.mix)
        steps: list[tuple[int, str, dict[str, object]]] = [(ts_ms, "open", {
            "category": category, "channel": pick(rng, CHANNELS),
            "severity": pick(rng, SEVERITY), "department": rng.choice(DEPARTMENTS),
            "text": incident_text(rng, self.loc.language, category)})]
        if category == "thanks":
            steps.append((ts_ms + rng.randint(5_000, 60_000), "resolve", {}))
            return self._emit(steps)
        who: dict[str, object] = {"assignee": rng.choice(self.agents)}
        t = ts_ms + self._assign_delay_ms(steps[0][2]["channel"] == "phone",
                                          rng.random() < stress.late_assign)
        steps.append((t, "assign", who))
        if rng.random() < 0.3:
            t += rng.randint(5, 90) * 60_000
            note = (
                "Связались с клиентом." if self.loc.language == "ru" else "Contacted the customer."
            )
            steps.append((t, "comment", {**who, "text": note}))
        t = self._resolve_at(t, category, rng.random() < stress.late_resolve)
        steps.append((t, "resolve", who))
        if rng.random() < 0.04:
            t += rng.randint(1, 24) * HOUR_MS
            steps.append((t, "reopen", who))
            t += rng.randint(2, 10) * HOUR_MS
            steps.append((t, "resolve", who))
        return self._emit(steps)

    def _assign_delay_ms(self, live_call: bool, late: bool) -> int:
        """Transfer to Customer Service: minutes for a live call (SLA 5 min), else hours
        (SLA 3 working hours); ``late`` ones overshoot."""
        rng = self.rng
        if live_call:
            seconds = rng.uniform(8, 40) * 60 if late else lognormal_s(rng, 90, 0.6, 270)
        else:
            seconds = rng.uniform(3.5, 9) * 3600 if late else lognormal_s(rng, 1800, 0.9, 9000)
        return int(seconds * 1000)

    def _resolve_at(self, assigned_ms: int, category: str, late: bool) -> int:
        rng = self.rng
        if late:
            hours = rng.uniform(30, 80) if category == "claim" else rng.uniform(60, 120)
            return assigned_ms + int(hours * HOUR_MS)
        median_s = 4 * 3600 if category == "claim" else 6 * 3600
        return assigned_ms + int(1000 * lognormal_s(rng, median_s, 0.8, 20 * 3600))

    def _emit(self, steps: list[tuple[int, str, dict[str, object]]]) -> list[Emission]:
        """Events of one incident: ids ``{incident}.{step}``."""
        incident = self.ids.next("i")
        return [
            Emission(ts, "incident", self.loc.id, IncidentEvent(
                id=f"{incident}.{k}", ts=ts, location=self.loc.id, incident=incident,
                action=action, **fields))  # type: ignore[arg-type]
            for k, (ts, action, fields) in enumerate(steps)
        ]
