"""Event schemas of the wire contract (msgspec), shared by core, server and simulators.

``validate_event`` is the single gate every input passes: it decodes a payload, checks
ranges, the subject/location match and the event-time limits, and returns either the event
with its time in epoch milliseconds or a ``Rejection`` with a reason a person understands.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

import msgspec

from stream.config import CoreConfig
from stream.ids import NETWORK, Id

MAX_PAYLOAD_BYTES = 64 * 1024

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
LocationId = Id
Timestamp = Annotated[dt.datetime, msgspec.Meta(tz=True)] | int
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
Comment = Annotated[str, msgspec.Meta(max_length=2000)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=7 * 86400)]
Score = Annotated[float, msgspec.Meta(ge=0, le=1)]

FEEDBACK_TYPES = ("button", "nps", "csat", "ces", "csi", "visit")
FLOW_CHANNELS = ("phone", "site", "marketplace", "social", "email", "chat", "walk_in", "other")
INCIDENT_ACTIONS = ("open", "assign", "comment", "resolve", "reopen")
INCIDENT_CATEGORIES = (
    "claim", "consultation", "product_quality", "certificate", "service", "thanks", "other",
)
SEVERITIES = ("low", "normal", "high", "critical")


class _Feedback(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    id: EventId
    ts: Timestamp
    location: LocationId
    device: ShortText | None = None
    staff: ShortText | None = None
    touchpoint: ShortText | None = None
    session: ShortText | None = None
    channel: Literal["terminal", "qr", "web", "sms"] | None = None
    comment: Comment | None = None


class ButtonEvent(_Feedback, frozen=True, tag="button"):
    """Loyalty-button press; 1 is the worst button."""

    value: Annotated[int, msgspec.Meta(ge=1, le=5)]
    scale: Annotated[int, msgspec.Meta(ge=2, le=5)]

    def __post_init__(self) -> None:
        if self.value > self.scale:
            raise ValueError(f"`value` {self.value} is above `scale` {self.scale}")


class NpsEvent(_Feedback, frozen=True, tag="nps"):
    value: Annotated[int, msgspec.Meta(ge=0, le=10)]


class CsatEvent(_Feedback, frozen=True, tag="csat"):
    value: Annotated[int, msgspec.Meta(ge=1, le=5)]


class CesEvent(_Feedback, frozen=True, tag="ces"):
    value: Annotated[int, msgspec.Meta(ge=1, le=7)]


class CsiEvent(_Feedback, frozen=True, tag="csi"):
    """A factor (Likert) answer, normalised later to (value - 1) / (scale - 1)."""

    factor: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: Annotated[int, msgspec.Meta(ge=1, le=10)]
    scale: Annotated[int, msgspec.Meta(ge=2, le=10)] = 5

    def __post_init__(self) -> None:
        if self.value > self.scale:
            raise ValueError(f"`value` {self.value} is above `scale` {self.scale}")


class VisitEvent(_Feedback, frozen=True, tag="visit"):
    """One served visitor: the denominator of response rate."""


FeedbackEvent = ButtonEvent | NpsEvent | CsatEvent | CesEvent | CsiEvent | VisitEvent


class FlowEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One incoming contact on a channel."""

    id: EventId
    ts: Timestamp
    location: LocationId
    channel: Literal["phone", "site", "marketplace", "social", "email", "chat", "walk_in", "other"]
    answered: bool | None = None
    wait_s: Seconds | None = None
    handle_s: Seconds | None = None
    hold_s: Seconds | None = None
    first_contact_resolved: bool | None = None
    queue: ShortText | None = None


INCIDENT_SOURCES = ("desk", "api", "auto")


class LinkedEncounter(msgspec.Struct, frozen=True, kw_only=True):
    """What the electronic mystery shopper heard at the location around a rating: the
    service encounter at one microphone (``cx.encounter``) and its utterances (``cx.voice``),
    transcript and escalation words masked."""

    id: EventId
    mic: LocationId
    start: int  # epoch ms
    end: int
    greeting: bool
    thanks: bool
    farewell: bool
    anger_max: Score = 0.0
    closed_by: ShortText | None = None
    escalation_words: list[ShortText] = []
    transcript: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class IncidentLink(msgspec.Struct, frozen=True, kw_only=True):
    """What a case opened from a rating (or a voice escalation) points at."""

    session: ShortText | None = None
    feedback_id: EventId | None = None
    rating: ShortText | None = None  # e.g. "nps 3", "csat 1", "button 1/3"
    encounter: LinkedEncounter | None = None


