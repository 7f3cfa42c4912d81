"""The traffic generator: every feed of every location, stepped over event time.

Pure and seeded: ``Traffic.advance(until_ms)`` returns, in time order, the events with
``ts < until_ms`` that have not been returned yet. Event time is generated in fixed steps
(one minute) and buffered in a heap, so the output is the same however the caller slices
time (one call for a day, or one call per wall second in real time). Each location draws
from its own ``random.Random`` seeded by (run seed, location id).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from simulators.csi import CsiProfile
from simulators.desks import DeskSchedule
from simulators.feedback import (
    DEFAULT_QUESTIONS,
    FeedbackGen,
    Questionnaire,
    SurveyChannel,
    at_time,
)
from simulators.flow import FlowGen
from simulators.incidents import IncidentGen
from simulators.model import Emission, Ids, SimLocation, run_tag
from simulators.profiles import load_at, poisson
from simulators.scenarios import SCENARIOS, Conditions, Plan
from stream.config import StreamSettings

STEP_MS = 60_000
HOUR_MS = 3_600_000
# Events per hour of a typical branch at the daily peak (load 1.0, scale 1); each
# location scales them by its own traffic / flow (a contact centre's flow is 6-10x).
VISITS_PER_H = 120.0
PRESSES_PER_H = 42.0  # plus the presses of desk customers (PRESS_SHARE of them)
CONTACTS_PER_H = 60.0
INCIDENTS_PER_H = 3.0
QR_SHARE = 0.3
DESK_SHARE = 0.55  # about this share of visitors are served at a desk (simulators.desks)
SMS_SHARE = 0.75  # contact centres survey after the call: SMS, else a web form


def questionnaire(cfg: StreamSettings) -> Questionnaire:
    """The config's CSI questions (built-in SERVQUAL ones when it has none)."""
    return Questionnaire(cfg.csi.questions or DEFAULT_QUESTIONS, cfg.csi.questions_per_survey)


def make_plan(network: tuple[SimLocation, ...], scenario: str, start_ms: int,
              end_ms: int | None, seed: int, target: str | None = None) -> Plan:
    """Bind a scenario to a run; the target defaults to the first location."""
    by_id = {loc.id: loc for loc in network}
    target_loc = by_id[target] if target else network[0]
    return Plan(
        scenario=SCENARIOS[scenario], start_ms=start_ms, end_ms=end_ms, seed=seed,
        target=target_loc.id, target_button=target_loc.button_devices[0][0],
        spell_locations=tuple(loc.id for loc in network if loc.configured) or (network[0].id,),
    )


@dataclass
class _LocationGens:
    loc: SimLocation
    rng: random.Random
    feedback: FeedbackGen
    flow: FlowGen
    incidents: IncidentGen
    desk: DeskSchedule


