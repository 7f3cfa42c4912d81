"""Which input opens a case (pure): ``[[cases.rules]]`` over feedback and voice events.

    rules = CaseRules(cfg.cases, Tagger(cfg.comments), lang="ru")
    decision = rules.feedback(event, ts_ms)   # None, or the case to open
    decision = rules.voice(event, ts_ms)

Every enabled rule that matches an event contributes: the case is one (its id follows
from the survey session, ``cases.ids``), its severity the highest of the matching rules',
and ``who`` names them (``auto:detractor+urgent-comment``). The text is the masked comment
(``text.mask``); the category the first ``[cases] categories`` entry whose topic the
comment has (the tagger's topics), else the rule's or ``default_category``. Button bursts
keep a sliding window of presses per device on event time; after a burst opens a case the
device's window starts afresh, so one burst is one case.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from cases import ids
from cases.config import CaseRule, CasesConfig
from stream.events import (
    SEVERITIES,
    ButtonEvent,
    CsatEvent,
    FeedbackEvent,
    IncidentLink,
    NpsEvent,
    VoiceEvent,
)
from text import ScaleKind, Tagger, mask

MAX_TEXT = 4000
_BURST_TEXT = {"ru": "{n} нажатий кнопки {b} за {m:g} мин, устройство {d}",
               "en": "{n} presses of button {b} within {m:g} min at device {d}"}
_VOICE_TEXT = {"ru": "Микрофон {mic}: {reason}; гнев {anger:.2f}.",
               "en": "Microphone {mic}: {reason}; anger {anger:.2f}."}


@dataclass(frozen=True, slots=True)
class Decision:
    """A case the rules open: where, which, when (event time) and what it says."""

    location: str
    incident: str
    ts_ms: int
    category: str
    severity: str
    rules: tuple[str, ...]
    text: str | None
    link: IncidentLink | None
    channel: str | None = None

    @property
    def who(self) -> str:
        return "auto:" + "+".join(self.rules)


def _worst(severities: list[str]) -> str:
    return max(severities, key=SEVERITIES.index)


class CaseRules:
    """The configured rules with the state bursts need (one instance per leader)."""

    def __init__(self, cfg: CasesConfig, tagger: Tagger, lang: str = "ru") -> None:
        self.cfg = cfg
        self.tagger = tagger
        self.lang = "en" if lang == "en" else "ru"
        self.rules = [r for r in cfg.rules if r.enabled]
        self._presses: dict[tuple[str, str, str], deque[tuple[int, str]]] = {}

    # -- feedback ------------------------------------------------------------------------

    def feedback(self, ev: FeedbackEvent, ts_ms: int) -> Decision | None:
        if isinstance(ev, ButtonEvent):
            return self._burst(ev, ts_ms)
        if not isinstance(ev, NpsEvent | CsatEvent) and not ev.comment:
            return None
        comment = mask(ev.comment) if ev.comment else None
        tags = None
        if comment:
            kind: ScaleKind = "csat" if isinstance(ev, CsatEvent) else "nps"
            value = ev.value if isinstance(ev, NpsEvent | CsatEvent) else None
            tags = self.tagger.tag(comment, rating=value, scale_kind=kind)
        matched = [r for r in self.rules
                   if self._matches(r, ev, comment is not None, bool(tags and tags.urgent))]
        if not matched:
            return None
        topics = tags.topics if tags is not None else ()
        category = next((c for t, c in self.cfg.categories.items() if t in topics), None)
        category = category or next((r.category for r in matched if r.category), None)
        rating = (f"{'nps' if isinstance(ev, NpsEvent) else 'csat'} {ev.value}"
                  if isinstance(ev, NpsEvent | CsatEvent) else None)
        link = IncidentLink(session=ev.session, feedback_id=ev.id, rating=rating)
        return Decision(
            location=ev.location, incident=ids.survey_case(ev.location, ev.session, ev.id),
            ts_ms=ts_ms, category=category or self.cfg.default_category,
            severity=_worst([r.severity for r in matched]), rules=tuple(r.id for r in matched),
            text=comment[:MAX_TEXT] if comment else None, link=link, channel=ev.channel)

    @staticmethod
    def _matches(rule: CaseRule, ev: FeedbackEvent, commented: bool, urgent: bool) -> bool:
        if rule.kind == "urgent":
            return urgent
        if rule.kind != "detractor" or (rule.comment_required and not commented):
            return False
        if isinstance(ev, NpsEvent):
            return ev.value <= rule.nps_max
        return isinstance(ev, CsatEvent) and ev.value <= rule.csat_max

    def _burst(self, ev: ButtonEvent, ts_ms: int) -> Decision | None:
        for rule in self.rules:
            if rule.kind != "button_burst" or ev.value != rule.button:
                continue
            device = ev.device or "-"
            window = self._presses.setdefault((rule.id, ev.location, device), deque())
            window.append((ts_ms, ev.id))
            span_ms = int(rule.window_min * 60_000)
            while window and window[0][0] < ts_ms - span_ms:
                window.popleft()
            if len(window) < rule.presses:
                continue
            first_id = window[0][1]
            window.clear()  # one burst, one case
            text = _BURST_TEXT[self.lang].format(n=rule.presses, b=rule.button,
                                                 m=rule.window_min, d=device)
            return Decision(
                location=ev.location, incident=ids.burst_case(ev.location, device, first_id),
                ts_ms=ts_ms, category=rule.category or "service", severity=rule.severity,
                rules=(rule.id,), text=text, link=IncidentLink(feedback_id=ev.id,
                                                               rating=f"button {ev.value}"),
                channel=ev.channel)
        return None

    # -- voice ---------------------------------------------------------------------------

    def voice(self, ev: VoiceEvent) -> Decision | None:
        """A case for an episode the incident sensor reported, if a ``voice`` rule agrees."""
        report = ev.escalation
        if report is None:
            return None
        has_words = any(k.category == "escalation" for k in ev.keywords)
        matched = [r for r in self.rules if r.kind == "voice" and report.anger >= r.min_anger
                   and (has_words or not r.words_required)]
        if not matched:
            return None
        text = _VOICE_TEXT[self.lang].format(mic=ev.mic, reason=report.reason, anger=report.anger)
        if ev.transcript:
            text += f" «{mask(ev.transcript)}»"
        category = next((r.category for r in matched if r.category), None) or report.category
        return Decision(
            location=ev.location, incident=ids.voice_case(ev.location, report.episode),
            ts_ms=ev.end, category=category, severity=_worst([r.severity for r in matched]),
            rules=tuple(r.id for r in matched), text=text[:MAX_TEXT], link=None, channel="voice")
