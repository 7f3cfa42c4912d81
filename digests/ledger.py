"""What happened to each slot, kept in NATS KV so it survives restarts and takeovers.

A slot's record goes ``sending`` (written, by compare-and-set, *before* the mail is
built and handed to SMTP) -> ``sent`` (after SMTP accepted it), or -> ``retrying`` (the
attempt failed; ``next_ms`` says when to try again) -> ... -> ``failed`` (retries spent).
``decide`` is the rule (pure): what the leader does with a due slot as it finds it.

- no record, due within the catch-up window: send it (late, with a note, when it is more
  than ``LATE_AFTER_MS`` past due: the service was down or was not leading);
- ``sending``, marked more than ``STALE_SENDING_MS`` ago and not being sent by this
  process: an attempt was interrupted (a crash between "marked" and "sent"): send it again,
  with a note. (The lease is renewed by its own task while a digest is built and sent, so
  a live leader's mark never gets that old; building a digest takes seconds.)
- ``retrying`` whose ``next_ms`` has come: try again;
- ``sent`` or ``failed``: nothing.

The one window in which a mail can go out twice is between SMTP's final "250 OK" and the
write of ``sent`` (milliseconds); the repeat carries the same ``Message-ID``, which mail
systems use to drop duplicates. No window loses a slot: every state but ``sent`` and
``failed`` is picked up again.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyValueError
from nats.js.kv import KeyValue

State = Literal["sending", "sent", "retrying", "failed"]
Action = Literal["send", "resume", "retry", "skip"]
LATE_AFTER_MS = 5 * 60_000
STALE_SENDING_MS = 10 * 60_000  # a "sending" mark this old belongs to a dead attempt


class SlotRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    state: State
    owner: str
    due_ms: int
    marked_ms: int
    attempts: int = 0  # failed attempts so far
    next_ms: int | None = None  # retrying: not before
    sent_ms: int | None = None
    error: str = ""
    note: str = ""  # why it went out late, if it did


def decide(record: SlotRecord | None, *, due_ms: int, now_ms: int, catch_up_ms: int,
           in_flight: bool) -> Action:
    """What to do with a due slot (``due_ms <= now_ms``) as found in the ledger."""
    if in_flight:
        return "skip"
    if record is None:
        return "send" if now_ms - due_ms <= catch_up_ms else "skip"
    if record.state == "sending":
        return "resume" if now_ms - record.marked_ms >= STALE_SENDING_MS else "skip"
    if record.state == "retrying":
        return "retry" if record.next_ms is None or record.next_ms <= now_ms else "skip"
    return "skip"


def backoff_ms(attempts: int, base_s: float, max_s: float) -> int:
    """Wait before attempt ``attempts + 1`` (doubling from ``base_s``, at most ``max_s``)."""
    return int(min(base_s * 2 ** max(attempts - 1, 0), max_s) * 1000)


class Ledger:
    """Slot records in a KV bucket, each written by compare-and-set on its revision."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, key: str) -> tuple[SlotRecord | None, int]:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        try:
            return msgspec.json.decode(entry.value or b"", type=SlotRecord), entry.revision or 0
        except msgspec.DecodeError:
            return None, entry.revision or 0

    async def put(self, key: str, record: SlotRecord, revision: int) -> int | None:
        """Write if nobody wrote since ``revision`` (0: if the key is new); the new
        revision, or None when another instance got there first."""
        value = msgspec.json.encode(record)
        try:
            if revision == 0:
                return int(await self.kv.create(key, value))
            return int(await self.kv.update(key, value, last=revision))
        except KeyValueError:
            return None

    async def get_raw(self, key: str) -> tuple[bytes | None, int]:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        return entry.value, entry.revision or 0

    async def put_raw(self, key: str, value: bytes, revision: int) -> None:
        try:
            if revision == 0:
                await self.kv.create(key, value)
            else:
                await self.kv.update(key, value, last=revision)
        except KeyValueError:
            await self.kv.put(key, value)  # another writer raced us: last word wins

    async def delete(self, key: str) -> None:
        with contextlib.suppress(KeyNotFoundError, KeyDeletedError):
            await self.kv.delete(key)
