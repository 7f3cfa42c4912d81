"""The server's websocket frames as the wall reads them (pure decoding, docs/protocol.md).

Metrics and incidents reuse the core's read-model structs (the server encodes those);
alerts and voice are decoded leniently into the few fields the wall shows, so new fields
on the server never break the wall.
"""

from __future__ import annotations

from typing import Any

import msgspec

from stream.readmodel import IncidentView, Metrics


class Envelope(msgspec.Struct, frozen=True):
    """Any server message; topic frames carry ``topic``, ``seq``, ``ts_ms`` and ``data``."""

    type: str
    topic: str | None = None
    seq: int = 0
    ts_ms: int = 0
    data: msgspec.Raw = msgspec.Raw()
    code: str | None = None
    message: str | None = None
    role: str | None = None
    heartbeat_s: float | None = None


class MetricsData(msgspec.Struct, frozen=True):
    scope: str
    windows: dict[str, Metrics]


class IncidentsData(msgspec.Struct, frozen=True):
    scope: str
    open: int
    breached: int
    incidents: list[IncidentView]


class PlaybookText(msgspec.Struct, frozen=True):
    event: str = ""
    tasks: list[str] = []
    actions: list[str] = []


class Ack(msgspec.Struct, frozen=True):
    by: str
    at_ms: int
    comment: str = ""


class Alert(msgspec.Struct, frozen=True):
    id: str
    rule: str
    status: str
    severity: str
    scope: str = ""
    labels: dict[str, str] = {}
    metric: str = ""
    window: str = ""
    op: str = ""
    threshold: float | None = None
    value: float | None = None
    sample: int | None = None
    active_ms: int = 0
    starts_ms: int | None = None
    suppressed_by: list[str] = []
    acknowledged: Ack | None = None
    playbook: dict[str, PlaybookText | None] = {}


class AlertsData(msgspec.Struct, frozen=True):
    alerts: list[Alert]
    silences: list[Any] = []


class VoiceItem(msgspec.Struct, frozen=True):
    seq: int
    ts_ms: int
    event: dict[str, Any]


class VoiceData(msgspec.Struct, frozen=True):
    location: str
    last_seq: int = 0
    events: list[VoiceItem] = []


Payload = MetricsData | IncidentsData | AlertsData | VoiceData | None
_ENVELOPE = msgspec.json.Decoder(Envelope)
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "metrics": msgspec.json.Decoder(MetricsData),
    "incidents": msgspec.json.Decoder(IncidentsData),
    "alerts": msgspec.json.Decoder(AlertsData),
    "voice": msgspec.json.Decoder(VoiceData),
}


def envelope(text: str | bytes) -> Envelope:
    return _ENVELOPE.decode(text)


def payload(topic: str, data: msgspec.Raw) -> Payload:
    """The typed payload of a topic frame (None for a topic kind the wall does not read)."""
    decoder = _DECODERS.get(topic.partition(":")[0])
    return decoder.decode(data) if decoder is not None else None


def subscribe(topics: list[str], windows: list[str] | None = None, op_id: int | None = None) -> str:
    body: dict[str, Any] = {"op": "subscribe", "topics": topics}
    if windows:
        body["windows"] = windows
    if op_id is not None:
        body["id"] = op_id
    return msgspec.json.encode(body).decode()
