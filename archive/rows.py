"""Validated events -> archive rows (pure apart from the session memory it is handed).

``RowBuilder.add`` files one event under its table with the location's local ``day`` (the
live engine's ``Place.day_of``), the engine's integer arithmetic for ``units`` and
durations in deciseconds, and free text masked (``archive.comments``). ``Sessions`` is the
engine's survey-session rule (``MetricsEngine._session``): a session counts once, on its
earliest answer; an earlier answer arriving later moves the count to it (the row that
held it is listed in ``RowBuilder.unfirst`` for the store to update).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from archive.comments import TextHooks
from stream.events import (
    ButtonEvent,
    CesEvent,
    CsatEvent,
    CsiEvent,
    EncounterEvent,
    FlowEvent,
    IncidentEvent,
    InputEvent,
    NpsEvent,
    VisitEvent,
    VoiceEvent,
)
from stream.geography import ScopeIndex
from stream.layout import UNIT
from stream.windows import DAY_MS

FEEDBACK_COLS = ("location", "id", "ts", "day", "type", "value", "scale", "units", "factor",
                 "question", "device", "staff", "touchpoint", "session", "channel",
                 "sess_first", "comment", "lemmas", "topics", "sentiment", "urgent", "source")
# Feedback rows are staged as plain columns, the event's fields read from the validated
# struct (``getattr``: a field its type lacks is NULL); DuckDB derives ``units`` and the
# enum in one vectorised pass (``FEEDBACK_INSERT``). The raw comment is never staged: only
# the masked one. The first eleven columns are what ``archive.live`` and the session
# bookkeeping index.
FEEDBACK_STAGED = ("location", "id", "ts", "day", "sess_first", "comment", "lemmas", "topics",
                   "sentiment", "urgent", "source", "type", "value", "scale", "factor",
                   "question", "device", "staff", "touchpoint", "session", "channel")
FEEDBACK_FIELDS = ("value", "scale", "factor", "question", "device", "staff", "touchpoint",
                   "session", "channel")  # read from the event, in FEEDBACK_STAGED order
FEEDBACK_INSERT = f"""
INSERT INTO feedback ({", ".join(FEEDBACK_COLS)})
SELECT location, id, ts, day, type, value, scale,
       CASE WHEN type IN ('button', 'csi')
            THEN CAST((value - 1) * {UNIT} // (scale - 1) AS SMALLINT) END,
       factor, question, device, staff, touchpoint, session, channel, sess_first, comment,
       lemmas, topics, sentiment, urgent, source
FROM (SELECT location, id, ts, day, sess_first, comment, lemmas, topics, sentiment, urgent, source,
             CAST(type AS feedback_type) AS type, CAST(value AS SMALLINT) AS value,
             CAST(scale AS SMALLINT) AS scale, factor, question, device, staff, touchpoint,
             session, channel
      FROM staged)
"""
FLOW_COLS = ("location", "id", "ts", "day", "channel", "answered", "wait_s", "handle_s",
             "hold_s", "wait_ds", "handle_ds", "hold_ds", "first_contact_resolved", "queue",
             "source")
INCIDENT_COLS = ("location", "id", "ts", "day", "incident", "action", "category", "channel",
                 "department", "severity", "text", "assignee", "source", "case_source", "who",
                 "escalation")
VOICE_COLS = ("location", "id", "ts", "day", "mic", "start_ms", "end_ms", "arousal", "anger",
              "loudness_db", "keywords", "transcript", "language", "asr")
ENCOUNTER_COLS = ("location", "id", "ts", "day", "mic", "start_ms", "end_ms", "utterances",
                  "greeting", "thanks", "farewell", "anger_max", "closed_by", "rating")
ALERT_COLS = ("seq", "ts", "alert_id", "rule", "severity", "status", "scope", "location",
              "value", "payload")
TABLES: dict[str, tuple[str, ...]] = {
    "feedback": FEEDBACK_COLS, "flow": FLOW_COLS, "incident_steps": INCIDENT_COLS,
    "voice_utterances": VOICE_COLS, "encounters": ENCOUNTER_COLS, "alert_changes": ALERT_COLS,
}
EVENT_TABLES = ("feedback", "flow", "incident_steps", "voice_utterances", "encounters")
SURVEY = (NpsEvent, CsatEvent, CesEvent, CsiEvent)
_KEYWORDS = msgspec.json.Encoder()


def feedback_type(event: Any) -> str:
    """The contract's ``type`` of a feedback event (the msgspec tag of its struct)."""
    return str(type(event).__struct_config__.tag)


KEY_SQL = "hash(location || chr(31) || id)"  # the dedup key of a row: its (location, id)


def deciseconds(value: float | None) -> int | None:
    """The engine's duration unit (``round(value * 10)``, Python rounding)."""
    return None if value is None else round(value * 10)


SESSION_KEY_SQL = "hash(location || chr(31) || session)"


class Sessions:
    """Time of the first answer per (location, session) key (``SESSION_KEY_SQL``)."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}

    def admit(self, key: int, ts_ms: int) -> tuple[bool, int | None]:
        """(is this answer the session's first, the time of the answer that stops being
        first, or None)."""
        held = self.first.get(key)
        if held is None:
            self.first[key] = ts_ms
            return True, None
        if ts_ms < held:
            self.first[key] = ts_ms
            return True, held
        return False, None

    def expire(self, horizon_ms: int) -> None:
        """Forget sessions first seen before ``horizon_ms`` (the core keeps the same span)."""
        self.first = {k: v for k, v in self.first.items() if v >= horizon_ms}


class LocalDays:
    """Local calendar day of (location, time), memoised per time zone as the spans of its
    local days that meet each UTC day (two or three): a lookup is a dict hit and a compare,
    a miss asks the engine (``Place.day_of``, the one definition of a location's day)."""

    MAX_ENTRIES = 1_000_000

    def __init__(self, geo: ScopeIndex) -> None:
        self.geo = geo
        self._zones: dict[str, str] = {}  # location -> its time zone's key
        self._spans: dict[tuple[str, int], list[tuple[int, int, dt.date]]] = {}

    def __call__(self, location: str, ts_ms: int) -> dt.date:
        zone = self._zones.get(location)
        if zone is None:
            zone = self._zones[location] = self.geo.place(location).tz.key
        key = (zone, ts_ms // DAY_MS)
        spans = self._spans.get(key)
        if spans is None:
            if len(self._spans) >= self.MAX_ENTRIES:
                self._spans.clear()
            spans = self._spans[key] = []
        for start, end, day in spans:
            if start <= ts_ms < end:
                return day
        place = self.geo.place(location)
        day = dt.date.fromordinal(place.day_of(ts_ms))
        spans.append((place.calendar.day_start_ms(day),
                      place.calendar.day_start_ms(day + dt.timedelta(days=1)), day))
        return day


class RowBuilder:
    """Collects the rows of one write, per table, as column lists."""

    def __init__(self, geo: ScopeIndex, hooks: TextHooks, sessions: Sessions,
                 source: str = "live", days: LocalDays | None = None) -> None:
        self.geo = geo
        self.days = days or LocalDays(geo)
        self.hooks = hooks
        self.sessions = sessions
        self.source = source
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self._session_key: int | None = None
        self.unfirst: list[tuple[int, str, str]] = []  # (ts, location, session): not first
        self.touched: set[tuple[str, dt.date]] = set()  # (location, day) of feedback/flow
        self._first_at: dict[int, int] = {}  # session key -> index of its first row here
        self._adders: dict[type, Callable[[Any, tuple[Any, ...]], None]] = {
            FlowEvent: self._flow, IncidentEvent: self._incident, VoiceEvent: self._voice,
            EncounterEvent: self._encounter,
        }

    @staticmethod
    def table_of(event: InputEvent) -> str:
        """The table an event's row goes to."""
        return {FlowEvent: "flow", IncidentEvent: "incident_steps", VoiceEvent: "voice_utterances",
                EncounterEvent: "encounters"}.get(type(event), "feedback")

    def add(self, event: InputEvent, ts_ms: int, session_key: int | None = None) -> None:
        """File one event; ``session_key``: its (location, session) key, for a survey
        answer with a session."""
        self._session_key = session_key
        head = (event.location, event.id, ts_ms, self.days(event.location, ts_ms))
        self._adders.get(type(event), self._feedback)(event, head)

    def _text(self, text: str | None, rating: float | None = None, kind: str = "unit",
              scale: int | None = None) -> tuple[str | None, str | None, list[str] | None,
                                                 float | None, bool | None]:
        if not text:
            return None, None, None, None, None
        row = self.hooks.process(text, rating, kind, scale)
        return row.masked, row.lemmas or None, row.topics, row.sentiment, row.urgent

    def _feedback(self, ev: Any, head: tuple[Any, ...]) -> None:
        first = self._first(ev, head[2]) if isinstance(ev, SURVEY) else False
        comment: tuple[Any, ...] = (None, None, None, None, None)
        if ev.comment:
            value = None if isinstance(ev, VisitEvent) else ev.value
            scale = ev.scale if isinstance(ev, ButtonEvent | CsiEvent) else None
            kind = feedback_type(ev) if value is not None else "unit"
            comment = self._text(ev.comment, value, kind, scale)
        self.rows["feedback"].append((*head, first, *comment, self.source, feedback_type(ev),
                                      *[getattr(ev, f, None) for f in FEEDBACK_FIELDS]))
        self.touched.add((head[0], head[3]))

    def _first(self, ev: Any, ts_ms: int) -> bool:
        key = self._session_key
        if not ev.session or key is None:
            return True
        first, dropped = self.sessions.admit(key, ts_ms)
        if dropped is not None:
            idx = self._first_at.pop(key, None)
            if idx is None:
                self.unfirst.append((dropped, ev.location, ev.session))
            else:  # the dropped first answer is in this same write
                row = self.rows["feedback"][idx]
                self.rows["feedback"][idx] = (*row[:4], False, *row[5:])
        if first:
            self._first_at[key] = len(self.rows["feedback"])
        return first

    def _flow(self, ev: FlowEvent, head: tuple[Any, ...]) -> None:
        self.rows["flow"].append((
            *head, ev.channel, ev.answered, ev.wait_s, ev.handle_s, ev.hold_s,
            deciseconds(ev.wait_s), deciseconds(ev.handle_s), deciseconds(ev.hold_s),
            ev.first_contact_resolved, ev.queue, self.source))
        self.touched.add((head[0], head[3]))

    def _incident(self, ev: IncidentEvent, head: tuple[Any, ...]) -> None:
        text = self.hooks.mask(ev.text) if ev.text else None
        self.rows["incident_steps"].append((
            *head, ev.incident, ev.action, ev.category, ev.channel, ev.department, ev.severity,
            text, ev.assignee, self.source, ev.source, ev.who, ev.escalation))

    def _voice(self, ev: VoiceEvent, head: tuple[Any, ...]) -> None:
        transcript = self.hooks.mask(ev.transcript) if ev.transcript else None
        self.rows["voice_utterances"].append((
            *head, ev.mic, ev.start, ev.end, ev.emotion.arousal, ev.emotion.anger,
            ev.loudness_db, _KEYWORDS.encode(ev.keywords).decode(), transcript, ev.language,
            ev.asr))

    def _encounter(self, ev: EncounterEvent, head: tuple[Any, ...]) -> None:
        self.rows["encounters"].append((
            *head, ev.mic, ev.start, ev.end, ev.utterances, ev.greeting, ev.thanks,
            ev.farewell, ev.anger_max, ev.closed_by, ev.rating))

    def add_alert(self, seq: int, ts_ms: int, view: dict[str, Any], payload: str) -> None:
        labels = view.get("labels") or {}
        value = view.get("value")
        self.rows["alert_changes"].append((
            seq, ts_ms, view.get("id"), view.get("rule"), view.get("severity"),
            view.get("status"), view.get("scope"), labels.get("location"),
            float(value) if isinstance(value, int | float) else None, payload))

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())
