"""The leading case service's work, sans lifecycle: turn stream messages into case steps.

``CaseWorker`` is fed the messages its durable consumers deliver (``on_input`` for
``CX_INPUT`` feedback, ``on_voice`` for ``CX_VOICE`` utterances and encounters) and asked
to ``escalate`` now and then; it returns the incident events to publish (the caller
publishes them, then acknowledges the messages). Everything it decides follows from the
events, so a redelivery decides the same steps with the same ids.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

import msgspec

from cases import ids
from cases.config import CasesSettings
from cases.escalation import escalation
from cases.linking import Heard, Pending, Waiting
from cases.rules import CaseRules, Decision
from stream.events import (
    EncounterEvent,
    FeedbackEvent,
    IncidentEvent,
    Limits,
    Rejection,
    VoiceEvent,
    validate_event,
)
from stream.readmodel import IncidentView
from stream.subjects import Subjects
from stream.workcal import WorkCalendar, location_calendar
from text import Tagger

log = logging.getLogger("cxpulse.cases")
_LINK_TEXT = {"ru": "услышано: микрофон {mic}", "en": "heard at microphone {mic}"}


class CaseWorker:
    def __init__(self, cfg: CasesSettings, clock: Callable[[], int],
                 tagger: Tagger | None = None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.lang = cfg.core.language
        self.rules = CaseRules(cfg.cases, tagger or Tagger(cfg.comments), self.lang)
        self.subjects = Subjects(cfg.nats.prefix)
        self.limits = Limits.from_config(cfg.core)
        c = cfg.cases
        self.before_ms = int(c.link_before_min * 60_000)
        self.after_ms = int(c.link_after_min * 60_000)
        self.heard = Heard(keep_ms=max(self.before_ms + self.after_ms, 60_000) + 600_000)
        self.pending = Pending()
        self.calendars: dict[str, WorkCalendar] = {}
        self.counts: Counter[str] = Counter()

    # -- input: feedback --------------------------------------------------------------------

    def on_input(self, subject: str, data: bytes) -> list[IncidentEvent]:
        parsed = self.subjects.input_of(subject)
        if parsed is None or parsed[0] != "feedback":
            return []
        now = self.clock()
        result = validate_event("feedback", parsed[1], data, now, self.limits)
        if isinstance(result, Rejection):
            return []  # the core dead-letters it
        event, ts_ms = result
        assert isinstance(event, FeedbackEvent)
        if ts_ms < now - int(self.cfg.cases.max_age_h * 3_600_000):
            self.counts["too_old"] += 1
            return []
        decision = self.rules.feedback(event, ts_ms)
        return [] if decision is None else [self._open(decision, now)]

    def _open(self, d: Decision, now_ms: int) -> IncidentEvent:
        link = d.link
        if link is not None:  # a rating: what was heard around it
            heard = self.heard.around(d.location, d.ts_ms, self.before_ms, self.after_ms)
            link = link if heard is None else msgspec.structs.replace(link, encounter=heard)
            if link.encounter is None or link.encounter.closed_by not in ("feedback", "visit"):
                self.pending.add(Waiting(d.location, d.incident, d.ts_ms, link,
                                         now_ms + int(self.cfg.cases.link_wait_s * 1000),
                                         link.encounter.id if link.encounter else None))
        self.counts["opened"] += 1
        return IncidentEvent(
            id=ids.step_id(d.incident, "open"), ts=d.ts_ms, location=d.location,
            incident=d.incident, action="open", category=d.category,  # type: ignore[arg-type]
            severity=d.severity, text=d.text, channel=d.channel,  # type: ignore[arg-type]
            source="auto", who=d.who, linked=link)

    # -- voice: utterances and encounters ---------------------------------------------------

    def on_voice(self, subject: str, data: bytes) -> list[IncidentEvent]:
        parsed = self.subjects.voice_of(subject)
        if parsed is None:
            return []
        kind, location, mic = parsed
        now = self.clock()
        result = validate_event(kind, location, data, now, self.limits, subject_mic=mic)
        if isinstance(result, Rejection):
            return []
        event = result[0]
        if isinstance(event, EncounterEvent):
            self.heard.add_encounter(event)
            self.pending.expire(now)
            return [self._link(w, event, now)
                    for w in self.pending.matched(self.heard, event, self.after_ms)]
        assert isinstance(event, VoiceEvent)
        self.heard.add_utterance(event)
        decision = self.rules.voice(event)
        return [] if decision is None else [self._open(decision, now)]

    def _link(self, waiting: Waiting, ev: EncounterEvent, now_ms: int) -> IncidentEvent:
        """The step that completes a case's link with the encounter its rating closed."""
        self.counts["linked"] += 1
        linked = msgspec.structs.replace(waiting.link, encounter=self.heard.link(ev))
        return IncidentEvent(
            id=ids.step_id(waiting.incident, "link"), ts=max(now_ms, waiting.rating_ms),
            location=waiting.location, incident=waiting.incident, action="comment",
            source="auto", who=self.cfg.cases.who, linked=linked,
            text=_LINK_TEXT["en" if self.lang == "en" else "ru"].format(mic=ev.mic))

    # -- escalation -------------------------------------------------------------------------

    def escalate(self, views: Iterable[IncidentView]) -> list[IncidentEvent]:
        """Escalation steps of every overdue case (of ``[cases] escalate_sources``)."""
        now = self.clock()
        out = []
        sources = self.cfg.cases.escalate_sources
        for v in views:
            if v.status == "resolved" or v.category == "thanks" or v.source not in sources:
                continue
            cal = self.calendars.get(v.location)
            if cal is None:
                cal = self.calendars[v.location] = location_calendar(self.cfg, v.location)
            step = escalation(v, cal, now, self.cfg.cases.who, self.lang)
            if step is not None:
                out.append(step)
        self.counts["escalated"] += len(out)
        return out


__all__ = ["CaseWorker", "Decision"]
