"""Scenarios: what changes over a run, as pure functions of (location, event time).

A ``Plan`` fixes a scenario to a run: its event-time range, the seed, and the target
location (the one ``bad-shift`` degrades and ``outage`` silences). ``Plan.conditions``
answers "how is this location doing at this instant", which the traffic generator and the
microphone feed both read.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from simulators.flow import FlowStress
from simulators.incidents import BAD_CATEGORY_MIX, IncidentStress

MIN_MS = 60_000


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    span_s: float  # event time an accelerated replay covers when --duration is not given
    rate_scale: float = 1.0
    night_floor: float = 0.0  # keep some traffic at night (demo: the wall always moves)
    backfill_s: float = 0.0  # event time published at once before real time starts
    rush: bool = False
    degrade: bool = False
    outage: bool = False
    spells: bool = False  # short bad spells at random locations (demo alerts)
    phase_frac: float = 0.25  # degrade/outage start, as a share of a bounded run
    phase_open_s: float = 120.0  # ... or seconds after the start of an open-ended run


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("demo", "small network in real time after a 2 h back-fill; occasional bad spells",
             span_s=2 * 3600, night_floor=0.3, backfill_s=2 * 3600, spells=True),
    Scenario("normal-day", "an ordinary day", span_s=86400),
    Scenario("rush-hour", "traffic surges to ~2.8x mid-run: queues grow, scores dip",
             span_s=3 * 3600, rush=True),
    Scenario("bad-shift", "one location degrades: NPS and buttons fall, red presses burst, "
             "shouting at its desk, incidents pile up", span_s=8 * 3600, degrade=True),
    Scenario("outage", "one location's survey terminal and a button go silent, a mic drops out",
             span_s=3600, outage=True, phase_frac=0.4, phase_open_s=60.0),
    Scenario("load", "maximum publish rate for benchmarks (pre-encoded events)",
             span_s=6 * 3600, rate_scale=20.0, night_floor=0.5),
)}


@dataclass(frozen=True)
class Conditions:
    """The state of one location at one instant."""

    quality_delta: float = 0.0
    traffic_mult: float = 1.0
    red_presses_per_h: float = 0.0
    incident_mult: float = 1.0
    agitation: float = 0.0  # 0..1: how much shouting and complaining the mics hear
    flow: FlowStress = field(default_factory=FlowStress)
    incidents: IncidentStress = field(default_factory=IncidentStress)
    terminal_silent: bool = False
    silent_devices: frozenset[str] = frozenset()
    mic_down: bool = False
    factor_delta: tuple[tuple[str, float], ...] = ()  # CSI factors hit harder than the rest
    complaint_bias: tuple[tuple[str, float], ...] = ()  # comment topics complained about more


NORMAL = Conditions()


@dataclass(frozen=True)
class Plan:
    """A scenario bound to a run: [start_ms, end_ms) of event time (end None = open-ended)."""

    scenario: Scenario
    start_ms: int
    end_ms: int | None
    seed: int
    target: str
    target_button: str = ""  # the button device that goes silent in ``outage``
    spell_locations: tuple[str, ...] = ()  # where demo spells may happen

    @property
    def phase_ms(self) -> int:
        """When ``bad-shift`` degradation or the ``outage`` begins."""
        if self.end_ms is None:
            return self.start_ms + int(self.scenario.phase_open_s * 1000)
        return self.start_ms + int(self.scenario.phase_frac * (self.end_ms - self.start_ms))

    def conditions(self, location: str, ts_ms: int) -> Conditions:
        sc = self.scenario
        if sc.rush:
            return _rush(self._rush_level(ts_ms))
        if sc.degrade and location == self.target and ts_ms >= self.phase_ms:
            ramp = min(1.0, (ts_ms - self.phase_ms) / (10 * MIN_MS))
            return _bad(ramp)
        if sc.outage and location == self.target and ts_ms >= self.phase_ms:
            silent = frozenset({self.target_button} - {""})
            return Conditions(terminal_silent=True, silent_devices=silent, mic_down=True)
        if sc.spells and self._in_spell(location, ts_ms):
            return _bad(0.7)
        return NORMAL

    def _rush_level(self, ts_ms: int) -> float:
        """0..1 bump: mid-run for a bounded run, 20 min in for an open-ended one."""
        mid: float
        width: float
        if self.end_ms is None:
            mid, width = self.start_ms + 20 * MIN_MS, 10 * MIN_MS
        else:
            mid, width = (self.start_ms + self.end_ms) / 2, (self.end_ms - self.start_ms) / 6
        return math.exp(-(((ts_ms - mid) / max(width, 1)) ** 2))

    def _in_spell(self, location: str, ts_ms: int) -> bool:
        """Every 20 min of event time, one location (seeded pick) has a 4-minute bad spell."""
        k, offset = divmod(ts_ms, 20 * MIN_MS)
        if offset >= 4 * MIN_MS or not self.spell_locations:
            return False
        return random.Random(f"{self.seed}:spell:{k}").choice(self.spell_locations) == location


def _bad(level: float) -> Conditions:
    """A degraded location at ``level`` (0..1) of its bad shift."""
    return Conditions(
        quality_delta=-0.4 * level,
        factor_delta=(("responsiveness", -0.2 * level), ("empathy", -0.2 * level)),
        complaint_bias=(("wait", 1 + 4 * level), ("staff", 1 + 4 * level)),
        red_presses_per_h=40.0 * level,
        incident_mult=1 + 4 * level,
        agitation=0.8 * level,
        flow=FlowStress(wait_mult=1 + 1.5 * level, answer_drop=0.12 * level,
                        fcr_drop=0.25 * level),
        incidents=IncidentStress(late_assign=0.08 + 0.4 * level, late_resolve=0.08 + 0.3 * level,
                                 mix=BAD_CATEGORY_MIX if level > 0.3 else IncidentStress().mix),
    )


def _rush(level: float) -> Conditions:
    """Everybody at ``level`` (0..1) of a rush: more traffic, longer waits, lower scores."""
    if level < 0.01:
        return NORMAL
    return Conditions(
        quality_delta=-0.12 * level,
        factor_delta=(("responsiveness", -0.15 * level),),
        complaint_bias=(("wait", 1 + 2 * level),),
        traffic_mult=1 + 1.8 * level,
        incident_mult=1 + 1.0 * level,
        agitation=0.2 * level,
        flow=FlowStress(wait_mult=1 + 3 * level, answer_drop=0.15 * level, fcr_drop=0.05 * level),
        incidents=IncidentStress(late_assign=0.08 + 0.15 * level),
    )