IncidentAction = Literal["open", "assign", "comment", "resolve", "reopen"]
IncidentCategory = Literal["claim", "consultation", "product_quality", "certificate", "service",
                           "thanks", "other"]


class IncidentEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One step in an incident's life: open, assign, comment, resolve, reopen.

    Optional (contract v2, cases): ``source`` (``desk`` when absent, ``api``, ``auto``),
    ``who`` (the acting token's name, or the rule), ``linked`` (the rating and encounter a
    case was opened from) and ``escalation`` (the n-th overdue escalation: its ``severity``
    is the stepped-up one). A ``severity`` on any step sets the incident's severity."""

    id: EventId
    ts: Timestamp
    location: LocationId
    incident: EventId
    action: IncidentAction
    category: IncidentCategory | None = None
    channel: ShortText | None = None
    department: ShortText | None = None
    severity: Literal["low", "normal", "high", "critical"] | None = None
    text: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    assignee: ShortText | None = None
    source: Literal["desk", "api", "auto"] | None = None
    who: ShortText | None = None
    linked: IncidentLink | None = None
    escalation: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None

    def __post_init__(self) -> None:
        if self.action == "open" and self.category is None:
            raise ValueError("`category` is required when `action` is 'open'")


VOICE_CATEGORIES = ("greeting", "thanks", "farewell", "escalation", "profanity")
VoiceCategory = Literal["greeting", "thanks", "farewell", "escalation", "profanity"]


class VoiceKeyword(msgspec.Struct, frozen=True):
    category: VoiceCategory
    word: Annotated[str, msgspec.Meta(max_length=256)]
    t: int  # epoch ms


class VoiceEmotion(msgspec.Struct, frozen=True):
    arousal: Score
    anger: Score


class VoiceEscalation(msgspec.Struct, frozen=True, kw_only=True):
    """The contactless incident sensor's report on an utterance that starts an episode
    (escalation words, profanity or sustained anger at a microphone). The sensor only
    reports; the case rules (``[[cases.rules]]`` kind ``voice``) decide whether it opens
    a case."""

    episode: EventId  # one id per episode per microphone (re-sends repeat it)
    category: Literal["claim", "service"]
    reason: Annotated[str, msgspec.Meta(max_length=512)]
    words: list[ShortText] = []
    anger: Score = 0.0


class VoiceEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One finished utterance on ``cx.voice.{location}.{mic}`` (published by the voice worker,
    kept in the CX_VOICE stream for ``[voice] transcript_retention_days``)."""

    id: EventId
    ts: Timestamp
    location: LocationId
    mic: LocationId
    start: int  # epoch ms
    end: int
    emotion: VoiceEmotion
    loudness_db: float
    keywords: list[VoiceKeyword] = []
    transcript: Annotated[str, msgspec.Meta(max_length=8000)] | None = None
    language: str | None = None
    asr: str | None = None  # "ok", or why speech recognition was skipped
    escalation: VoiceEscalation | None = None  # the contactless incident sensor's report


class EncounterEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A service encounter at a microphone, bounded by a visit/feedback event or by silence:
    which parts of the service standard were said, and the rating that closed it, if any."""

    id: EventId
    ts: Timestamp
    location: LocationId
    mic: LocationId
    start: int
    end: int
    utterances: Annotated[int, msgspec.Meta(ge=0)]
    greeting: bool
    thanks: bool
    farewell: bool
    anger_max: Score = 0.0
    closed_by: Literal["silence", "visit", "feedback", "shutdown"] = "silence"
    rating: Score | None = None  # the closing rating normalised to [0, 1]



class MicHeartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """A microphone's audio is arriving: sent by the voice worker on ``cx.mic.{location}.{mic}``
    (core NATS, not stored) at most every few seconds per mic; the alert service's device
    source counts a mic silent from its last heartbeat, so a quiet room is not an outage."""

    location: LocationId
    mic: LocationId
    ts: int  # epoch ms of the latest audio

InputEvent = FeedbackEvent | FlowEvent | IncidentEvent | VoiceEvent | EncounterEvent

_DECODERS: dict[str, msgspec.json.Decoder] = {
    "feedback": msgspec.json.Decoder(FeedbackEvent),
    "flow": msgspec.json.Decoder(FlowEvent),
    "incident": msgspec.json.Decoder(IncidentEvent),
    "voice": msgspec.json.Decoder(VoiceEvent),
    "encounter": msgspec.json.Decoder(EncounterEvent),
}
_ENCODER = msgspec.json.Encoder()