class Traffic:
    """Seeded event generator for a whole network under one plan."""

    def __init__(self, plan: Plan, network: tuple[SimLocation, ...], quiz: Questionnaire) -> None:
        self.plan = plan
        tag = run_tag(plan.seed, plan.scenario.name, plan.start_ms)
        self._gens = []
        for loc in network:
            rng = random.Random(f"{plan.seed}:{loc.id}")
            ids = Ids(tag, loc.id)
            desk = DeskSchedule(loc, plan.seed, plan.start_ms, functools.partial(self._load, loc),
                                functools.partial(self._mood, loc))
            self._gens.append(_LocationGens(
                loc, rng, FeedbackGen(loc, rng, ids, quiz, CsiProfile(loc.id, plan.seed)),
                FlowGen(loc, rng, ids), IncidentGen(loc, rng, ids), desk))
        self.desks = {g.loc.id: g.desk for g in self._gens}
        self._heap: list[tuple[int, int, Emission]] = []
        self._order = itertools.count()
        self._next_step_ms = plan.start_ms

    @property
    def cursor_ms(self) -> int:
        """Event time up to which steps have been generated."""
        return self._next_step_ms

    def advance(self, until_ms: int) -> list[Emission]:
        """Events with ``ts < until_ms`` (capped at the plan's end), in time order."""
        if self.plan.end_ms is not None:
            until_ms = min(until_ms, self.plan.end_ms)
        while self._next_step_ms < until_ms:
            t0 = self._next_step_ms
            t1 = t0 + STEP_MS
            if self.plan.end_ms is not None:
                t1 = min(t1, self.plan.end_ms)
            for g in self._gens:
                self._push(self._step(g, t0, t1))
            self._next_step_ms = t1
        out: list[Emission] = []
        while self._heap and self._heap[0][0] < until_ms:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def _push(self, events: Iterable[Emission]) -> None:
        for e in events:
            heapq.heappush(self._heap, (e.ts_ms, next(self._order), e))

    def _step(self, g: _LocationGens, t0: int, t1: int) -> list[Emission]:
        """One location's events whose story starts in [t0, t1)."""
        loc, rng = g.loc, g.rng
        cond = self.plan.conditions(loc.id, t0)
        hours = (t1 - t0) / HOUR_MS
        load = self._load(loc, t0)
        closing, surveys = self._desk(g, t0, t1)
        out = self._settle(g, self._feedback(g, t0, t1, cond, load) + surveys) + closing
        out.extend(g.flow.contact(ts, cond.flow) for ts in
                   _times(rng, CONTACTS_PER_H * loc.flow_scale * load * hours, t0, t1))
        mean = INCIDENTS_PER_H * loc.traffic * load * cond.incident_mult * hours
        for ts in _times(rng, mean, t0, t1):
            out.extend(g.incidents.lifecycle(ts, cond.incidents))
        g.desk.forget_before(t0)
        return out

    def _load(self, loc: SimLocation, ts_ms: int) -> float:
        """Relative traffic of a location at an instant (hour profile x scenario)."""
        sc = self.plan.scenario
        return (load_at(ts_ms, loc.timezone, sc.night_floor) * sc.rate_scale
                * self.plan.conditions(loc.id, ts_ms).traffic_mult)

    def _mood(self, loc: SimLocation, ts_ms: int) -> tuple[float, float]:
        """(agitation, quality delta) of a location at an instant, for its desks."""
        cond = self.plan.conditions(loc.id, ts_ms)
        return cond.agitation, cond.quality_delta

    def _feedback(self, g: _LocationGens, t0: int, t1: int, cond: Conditions,
                  load: float) -> list[Emission]:
        """Visitors not served at a desk, their surveys, and loyalty-button presses."""
        loc, rng = g.loc, g.rng
        hours = (t1 - t0) / HOUR_MS
        quality = loc.quality + cond.quality_delta
        out: list[Emission] = []
        for ts in _times(rng, VISITS_PER_H * (1 - DESK_SHARE) * loc.traffic * load * hours, t0, t1):
            staff, skill = g.feedback.staff_member()
            out.append(g.feedback.visit(ts, staff))
            if rng.random() < loc.response_rate:
                out.extend(self._survey(g, ts, cond, staff, skill))
        live = [d for d in loc.button_devices if d[0] not in cond.silent_devices]
        for device, touchpoint in live:
            mean = PRESSES_PER_H * loc.traffic * load * hours / len(loc.button_devices)
            out.extend(g.feedback.press(ts, quality, device, touchpoint)
                       for ts in _times(rng, mean, t0, t1))
        if live and cond.red_presses_per_h:
            device, touchpoint = live[0]
            out.extend(g.feedback.press(ts, quality, device, touchpoint, value=1)
                       for ts in _times(rng, cond.red_presses_per_h * hours, t0, t1))
        return out

    def _survey(self, g: _LocationGens, visit_ms: int, cond: Conditions, staff: str,
                skill: float, u: float | None = None) -> list[Emission]:
        """The survey session of a visitor who answers, a few minutes after the visit."""
        channel = _survey_channel(g.rng, g.loc)
        if channel == "terminal" and cond.terminal_silent:
            return []
        at = visit_ms + g.rng.randint(30_000, 300_000)
        return g.feedback.session(at, g.loc.quality + cond.quality_delta, staff, skill,
                                  channel, cond, u)

    def _desk(self, g: _LocationGens, t0: int, t1: int) -> tuple[list[Emission], list[Emission]]:
        """Events of the desk conversations whose visit falls in [t0, t1): (the closing
        ones: the customer's visit and maybe a press of the desk's button, which carries
        the encounter's rating; the survey answered minutes later)."""
        closing: list[Emission] = []
        surveys: list[Emission] = []
        button = _desk_button(g.loc)
        for conv in g.desk.closing_in(t0, t1):
            cond = self.plan.conditions(g.loc.id, conv.close_ms)
            closing.append(g.feedback.visit(conv.close_ms, conv.staff))
            if conv.press_ms is not None and button[0] not in cond.silent_devices:
                closing.append(g.feedback.press(conv.press_ms, 0.0, *button,
                                                served=(conv.staff, conv.u)))
            if conv.respond:
                surveys += self._survey(g, conv.close_ms, cond, conv.staff, conv.skill, conv.u)
        return closing, surveys

    def _settle(self, g: _LocationGens, events: list[Emission]) -> list[Emission]:
        """Move feedback events out of desk conversations into the quiet time between them,
        keeping each survey's answers in order."""
        last: dict[str, int] = {}
        out = []
        for e in events:
            session = getattr(e.event, "session", None)
            floor = e.ts_ms if session is None else max(e.ts_ms, last.get(session, 0) + 500)
            ts = g.desk.quiet_at(floor, g.rng)
            if session is not None:
                last[session] = ts
            out.append(e if ts == e.ts_ms else _retimed(e, ts))
        return out


def _desk_button(loc: SimLocation) -> tuple[str, str]:
    """The loyalty button a desk customer presses: the one at a desk touchpoint, if any."""
    at_desk = [d for d in loc.button_devices if d[1] in ("consultation", "cashdesk")]
    return (at_desk or list(loc.button_devices))[0]


def _retimed(e: Emission, ts_ms: int) -> Emission:
    """The emission moved to ``ts_ms``, its time written the way its device writes it."""
    old = e.event.ts
    ts: int | dt.datetime = ts_ms if isinstance(old, int) else at_time(ts_ms, old.tzinfo or dt.UTC)
    return Emission(ts_ms, e.kind, e.location, msgspec.structs.replace(e.event, ts=ts))


def _survey_channel(rng: random.Random, loc: SimLocation) -> SurveyChannel:
    """Where a customer answers: the hall's terminal or a QR form; after a call, SMS or web."""
    if loc.contact_centre:
        return "sms" if rng.random() < SMS_SHARE else "web"
    return "qr" if rng.random() < QR_SHARE else "terminal"


def _times(rng: random.Random, mean: float, t0: int, t1: int) -> list[int]:
    """Poisson arrivals in [t0, t1): a Poisson count, uniform instants."""
    return [rng.randrange(t0, t1) for _ in range(poisson(rng, mean))]


def generate(plan: Plan, network: tuple[SimLocation, ...], quiz: Questionnaire) -> list[Emission]:
    """Every event of a bounded plan, in time order."""
    if plan.end_ms is None:
        raise ValueError("generate() needs a bounded plan (end_ms)")
    return Traffic(plan, network, quiz).advance(plan.end_ms)
