"""What the electronic mystery shopper heard around a rating (pure).

``Heard`` keeps the recent encounters (``cx.encounter``) and utterances (``cx.voice``) of
every location for ``keep_ms``. ``around(location, ts_ms)`` picks the encounter that
explains a rating given at ``ts_ms``:

1. one the rating itself closed (``closed_by`` feedback or visit, closed within
   ``after_ms`` of the rating -- the voice worker closes an encounter on the rating it
   sees, a few seconds later);
2. else one in progress at the rating, or ended at most ``before_ms`` before it (the
   customer spoke at the desk, then rated at the exit terminal) -- the latest.

The link carries the greeting/thanks/farewell flags, the peak anger, the escalation and
profanity words said at that microphone during the encounter and their transcript, both
masked (``text.mask``). A case opened before its encounter closed is completed later:
``Pending`` remembers it for ``[cases] link_wait_s`` and ``Heard.better`` says when a new
encounter explains it better than what it was linked with.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

from stream.events import EncounterEvent, IncidentLink, LinkedEncounter, VoiceEvent, ts_to_ms
from text import mask

MAX_TRANSCRIPT = 2000
_WORDS = ("escalation", "profanity")


@dataclass(frozen=True, slots=True)
class _Utterance:
    start_ms: int
    end_ms: int
    words: tuple[str, ...]
    transcript: str | None


@dataclass
class Heard:
    """Recent encounters and utterances per location, in time order."""

    keep_ms: int = 3_600_000
    encounters: dict[str, deque[tuple[int, EncounterEvent]]] = field(default_factory=dict)
    utterances: dict[tuple[str, str], list[_Utterance]] = field(default_factory=dict)

    def add_encounter(self, ev: EncounterEvent) -> None:
        q = self.encounters.setdefault(ev.location, deque())
        ts = ts_to_ms(ev.ts)
        q.append((ts, ev))
        while q and q[0][0] < ts - self.keep_ms:
            q.popleft()

    def add_utterance(self, ev: VoiceEvent) -> None:
        words = tuple(mask(k.word) for k in ev.keywords if k.category in _WORDS)
        said = mask(ev.transcript) if ev.transcript else None
        lst = self.utterances.setdefault((ev.location, ev.mic), [])
        bisect.insort(lst, _Utterance(ev.start, ev.end, words, said), key=lambda u: u.start_ms)
        while lst and lst[0].end_ms < ev.end - self.keep_ms:
            lst.pop(0)

    def around(self, location: str, ts_ms: int, before_ms: int,
               after_ms: int) -> LinkedEncounter | None:
        """The encounter that explains a rating at ``ts_ms`` (see the module docstring)."""
        found = self._pick(location, ts_ms, before_ms, after_ms)
        return None if found is None else self.link(found)

    def _pick(self, location: str, ts_ms: int, before_ms: int,
              after_ms: int) -> EncounterEvent | None:
        closed, near = None, None
        for ts, ev in self.encounters.get(location, ()):
            if ev.closed_by in ("feedback", "visit") and ts_ms <= ts <= ts_ms + after_ms:
                if closed is None or ts < ts_to_ms(closed.ts):
                    closed = ev
            elif ev.start <= ts_ms + after_ms and ev.end >= ts_ms - before_ms and (
                    near is None or ev.end > near.end):
                near = ev
        return closed or near

    def closes(self, ev: EncounterEvent, ts_ms: int, after_ms: int) -> bool:
        """Was ``ev`` closed by the rating given at ``ts_ms``?"""
        closed_ms = ts_to_ms(ev.ts)
        return ev.closed_by in ("feedback", "visit") and ts_ms <= closed_ms <= ts_ms + after_ms

    def link(self, ev: EncounterEvent) -> LinkedEncounter:
        """The link of one encounter, with its masked words and transcript."""
        said = [u for u in self.utterances.get((ev.location, ev.mic), ())
                if u.start_ms >= ev.start - 1 and u.start_ms <= ev.end]
        words = list(dict.fromkeys(w for u in said for w in u.words))[:20]
        transcript = " / ".join(u.transcript for u in said if u.transcript)
        return LinkedEncounter(
            id=ev.id, mic=ev.mic, start=ev.start, end=ev.end, greeting=ev.greeting,
            thanks=ev.thanks, farewell=ev.farewell, anger_max=ev.anger_max,
            closed_by=ev.closed_by, escalation_words=[w[:256] for w in words],
            transcript=transcript[:MAX_TRANSCRIPT] or None)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A case opened from a rating whose encounter may still close."""

    location: str
    incident: str
    rating_ms: int
    link: IncidentLink  # the case's link so far
    until_ms: int  # wall-clock ms: stop waiting then
    linked: str | None  # id of the encounter linked so far


@dataclass
class Pending:
    """Cases waiting for the encounter their rating closes."""

    items: list[Waiting] = field(default_factory=list)

    def add(self, item: Waiting) -> None:
        self.items.append(item)

    def expire(self, now_ms: int) -> None:
        self.items = [w for w in self.items if w.until_ms > now_ms]

    def matched(self, heard: Heard, ev: EncounterEvent, after_ms: int) -> list[Waiting]:
        """The waiting cases ``ev`` was closed by (they stop waiting)."""
        hit = [w for w in self.items if w.location == ev.location and w.linked != ev.id
               and heard.closes(ev, w.rating_ms, after_ms)]
        self.items = [w for w in self.items if w not in hit]
        return hit