class Rejection(msgspec.Struct, frozen=True):
    """Why an input was refused: a stable ``code`` for counting and a sentence for people."""

    code: str
    reason: str


class Limits(msgspec.Struct, frozen=True):
    """Event-time acceptance window, relative to the core's clock."""

    max_clock_skew_ms: int = 300_000
    retention_ms: int = 35 * 86_400_000

    @classmethod
    def from_config(cls, core: CoreConfig) -> Limits:
        """The window of ``[core] max_clock_skew_s`` and ``retention_days`` (the core, the
        server and the voice worker validate with the same one)."""
        return cls(int(core.max_clock_skew_s * 1000), core.retention_days * 86_400_000)


DEFAULT_LIMITS = Limits()


def ts_to_ms(ts: dt.datetime | int) -> int:
    """Contract timestamp (aware datetime or epoch ms) -> epoch milliseconds."""
    if isinstance(ts, int):
        return ts
    return int(ts.timestamp() * 1000)


def encode(event: InputEvent) -> bytes:
    """Serialise an event exactly as the contract's JSON."""
    return _ENCODER.encode(event)


_AT = re.compile(r" - at `\$\.?(.*)`$")


def _explain(exc: msgspec.MsgspecError) -> Rejection:
    text = str(exc)
    m = _AT.search(text)
    field = m.group(1) if m else ""
    msg = text[: m.start()] if m else text
    if not isinstance(exc, msgspec.ValidationError):
        return Rejection("not_json", f"payload is not valid JSON: {msg}")
    if field == "type" and msg.startswith("Invalid value"):
        return Rejection("unknown_type", f"unknown `type` {msg.removeprefix('Invalid value ')}; "
                         f"expected one of {', '.join(FEEDBACK_TYPES)}")
    if "missing required field `type`" in msg:
        return Rejection("unknown_type", "feedback has no `type` field")
    if msg.startswith("Expected `object`"):
        return Rejection("not_object", "payload must be a JSON object")
    if any(op in msg for op in ("<=", ">=", " < ", " > ", "length", "above `scale`",
                                "match pattern")):
        where = f"field `{field}`: " if field else ""
        return Rejection("out_of_range", f"{where}{msg}")
    if "missing required field" in msg:
        return Rejection("missing_field", msg)
    if "is required when" in msg or "timezone" in msg:
        return Rejection("invalid_field", msg if not field else f"field `{field}`: {msg}")
    where = f"field `{field}`: " if field else ""
    return Rejection("invalid_field", f"{where}{msg}")


def validate_event(
    kind: str, subject_location: str, payload: bytes, now_ms: int, limits: Limits | None = None,
    subject_mic: str | None = None,
) -> tuple[InputEvent, int] | Rejection:
    """Decode and check one input event; returns (event, ts_ms) or a Rejection."""
    limits = limits or DEFAULT_LIMITS
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection("too_large", f"payload of {len(payload)} bytes exceeds the 64 KiB limit")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return Rejection("bad_subject", f"no input feed named {kind!r}")
    try:
        event = decoder.decode(payload)
    except msgspec.MsgspecError as exc:
        return _explain(exc)
    if event.location == NETWORK:
        return Rejection("bad_subject", f"{NETWORK!r} is the network-wide scope, not a "
                         "location: an event there would rewrite the network's roll-up")
    if event.location != subject_location:
        return Rejection(
            "location_mismatch",
            f"`location` {event.location!r} does not match the subject's {subject_location!r}",
        )
    if subject_mic is not None and getattr(event, "mic", None) != subject_mic:
        return Rejection("location_mismatch", f"`mic` {getattr(event, 'mic', None)!r} does not "
                         f"match the subject's {subject_mic!r}")
    ts_ms = ts_to_ms(event.ts)
    if ts_ms > now_ms + limits.max_clock_skew_ms:
        ahead_s = (ts_ms - now_ms) / 1000
        return Rejection("future_ts", f"`ts` is {ahead_s:.0f} s in the future (clock skew limit "
                         f"{limits.max_clock_skew_ms // 1000} s)")
    if ts_ms < now_ms - limits.retention_ms:
        age_d = (now_ms - ts_ms) / 86_400_000
        return Rejection("too_old_ts", f"`ts` is {age_d:.1f} days old, beyond the retention of "
                         f"{limits.retention_ms // 86_400_000} days")
    return event, ts_ms
