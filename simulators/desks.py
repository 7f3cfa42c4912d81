"""Service desks: whole conversations on one timeline with the location's feedback events.

The voice worker's "electronic mystery shopper" (voice/encounters.py) closes every
microphone's encounter at a location on any visit or rating there, or after a silence.
So that the simulated audio and events make whole encounters, a location's desks are
scheduled here, as one timeline that both the microphones (audio) and the traffic
generator (events) read:

- Conversations follow each other (the location's desks take turns, so no event closes
  one desk mid-sentence because of another): greeting -> the customer's request -> the
  answer -> maybe a complaint or shouting -> thanks -> farewell, each line in a slot of
  ``SLOT_MS``. Which lines are said depends on the staff member on duty (most follow the
  standard, some skip steps) and on the scenario's agitation (a bad shift drops greetings).
- Each conversation ends with its customer's visit event (the queue ticket closes; this
  closes the encounter) and sometimes a press of the desk's loyalty button within the
  voice worker's settle time (the encounter gets its rating); the survey comes later.
- Every other feedback event of the location is moved out of the conversations into the
  quiet time between them (``DeskSchedule.quiet_at``).

Pure and seeded: a schedule draws from its own ``random.Random`` (seed, location) and is
extended lazily in time order, so it is the same however the callers slice time.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.model import SimLocation
from simulators.profiles import satisfaction

SLOT_MS = 4_400  # time kept for one line (every shipped clip is shorter; longer ones are cut)
BEFORE_MS = 1_500  # no other event this close before a conversation starts
CLOSE_AFTER_MS = (600, 1_500)  # the customer's visit event after the last word
PRESS_AFTER_MS = (1_000, 3_500)  # ... and the button press after that (within the settle time)
SETTLE_MS = 5_000  # the voice worker merges closes this close together ([voice] settle)
QUIET_MIN_MS = 4_500  # at least this between a conversation's last event and the next one
DESK_PAUSE_S = 30.0  # mean wait for the next desk customer at full load and traffic 1.0
MAX_PAUSE_S = 3_600.0
PRESS_SHARE = 0.3  # desk customers who press the desk's loyalty button
DUTY_MS = 30 * 60_000  # staff change desks every half hour
STANDARD = ("greeting", "thanks", "farewell")
Load = Callable[[int], float]  # relative traffic at an instant
State = Callable[[int], tuple[float, float]]  # (agitation, quality delta) at an instant


@dataclass(frozen=True)
class Habits:
    """How often a staff member says each line of the service standard."""

    greeting: float
    thanks: float
    farewell: float


DILIGENT = Habits(0.96, 0.9, 0.86)


def staff_habits(loc: SimLocation) -> tuple[Habits, ...]:
    """Per staff member (from the location id): most keep to the standard; the one who
    struggles and now and then another skip steps."""
    rng = random.Random(f"habits:{loc.id}")
    worst = min(range(len(loc.staff)), key=lambda i: loc.staff_skill[i])
    out = []
    for i in range(len(loc.staff)):
        if i == worst or rng.random() < 0.12:
            out.append(Habits(rng.uniform(0.55, 0.7), rng.uniform(0.45, 0.6),
                              rng.uniform(0.35, 0.5)))
        else:
            out.append(Habits(rng.uniform(0.94, 0.99), rng.uniform(0.87, 0.95),
                              rng.uniform(0.86, 0.94)))
    return tuple(out)


def script(rng: random.Random, habits: Habits, agitation: float, u: float,
           greeted: bool) -> tuple[str, ...]:
    """The lines (clip categories) of one conversation; ``u`` is the customer's
    satisfaction, ``greeted`` whether the greeting is said (decided first: it moves ``u``)."""
    lines = ["greeting"] if greeted else []
    lines.append("question")
    if rng.random() < 0.7:
        lines.append("neutral")  # the answer
    complaint = rng.random() < 0.02 + 0.7 * agitation + 0.6 * max(0.0, 0.35 - u)
    if complaint:
        lines.append("complaint")
        if rng.random() < 0.15 + 0.7 * agitation:
            lines.append("shouting")
    calm = 1 - 0.4 * agitation
    thanks = rng.random() < habits.thanks * calm * (0.7 if complaint else 1.0)
    if thanks:
        lines.append("thanks")
    if rng.random() < habits.farewell * calm * (1.0 if thanks else 0.7):
        lines.append("farewell")
    return tuple(lines)


def greets(rng: random.Random, habits: Habits, agitation: float) -> bool:
    """Whether the greeting is said: a bad shift (agitation) drops greetings."""
    return rng.random() < habits.greeting * (1 - 0.6 * agitation)


def layout(rng: random.Random, start_ms: int,
           lines: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """Absolute start times of the lines: one slot each, a short pause between."""
    out, t = [], start_ms
    for line in lines:
        out.append((line, t))
        t += SLOT_MS + rng.randrange(200, 1_200)
    return tuple(out)


@dataclass(frozen=True)
class Conversation:
    """One customer at one desk, and the events that close it."""

    start_ms: int
    mic: str
    staff: str
    skill: float
    lines: tuple[tuple[str, int], ...]  # (clip category, absolute start ms)
    tense: bool  # agitated clips
    u: float  # the customer's satisfaction (0..1)
    close_ms: int  # the visit event
    press_ms: int | None  # the desk button press carrying the rating, if any
    respond: bool  # the customer answers the survey later

    @property
    def end_ms(self) -> int:
        """When the last line's slot ends."""
        return self.lines[-1][1] + SLOT_MS

    @property
    def free_ms(self) -> int:
        """From here other events may happen: after the conversation's own events and the
        voice worker's settle time (so no other rating is merged into its close)."""
        return max(self.close_ms + SETTLE_MS, self.press_ms or 0) + 500

    def said(self) -> dict[str, bool]:
        lines = {line for line, _ in self.lines}
        return {k: k in lines for k in STANDARD}


