"""A tagged comment as it goes live: the payload of ``cx.comment.{location}``.

The archive writer (the comments service: it masks and tags each new comment once, off
the core's hot path) publishes one ``CommentNote`` per newly stored feedback comment on
core NATS (not stored by JetStream); the server turns them into the ``comments:{scope}``
websocket topics and the alert service counts them for ``comments.*`` rules. The text is
always the masked one: nothing unmasked ever leaves the archive.

Defined here, in the foundation, so the producer and every consumer decode one struct.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from stream.subjects import Subjects
from stream.tasks import within

FEEDBACK_TYPES = ("button", "nps", "csat", "ces", "csi", "visit")


class CommentNote(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One feedback comment, masked and tagged (``ts_ms``: the event's time, epoch ms;
    ``type``/``value``/``scale``: the answer it came with; ``topics``, ``sentiment`` in
    [-1, 1] and ``urgent`` from the ``[comments]`` tagger)."""

    id: str
    ts_ms: int
    location: str
    type: str
    comment: str
    value: int | None = None
    scale: int | None = None
    channel: str | None = None
    staff: str | None = None
    touchpoint: str | None = None
    session: str | None = None
    device: str | None = None
    topics: list[str] = []
    sentiment: float | None = None
    urgent: bool = False


_DECODER = msgspec.json.Decoder(CommentNote)
_ENCODER = msgspec.json.Encoder()


def encode_note(note: CommentNote) -> bytes:
    return _ENCODER.encode(note)


def decode_note(data: bytes) -> CommentNote | None:
    """The note of one message, or None when it is not one (counted and skipped by
    consumers: a core NATS subject has no dead-letter queue of its own)."""
    try:
        note = _DECODER.decode(data)
    except msgspec.DecodeError:
        return None
    return note if note.type in FEEDBACK_TYPES else None


class CommentSubscription:
    """A plain NATS subscription on ``{prefix}.comment.*`` handing each valid note to
    ``on_note``; a message that is not a note, or names another location than its subject,
    is counted in ``invalid`` and skipped."""

    def __init__(self, nc: Any, subjects: Subjects, on_note: Callable[[CommentNote], None]) -> None:
        self.nc, self.subjects, self.on_note = nc, subjects, on_note
        self.invalid = 0
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.subjects.comment_wildcard, cb=self._on_msg)

    async def stop(self) -> None:
        if self._sub is not None:
            # the connection may already be closed, or be reconnecting
            await within(self._sub.unsubscribe(), 5, "unsubscribing from comments")
            self._sub = None

    async def _on_msg(self, msg: Any) -> None:
        note = decode_note(msg.data)
        if note is None or msg.subject != self.subjects.comment(note.location):
            self.invalid += 1
            return
        self.on_note(note)


def is_detractor(type_: str, value: int | None, scale: int | None) -> bool:
    """Did the answer that came with a comment say the customer was unhappy? NPS 0-6,
    CSAT 1-2, CES 1-3, a loyalty button or factor answer in the lower half of its scale."""
    if value is None:
        return False
    if type_ == "nps":
        return value <= 6
    if type_ == "csat":
        return value <= 2
    if type_ == "ces":
        return value <= 3
    if type_ in ("button", "csi"):
        top = scale or (3 if type_ == "button" else 5)
        return top > 1 and (value - 1) / (top - 1) < 0.5
    return False
