"""The websocket push contract (``WS /ws``, docs/protocol.md), in one place.

The server encodes these structs and every client (the dashboards' wall, tests, benches)
decodes the same ones, so the two sides cannot drift: topic names, client operations,
the server's control messages, close codes and the payload of each topic kind.

- Client -> server: ``ClientOp`` (``subscribe`` / ``unsubscribe`` / ``ping``).
- Server -> client: ``Hello`` on connect; ``Subscribed`` / ``Unsubscribed`` / ``Pong`` /
  ``Error`` replies; ``Heartbeat``; per topic a ``snapshot`` then ``update`` frames of
  ``{"type", "topic", "seq", "ts_ms", "data"}`` whose ``data`` is the topic's payload
  (``MetricsData``, ``DisplayData``, ``IncidentsData``, ``AlertsData``, ``VoiceData``,
  ``CommentsData``).
- A reader takes any server message as an ``Envelope`` (lenient: a field or message type
  added later does not break it), then the typed ``payload`` of a topic frame.

Every payload field is part of wire contract v1: extend, never break.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from stream.comments import CommentNote
from stream.ids import ID_RE
from stream.readmodel import IncidentView, Metrics
from stream.windows import WINDOWS, Window

PROTOCOL = 1
VOICE_KEEP = 50  # utterances a ``voice:`` payload holds (the snapshot a new subscriber gets)
MAX_INCIDENTS = 200  # incidents an ``incidents:`` payload holds, most urgent first
COMMENTS_KEEP = 50  # comments a ``comments:`` payload holds, newest first

CLOSE_UNAUTHORIZED = 4001  # missing or unknown token (after an ``error`` message)
CLOSE_TOO_SLOW = 4008  # no send progress for ``[server] ws_stuck_timeout_s``
CLOSE_TOO_MANY = 1013  # ``[server] ws_max_connections`` / ``_per_token`` / ``_per_address``
CLOSE_RATE_LIMITED = 4029  # too many operations (``[server] ws_client_ops_per_s``), or too
#                            many wrong tokens from this address (after a ``rate_limited`` error)
CLOSE_GOING_AWAY = 1001  # server shutting down

TopicKind = Literal["metrics", "display", "incidents", "voice", "alerts", "comments"]
TOPIC_KINDS: tuple[TopicKind, ...] = ("metrics", "display", "incidents", "voice", "alerts",
                                      "comments")
LOCATION_KINDS = frozenset({"display", "voice"})  # kinds whose argument is a location
COMPUTED_KINDS = frozenset({"metrics", "display", "incidents"})  # recomputed from the core
PUBLISHED_KINDS = frozenset({"voice", "comments"})  # sent when an event arrives, not computed


# -- topics ------------------------------------------------------------------------------


class Topic(msgspec.Struct, frozen=True):
    """A topic name parsed: ``metrics:msk`` is ``Topic("metrics", "msk")``."""

    kind: str
    arg: str | None = None

    @property
    def name(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


class TopicError(ValueError):
    """A topic name that is not part of the protocol."""


def parse_topic(text: str) -> Topic:
    """``"metrics:msk"`` -> Topic("metrics", "msk"); raises TopicError naming the problem."""
    kind, sep, arg = text.partition(":")
    if kind not in TOPIC_KINDS:
        raise TopicError(f"unknown topic kind {kind!r}; expected one of {', '.join(TOPIC_KINDS)}")
    if kind == "alerts":
        if sep:
            raise TopicError("topic `alerts` takes no argument")
        return Topic("alerts")
    if not ID_RE.match(arg):
        raise TopicError(f"topic {text!r} needs `{kind}:<id>` with an id of [a-z0-9_-]{{1,64}}")
    return Topic(kind, arg)


# -- client -> server --------------------------------------------------------------------


class ClientOp(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One client message. ``windows`` limits the ``metrics:`` topics of a subscribe (all
    four when absent); ``id`` is echoed in the reply."""

    op: Literal["subscribe", "unsubscribe", "ping"]
    topics: list[str] = []
    windows: list[Window] | None = None
    id: str | int | None = None


def windows_of(op: ClientOp) -> tuple[str, ...]:
    """Requested metric windows in canonical order (all four when not given)."""
    if not op.windows:
        return WINDOWS
    return tuple(w for w in WINDOWS if w in op.windows)


def subscribe(topics: list[str], windows: list[Window] | None = None,
              op_id: str | int | None = None) -> str:
    """A ``subscribe`` message as JSON text."""
    return encode(ClientOp("subscribe", topics, windows or None, op_id))


# -- server -> client: control messages --------------------------------------------------


class _Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type"):
    """A server message other than a topic frame; ``None`` fields are left out."""


class Hello(_Message, frozen=True, kw_only=True, tag="hello"):
    server: str
    protocol: int
    client: int
    role: str
    heartbeat_s: float
    max_updates_per_s: float


class Subscribed(_Message, frozen=True, kw_only=True, tag="subscribed"):
    """The topics accepted (each refused one got its own ``Error`` first)."""

    id: str | int | None = None
    topics: list[str]


class Unsubscribed(_Message, frozen=True, kw_only=True, tag="unsubscribed"):
    id: str | int | None = None
    topics: list[str]


class Pong(_Message, frozen=True, kw_only=True, tag="pong"):
    id: str | int | None = None
    ts_ms: int


class Heartbeat(_Message, frozen=True, kw_only=True, tag="heartbeat"):
    ts_ms: int


ErrorCode = Literal["bad_request", "bad_topic", "unauthorized", "forbidden", "not_found",
                    "too_many_topics", "rate_limited"]


class Error(_Message, frozen=True, kw_only=True, tag="error"):
    """A refused operation or topic; ``field`` names the offending field of the op."""

    code: ErrorCode
    message: str
    id: str | int | None = None
    topic: str | None = None
    field: str | None = None


