"""The contactless incident sensor (pure): sustained anger or escalation/profanity words at a
microphone are *reported* on the utterance's voice event (``VoiceEvent.escalation``); the
case rules (``[[cases.rules]]`` kind ``voice``, ``cases.rules``) decide whether the episode
opens a case, as they do for ratings and button bursts.

Triggers, per utterance:
- an escalation word ("жалоба", "менеджер", "верните деньги", ...): category ``claim``;
- a profanity word, or sustained anger -- at least ``anger_utterances`` utterances with
  anger >= ``anger_threshold`` within ``anger_window_ms``: category ``service``.

Prosodic anger alone cannot tell anger from excitement, hence the count over a window.
One incident per episode per microphone: triggers less than ``cooldown_ms`` after the
previous trigger belong to the same episode and open nothing new. Utterances may arrive
slightly out of order (speech recognition finishes them at different times); the anger
window is evaluated on event time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from stream.events import VoiceEscalation, VoiceKeyword
from voice.audio import mic_event_id
from voice.config import VoiceConfig

MAX_REASON = 512


@dataclass(frozen=True, slots=True)
class SensorOptions:
    anger_threshold: float = 0.7
    anger_utterances: int = 2
    anger_window_ms: int = 60_000
    cooldown_ms: int = 300_000

    @classmethod
    def from_config(cls, voice: VoiceConfig) -> SensorOptions:
        return cls(voice.anger_threshold, voice.anger_incident_utterances,
                   int(voice.anger_incident_window_s * 1000), int(voice.incident_cooldown_s * 1000))


@dataclass(frozen=True, slots=True)
class Trigger:
    """Why an incident opens: the utterance that tipped it, its category and a reason."""

    start_ms: int
    end_ms: int
    category: Literal["claim", "service"]
    reason: str
    words: tuple[str, ...]
    anger: float


@dataclass
class IncidentSensor:
    """One microphone's sensor: ``observe`` each finished utterance."""

    options: SensorOptions = field(default_factory=SensorOptions)
    _anger_ms: list[int] = field(default_factory=list)  # end times of angry utterances, sorted
    _last_trigger_ms: int | None = None
    episodes: int = 0

    def observe(self, start_ms: int, end_ms: int, anger: float,
                keywords: Iterable[VoiceKeyword]) -> Trigger | None:
        """A Trigger when this utterance opens a new episode, else None."""
        trig = self._trigger(start_ms, end_ms, anger, list(keywords))
        if trig is None:
            return None
        last = self._last_trigger_ms
        self._last_trigger_ms = end_ms if last is None else max(last, end_ms)
        if last is not None and abs(end_ms - last) < self.options.cooldown_ms:
            return None  # the same episode
        self.episodes += 1
        return trig

    def _trigger(self, start_ms: int, end_ms: int, anger: float,
                 keywords: list[VoiceKeyword]) -> Trigger | None:
        o = self.options
        if anger >= o.anger_threshold:
            bisect.insort(self._anger_ms, end_ms)
            while self._anger_ms and self._anger_ms[0] < end_ms - 10 * o.anger_window_ms:
                self._anger_ms.pop(0)
        words = {c: tuple(k.word for k in keywords if k.category == c)
                 for c in ("escalation", "profanity")}
        if words["escalation"]:
            return Trigger(start_ms, end_ms, "claim", "escalation words "
                           + ", ".join(f"«{w}»" for w in words["escalation"] + words["profanity"]),
                           words["escalation"] + words["profanity"], anger)
        if words["profanity"]:
            return Trigger(start_ms, end_ms, "service", "profanity "
                           + ", ".join(f"«{w}»" for w in words["profanity"]),
                           words["profanity"], anger)
        if anger >= o.anger_threshold:
            n = self._angry_around(end_ms)
            if n >= o.anger_utterances:
                return Trigger(start_ms, end_ms, "service",
                               f"sustained anger: {n} utterances with anger >= "
                               f"{o.anger_threshold:.2f} within {o.anger_window_ms // 1000} s",
                               (), anger)
        return None

    def _angry_around(self, t: int) -> int:
        """Most angry utterances in one window of ``anger_window_ms`` that includes ``t``."""
        w = self.options.anger_window_ms
        times = self._anger_ms
        best = 0
        for i in range(bisect.bisect_left(times, t - w), bisect.bisect_right(times, t)):
            best = max(best, bisect.bisect_right(times, times[i] + w) - i)
        return best


def escalation_report(location: str, mic: str, trigger: Trigger) -> VoiceEscalation:
    """What the sensor reports on the utterance that starts an episode (a deterministic
    episode id: a re-sent utterance repeats it, so the case it opens is one)."""
    return VoiceEscalation(episode=mic_event_id("vi", location, mic, trigger.start_ms),
                           category=trigger.category, reason=trigger.reason[:MAX_REASON],
                           words=[w[:256] for w in trigger.words],
                           anger=round(min(max(trigger.anger, 0.0), 1.0), 4))
