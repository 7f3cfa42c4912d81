"""Service encounters at one microphone (pure): the "electronic mystery shopper".

An encounter is a run of utterances at a desk. It closes on a visit or feedback event at
the location (the rating, normalised to [0, 1], is attached) or after
``encounter_silence_s`` without speech, and reports whether the greeting, the thanks and
the farewell of the service standard were said.

Keywords arrive late (speech recognition runs after the VAD), so the tracker keeps its
entries in time order and only moves past an utterance once its keywords are known:

    tracker.begin(start_ms)                       # the VAD finished an utterance
    tracker.finish(start_ms, end_ms, anger, cats) # its keywords (or none: ASR skipped)
    tracker.close(ts_ms, "feedback", rating)      # a visit/feedback event at the location
    tracker.poll(now_ms) -> [EncounterEvent]      # now: the mic's audio clock

A close waits ``settle_ms`` before it applies, for utterances still in recognition and for
the other answers of the same survey (a visit then a button press within that time are
one close, carrying the rating). Utterances are assigned by their start: one that started
before the close belongs to the encounter it closes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal

from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    EncounterEvent,
    FeedbackEvent,
    NpsEvent,
    VisitEvent,
)
from voice.audio import mic_event_id

ClosedBy = Literal["silence", "visit", "feedback", "shutdown"]
STANDARD = ("greeting", "thanks", "farewell")


def rating_of(event: FeedbackEvent) -> float | None:
    """A closing rating in [0, 1]: button (v-1)/(scale-1), nps v/10, csat (v-1)/4,
    ces (v-1)/6; None for visits and factor (CSI) answers."""
    if isinstance(event, ButtonEvent):
        return (event.value - 1) / (event.scale - 1)
    if isinstance(event, NpsEvent):
        return event.value / 10
    if isinstance(event, CsatEvent):
        return (event.value - 1) / 4
    if isinstance(event, CesEvent):
        return (event.value - 1) / 6
    return None


def closed_by_of(event: FeedbackEvent) -> ClosedBy:
    return "visit" if isinstance(event, VisitEvent) else "feedback"


@dataclass(frozen=True, slots=True)
class EncounterOptions:
    silence_ms: int = 120_000
    settle_ms: int = 5_000


@dataclass(slots=True)
class _Utt:
    start_ms: int
    end_ms: int = 0
    anger: float = 0.0
    categories: frozenset[str] = frozenset()
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class _Close:
    ts_ms: int
    closed_by: ClosedBy
    rating: float | None


@dataclass(slots=True)
class _Open:
    start_ms: int
    end_ms: int
    utterances: int = 0
    said: set[str] = field(default_factory=set)
    anger_max: float = 0.0


class EncounterTracker:
    """One microphone's encounters; see the module docstring for the order of calls."""

    def __init__(self, location: str, mic: str, options: EncounterOptions | None = None) -> None:
        self.location = location
        self.mic = mic
        self.options = options or EncounterOptions()
        self._entries: list[tuple[int, int, int, _Utt | _Close]] = []  # (t, kind, n, entry)
        self._utts: dict[int, _Utt] = {}
        self._n = 0
        self._open: _Open | None = None

    @property
    def pending(self) -> int:
        """Entries not yet applied (utterances in recognition, closes settling)."""
        return len(self._entries)

    @property
    def idle(self) -> bool:
        """Nothing open and nothing pending: the tracker holds no state worth keeping."""
        return self._open is None and not self._entries

    def begin(self, start_ms: int) -> None:
        """An utterance starting at ``start_ms`` exists; its keywords will follow."""
        if start_ms not in self._utts:
            utt = _Utt(start_ms)
            self._utts[start_ms] = utt
            self._insert(start_ms, 1, utt)

    def finish(self, start_ms: int, end_ms: int, anger: float, categories: frozenset[str]) -> None:
        """The utterance's span, anger and keyword categories are known."""
        self.begin(start_ms)
        utt = self._utts[start_ms]
        utt.end_ms, utt.anger, utt.categories, utt.resolved = end_ms, anger, categories, True

    def close(self, ts_ms: int, closed_by: ClosedBy, rating: float | None = None) -> None:
        """A visit or feedback event at the location at ``ts_ms``."""
        self._insert(ts_ms, 0, _Close(ts_ms, closed_by, rating))

    def poll(self, now_ms: int) -> list[EncounterEvent]:
        """Apply what is ready at ``now_ms``; returns the encounters that closed."""
        out = self._drain(now_ms)
        cur = self._open
        if not self._entries and cur is not None and now_ms - cur.end_ms >= self.options.silence_ms:
            out.append(self._emit(cur.end_ms, "silence", None))
        return out

    def flush(self) -> list[EncounterEvent]:
        """End of stream: apply everything (keywords still missing count as none), then
        close the encounter in progress as ``shutdown``."""
        for utt in self._utts.values():
            if not utt.resolved:
                utt.end_ms, utt.resolved = utt.start_ms, True
        out = self._drain(None)
        if self._open is not None:
            out.append(self._emit(self._open.end_ms, "shutdown", None))
        return out

    # -- internals ------------------------------------------------------------------------

    def _drain(self, now_ms: int | None) -> list[EncounterEvent]:
        """Apply entries from the head while they are ready (all of them when ``now_ms`` is
        None)."""
        out: list[EncounterEvent] = []
        while self._entries:
            t, _, _, entry = self._entries[0]
            if isinstance(entry, _Utt):
                if not entry.resolved:
                    break
                self._entries.pop(0)
                del self._utts[entry.start_ms]
                out += self._add(entry)
            elif now_ms is None or now_ms >= t + self.options.settle_ms:
                out += self._apply_close()
            else:
                break
        return out

    def _insert(self, t: int, kind: int, entry: _Utt | _Close) -> None:
        self._n += 1
        bisect.insort(self._entries, (t, kind, self._n, entry), key=lambda e: e[:3])

    def _add(self, utt: _Utt) -> list[EncounterEvent]:
        out = []
        cur = self._open
        if cur is not None and utt.start_ms - cur.end_ms >= self.options.silence_ms:
            out.append(self._emit(cur.end_ms, "silence", None))
            cur = None
        if cur is None:
            cur = self._open = _Open(utt.start_ms, utt.end_ms)
        cur.utterances += 1
        cur.end_ms = max(cur.end_ms, utt.end_ms)
        cur.said |= utt.categories & set(STANDARD)
        cur.anger_max = max(cur.anger_max, utt.anger)
        return out

    def _apply_close(self) -> list[EncounterEvent]:
        """The close at the head, merged with closes right after it (no speech between)."""
        first = self._entries.pop(0)[3]
        assert isinstance(first, _Close)
        merged = [first]
        limit = first.ts_ms + self.options.settle_ms
        while (self._entries and isinstance(self._entries[0][3], _Close)
               and self._entries[0][0] <= limit):
            merged.append(self._entries.pop(0)[3])  # type: ignore[arg-type]
        if self._open is None or first.ts_ms < self._open.start_ms:
            return []  # no speech since the last close, or a close from before this encounter
        rating = next((c.rating for c in merged if c.rating is not None), None)
        by: ClosedBy = ("feedback" if any(c.closed_by == "feedback" for c in merged)
                        else first.closed_by)
        return [self._emit(first.ts_ms, by, rating)]

    def _emit(self, ts_ms: int, closed_by: ClosedBy, rating: float | None) -> EncounterEvent:
        cur = self._open
        assert cur is not None
        self._open = None
        return EncounterEvent(
            id=mic_event_id("e", self.location, self.mic, cur.start_ms),
            ts=max(ts_ms, cur.start_ms),
            location=self.location, mic=self.mic, start=cur.start_ms, end=cur.end_ms,
            utterances=cur.utterances, greeting="greeting" in cur.said, thanks="thanks" in cur.said,
            farewell="farewell" in cur.said, anger_max=round(min(max(cur.anger_max, 0.0), 1.0), 4),
            closed_by=closed_by, rating=rating)
