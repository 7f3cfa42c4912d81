"""Bridge ``cx.voice.{location}.{mic}`` (the voice worker's NATS output) into the hub's
``voice:{location}`` topics, so voice works whether the worker runs in this process or
elsewhere. In-process producers that do not publish to NATS call ``hub.publish`` directly.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from stream.clock import wall_ms
from stream.events import Rejection, validate_event
from stream.ids import is_id
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.server.voice")


def voice_event(subjects: Subjects, subject: str, data: bytes,
                now_ms: int | None = None) -> tuple[str, dict[str, Any]] | None:
    """(hub topic, utterance) of one NATS message, or None unless it is a contract voice
    event (``stream.events.VoiceEvent``) of the subject's location and mic, fresh enough.
    Only the contract's fields pass: whatever else a publisher adds never reaches a page."""
    parsed = subjects.parse(subject)
    if parsed is None or parsed[0] != "voice" or len(parsed[1]) != 2:
        return None
    location, mic = parsed[1]
    if not (is_id(location) and is_id(mic)):
        return None
    now = wall_ms() if now_ms is None else now_ms
    result = validate_event("voice", location, data, now, subject_mic=mic)
    if isinstance(result, Rejection):
        return None
    return f"voice:{location}", msgspec.to_builtins(result[0])


class VoiceBridge:
    """A plain NATS subscription on the voice wildcard feeding ``hub.publish``."""

    def __init__(self, nc: Any, subjects: Subjects, hub: Any) -> None:
        self.nc = nc
        self.subjects = subjects
        self.hub = hub
        self._sub: Any = None
        self.dropped = 0

    async def start(self) -> None:
        if self.nc is None:
            return
        self._sub = await self.nc.subscribe(self.subjects.voice_wildcard, cb=self._on_msg)

    async def stop(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # the connection may already be closed
                log.debug("voice bridge: unsubscribe failed", exc_info=True)
            self._sub = None

    async def _on_msg(self, msg: Any) -> None:
        found = voice_event(self.subjects, msg.subject, msg.data)
        if found is None:
            self.dropped += 1
            return
        self.hub.publish(*found)
