"""The websocket wire format (pure): topic names, client operations, control messages.

Client -> server (JSON text frames)::

    {"op": "subscribe", "topics": ["metrics:msk", "display:msk-arbat"], "windows": ["today"], "id": 1}
    {"op": "unsubscribe", "topics": ["metrics:msk"], "id": 2}
    {"op": "ping", "id": 3}

Server -> client: ``hello`` on connect; ``subscribed`` / ``unsubscribed`` / ``pong`` /
``error`` replies (echoing ``id``); per topic a ``snapshot`` then ``update`` frames (see
``fanout.TopicFrame``); a ``heartbeat`` every ``[server] ws_heartbeat_s``. docs/protocol.md
has the full description.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from stream.ids import ID_RE
from stream.windows import WINDOWS, Window

TopicKind = Literal["metrics", "display", "incidents", "voice", "alerts"]
TOPIC_KINDS: tuple[str, ...] = ("metrics", "display", "incidents", "voice", "alerts")
SCOPED_KINDS = frozenset({"metrics", "display", "incidents", "voice"})
# which kinds take a location (not a region or the network)
LOCATION_KINDS = frozenset({"display", "voice"})
_ID = ID_RE

CLOSE_UNAUTHORIZED = 4001
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_MANY = 1013
CLOSE_GOING_AWAY = 1001


class Topic(msgspec.Struct, frozen=True):
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
    if not _ID.match(arg):
        raise TopicError(f"topic {text!r} needs `{kind}:<id>` with an id of [a-z0-9_-]{{1,64}}")
    return Topic(kind, arg)


class ClientOp(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    op: Literal["subscribe", "unsubscribe", "ping"]
    topics: list[str] = []
    windows: list[Window] | None = None
    id: str | int | None = None


_OP_DECODER = msgspec.json.Decoder(ClientOp)
_ENC = msgspec.json.Encoder()
_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)|field `([A-Za-z_]+)`")


class OpError(ValueError):
    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def decode_op(text: str | bytes) -> ClientOp:
    """Parse one client message; raises OpError naming the offending field."""
    try:
        return _OP_DECODER.decode(text)
    except msgspec.ValidationError as exc:
        m = _FIELD.search(str(exc))
        raise OpError(str(exc), (m.group(1) or m.group(2)) if m else None) from None
    except msgspec.DecodeError as exc:
        raise OpError(f"message is not valid JSON: {exc}", None) from None


def windows_of(op: ClientOp) -> tuple[str, ...]:
    """Requested metric windows in canonical order (all four when not given)."""
    if not op.windows:
        return WINDOWS
    return tuple(w for w in WINDOWS if w in op.windows)


def control(kind: str, **fields: object) -> str:
    """A control message: ``{"type": kind, ...fields}`` (None values are left out)."""
    body = {"type": kind, **{k: v for k, v in fields.items() if v is not None}}
    return _ENC.encode(body).decode()


def error(code: str, message: str, *, op_id: str | int | None = None, topic: str | None = None,
          field: str | None = None) -> str:
    return control("error", code=code, message=message, id=op_id, topic=topic, field=field)