class DeskSchedule:
    """The conversations of one location's desks over event time (see the module doc)."""

    def __init__(self, loc: SimLocation, seed: int, start_ms: int, load: Load,
                 state: State) -> None:
        self.loc = loc
        self.habits = staff_habits(loc)
        self._rng = random.Random(f"{seed}:{loc.id}:desks")
        self._load, self._state = load, state
        self._convs: list[Conversation] = []
        self._starts: list[int] = []
        self._closes: list[int] = []  # increasing too: conversations follow each other
        self._duty: tuple[int, list[int]] = (-1, [])
        self._next_ms = start_ms + self._pause_ms(start_ms)

    def closing_in(self, t0: int, t1: int) -> list[Conversation]:
        """Conversations whose visit event falls in [t0, t1)."""
        self._extend(t1 + 60_000)
        lo, hi = bisect.bisect_left(self._closes, t0), bisect.bisect_left(self._closes, t1)
        return self._convs[lo:hi]

    def quiet_at(self, ts_ms: int, rng: random.Random) -> int:
        """``ts_ms`` if no conversation (or its own events) is under way then, else a time
        drawn in the quiet gap that follows it."""
        self._extend(ts_ms + 60_000)
        i = bisect.bisect_right(self._starts, ts_ms + BEFORE_MS) - 1
        if i < 0 or ts_ms >= self._convs[i].free_ms:
            return ts_ms
        lo = self._convs[i].free_ms
        while len(self._convs) <= i + 1:
            self._extend(self._next_ms + 1)
        hi = self._convs[i + 1].start_ms - BEFORE_MS
        return rng.randrange(lo, max(hi, lo + 1))

    def conversations(self, t0: int, t1: int) -> list[Conversation]:
        """Conversations starting in [t0, t1) (still held: see ``forget_before``)."""
        self._extend(t1)
        lo, hi = bisect.bisect_left(self._starts, t0), bisect.bisect_left(self._starts, t1)
        return self._convs[lo:hi]

    def next_for(self, mic: str, after_ms: int) -> Conversation:
        """The first conversation at ``mic`` starting at or after ``after_ms``."""
        i = bisect.bisect_left(self._starts, after_ms)
        while True:
            while i >= len(self._convs):
                self._extend(self._next_ms + 1)
            if self._convs[i].mic == mic:
                return self._convs[i]
            i += 1

    def forget_before(self, ts_ms: int) -> None:
        """Drop conversations over before ``ts_ms`` (memory stays flat over long runs)."""
        k = bisect.bisect_left(self._starts, ts_ms - 10 * 60_000)
        if k > 256:
            del self._convs[:k], self._starts[:k], self._closes[:k]

    def _extend(self, until_ms: int) -> None:
        while self._next_ms < until_ms:
            conv = self._conversation(self._next_ms)
            self._convs.append(conv)
            self._starts.append(conv.start_ms)
            self._closes.append(conv.close_ms)
            self._next_ms = conv.free_ms + QUIET_MIN_MS + self._pause_ms(conv.free_ms)

    def _pause_ms(self, ts_ms: int) -> int:
        """Wait for the next desk customer: shorter when the location is busy."""
        rate = max(self._load(ts_ms) * self.loc.traffic, 1e-3)
        return int(1000 * min(self._rng.expovariate(rate / DESK_PAUSE_S), MAX_PAUSE_S))

    def _conversation(self, start_ms: int) -> Conversation:
        rng, loc = self._rng, self.loc
        agitation, quality_delta = self._state(start_ms)
        mic = rng.choice(loc.mics)
        who = self._on_duty(mic, start_ms)
        habits = self.habits[who]
        greeted = greets(rng, habits, agitation)
        u = satisfaction(rng, loc.quality + quality_delta + loc.staff_skill[who]
                         - (0.0 if greeted else 0.08))
        lines = layout(rng, start_ms, script(rng, habits, agitation, u, greeted))
        close = lines[-1][1] + SLOT_MS + rng.randrange(*CLOSE_AFTER_MS)
        press = close + rng.randrange(*PRESS_AFTER_MS) if rng.random() < PRESS_SHARE else None
        return Conversation(start_ms, mic, loc.staff[who], loc.staff_skill[who], lines,
                            rng.random() < agitation, u, close, press,
                            rng.random() < loc.response_rate)

    def _on_duty(self, mic: str, ts_ms: int) -> int:
        """Index of the staff member at ``mic`` in this half hour (desks differ)."""
        block = ts_ms // DUTY_MS
        if self._duty[0] != block:
            duty = random.Random(f"duty:{self.loc.id}:{block}")
            self._duty = (block, duty.sample(range(len(self.loc.staff)), len(self.loc.staff)))
        order = self._duty[1]
        return order[self.loc.mics.index(mic) % len(order)]
