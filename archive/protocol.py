"""Requests other instances forward to the archive writer (NATS request/reply, msgpack).

Only the instance holding the archive lease subscribes to ``{prefix}.archive.query``. A
reply carries the result, or an error with the HTTP status it maps to. An export answers
with a stream of messages to the request's reply inbox: data chunks in order, then one
empty message with header ``Cx-End`` or ``Cx-Error`` (the error message).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from archive.history import HistoryQuery
from archive.records import FeedbackQuery
from archive.retag import RetagRequest
from archive.topics import TopicsQuery


class HistoryRequest(msgspec.Struct, frozen=True, tag="history"):
    query: HistoryQuery
    now_ms: int


class FeedbackRequest(msgspec.Struct, frozen=True, tag="feedback"):
    query: FeedbackQuery
    now_ms: int


class EraseRequest(msgspec.Struct, frozen=True, tag="erase"):
    who: str
    location: str | None = None
    session: str | None = None
    id: str | None = None


class ExportRequest(msgspec.Struct, frozen=True, tag="export"):
    kind: str
    scope: str
    first: dt.date | None = None
    last: dt.date | None = None
    format: Literal["csv", "parquet"] = "csv"


class ImportRequest(msgspec.Struct, frozen=True, tag="import"):
    """Past events for the archive only: ``(kind, location, payload)`` each."""

    events: list[tuple[str, str, bytes]]
    now_ms: int


class StatusRequest(msgspec.Struct, frozen=True, tag="status"):
    pass


class TopicsRequest(msgspec.Struct, frozen=True, tag="topics"):
    query: TopicsQuery


Request = (HistoryRequest | FeedbackRequest | EraseRequest | ExportRequest | ImportRequest
           | StatusRequest | TopicsRequest | RetagRequest)


class Reply(msgspec.Struct, frozen=True, omit_defaults=True):
    result: bytes = b""  # msgpack of the result struct
    error: str = ""
    status: int = 200


class ImportReply(msgspec.Struct, frozen=True):
    stored: int
    duplicates: int
    rejected: dict[str, int] = {}


ENCODER = msgspec.msgpack.Encoder()
REQUESTS = msgspec.msgpack.Decoder(Request)
REPLIES = msgspec.msgpack.Decoder(Reply)
END_HEADER = "Cx-End"
ERROR_HEADER = "Cx-Error"
CHUNK_BYTES = 512 * 1024


def subject(prefix: str) -> str:
    return f"{prefix}.archive.query"
