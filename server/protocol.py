"""The server's side of the websocket contract (``stream.push``): client ops decoded with
an error that names the offending field, and server messages encoded to text.

Client -> server (JSON text frames)::

    {"op": "subscribe", "topics": ["metrics:msk", "display:msk-a"], "windows": ["today"], "id": 1}
    {"op": "unsubscribe", "topics": ["metrics:msk"], "id": 2}
    {"op": "ping", "id": 3}

Server -> client: ``hello`` on connect; ``subscribed`` / ``unsubscribed`` / ``pong`` /
``error`` replies (echoing ``id``); per topic a ``snapshot`` then ``update`` frames (see
``fanout.TopicFrame``); a ``heartbeat`` every ``[server] ws_heartbeat_s``. docs/protocol.md
has the full description.
"""

from __future__ import annotations

import re

import msgspec

from stream.push import ClientOp, Error, ErrorCode

_OP_DECODER = msgspec.json.Decoder(ClientOp)
_FIELD = re.compile(r"at `\$\.([A-Za-z_]+)|field `([A-Za-z_]+)`")
_ENC = msgspec.json.Encoder()


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


def error(code: ErrorCode, message: str, *, op_id: str | int | None = None,
          topic: str | None = None, field: str | None = None) -> str:
    """An ``error`` message as JSON text."""
    return _ENC.encode(Error(code=code, message=message, id=op_id, topic=topic,
                             field=field)).decode()