ServerMessage = Hello | Subscribed | Unsubscribed | Pong | Heartbeat | Error
FrameKind = Literal["snapshot", "update"]
_ENC = msgspec.json.Encoder()


def encode(message: ServerMessage | ClientOp) -> str:
    """A control message or client op as JSON text."""
    return _ENC.encode(message).decode()


# -- payloads of the topics --------------------------------------------------------------


class MetricsData(msgspec.Struct, frozen=True):
    """Payload of ``metrics:{scope}``: the contract's metrics per requested window."""

    scope: str
    windows: dict[str, Metrics]


class DisplayData(msgspec.Struct, frozen=True):
    """Payload of ``display:{location}`` and ``/api/display/{location}``: today's loyalty
    buttons only. ``shares`` is per button, worst first; empty before the first rating."""

    location: str
    name: str
    day_start_ms: int
    ratings: int
    buttons: int
    shares: list[float]
    counts: list[int]
    index: float | None


class IncidentsData(msgspec.Struct, frozen=True):
    """Payload of ``incidents:{scope}``: unresolved incidents, most urgent first."""

    scope: str
    open: int
    breached: int
    incidents: list[IncidentView]


class PlaybookText(msgspec.Struct, frozen=True):
    """One language of an alert's playbook: Event -> Tasks -> Actions."""

    event: str = ""
    tasks: list[str] = []
    actions: list[str] = []


class Ack(msgspec.Struct, frozen=True):
    by: str
    at_ms: int
    comment: str = ""


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """A live alert as the ``alerts`` topic (and ``/api/alerts``) carries it: the alert
    service's view, field for field. ``playbook`` is keyed by language (``ru``, ``en``)."""

    id: str
    fingerprint: str = ""
    rule: str
    status: str
    severity: str
    scope: str = ""
    labels: dict[str, str] = {}
    metric: str = ""
    window: str = ""
    op: str = ""
    threshold: float | None = None
    recovery: float | None = None
    value: float | None = None
    sample: int | None = None
    min_sample: int = 0
    active_ms: int = 0
    starts_ms: int | None = None
    ends_ms: int | None = None
    updated_ms: int = 0
    end_reason: str = ""
    suppressed_by: list[str] = []
    acknowledged: Ack | None = None
    playbook: dict[str, PlaybookText | None] = {}


class Silence(msgspec.Struct, frozen=True, kw_only=True):
    """An active or pending silence (sent to admins only: matchers can name any scope)."""

    id: str
    matchers: list[str] = []
    starts_ms: int = 0
    ends_ms: int = 0
    created_by: str = ""
    created_ms: int = 0
    comment: str = ""
    state: str = ""
    removed_by: str = ""


class AlertsData(msgspec.Struct, frozen=True):
    """Payload of ``alerts``: the live alerts the viewer may see, most severe first, and
    the active silences (admins only)."""

    alerts: list[Alert]
    silences: list[Silence] = []


class VoiceItem(msgspec.Struct, frozen=True):
    """One utterance of a ``voice:`` topic with the hub's sequence number, so a client can
    tell which it has already shown; ``event`` is the voice worker's JSON plus its ``mic``."""

    seq: int
    ts_ms: int
    event: dict[str, Any]


class VoiceData(msgspec.Struct, frozen=True):
    """Payload of ``voice:{location}``: the latest ``VOICE_KEEP`` utterances, oldest first."""

    location: str
    last_seq: int = 0
    events: list[VoiceItem] = []


class CommentItem(CommentNote, frozen=True, kw_only=True, omit_defaults=False):
    """One comment of a ``comments:`` topic: the ``cx.comment.{location}`` note (masked
    text, topics, sentiment, urgent, the answer it came with) and the hub's sequence
    number, so a client can tell which it has already shown."""

    seq: int = 0


class CommentsData(msgspec.Struct, frozen=True):
    """Payload of ``comments:{scope}``: the latest ``COMMENTS_KEEP`` comments of the scope
    by event time, newest first; ``last_seq`` is the highest ``seq`` among them. The
    snapshot comes from the archive; each update is the same list with the new comment
    in it (items with a ``seq`` above the last one a client saw are new to it)."""

    scope: str
    last_seq: int = 0
    comments: list[CommentItem] = []


Payload = (MetricsData | DisplayData | IncidentsData | AlertsData | VoiceData | CommentsData
           | None)
PAYLOAD_TYPES: dict[str, type[Any]] = {
    "metrics": MetricsData, "display": DisplayData, "incidents": IncidentsData,
    "alerts": AlertsData, "voice": VoiceData, "comments": CommentsData,
}


# -- reading server messages -------------------------------------------------------------


class Envelope(msgspec.Struct, frozen=True):
    """Any server message read leniently: topic frames carry ``topic``, ``seq``, ``ts_ms``
    and ``data`` (decoded with ``payload``); the rest are the control messages above."""

    type: str
    id: str | int | None = None
    topic: str | None = None
    topics: list[str] = []
    seq: int = 0
    ts_ms: int = 0
    data: msgspec.Raw = msgspec.Raw()
    code: str | None = None
    message: str | None = None
    role: str | None = None
    heartbeat_s: float | None = None


_ENVELOPE = msgspec.json.Decoder(Envelope)
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(cls) for kind, cls in PAYLOAD_TYPES.items()}


def envelope(text: str | bytes) -> Envelope:
    return _ENVELOPE.decode(text)


def payload(topic: str, data: msgspec.Raw | bytes) -> Payload:
    """The typed payload of a topic frame (None for a topic kind this contract lacks)."""
    decoder = _DECODERS.get(topic.partition(":")[0])
    return decoder.decode(data) if decoder is not None else None
