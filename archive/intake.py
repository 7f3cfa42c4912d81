"""What the archive accepts from a stream message: the live core's rules, shared.

``Intake.decode`` runs the same gate as ``stream.core.Core._decode``: the subject parsed by
``stream.subjects`` (input feeds, voice utterances and encounters), the payload checked by
``stream.events.validate_event`` and the core's capacity rule (``MetricsEngine.admit``).
A message the core rejects is skipped here, not dead-lettered again (the core already did).
Event-time limits are taken against the time JetStream stored the message, the core's
clock at the time it processed it to within milliseconds, so a replay months later
decides the same way.
"""

from __future__ import annotations

from stream.config import StreamSettings
from stream.engine import MetricsEngine
from stream.events import CsiEvent, InputEvent, Limits, Rejection, validate_event
from stream.subjects import Subjects


class Intake:
    """Validation plus the core's capacity registry (locations, CSI questions)."""

    def __init__(self, cfg: StreamSettings, limits: Limits | None = None) -> None:
        self.cfg = cfg
        self.subjects = Subjects(cfg.nats.prefix)
        self.limits = limits or Limits(int(cfg.core.max_clock_skew_s * 1000),
                                       cfg.core.retention_days * 86_400_000)
        self._capacity = MetricsEngine(cfg)  # only its registries: admit() and places

    def seed(self, locations: list[str], csi_keys: list[tuple[str, str]]) -> None:
        """Register what the archive already holds (as the core's restored state does)."""
        for loc in locations:
            self._capacity.geo.place(loc)
        for factor, question in csi_keys:
            self._capacity._csi_column(factor, question)

    def decode(self, feed: str, subject: str, payload: bytes,
               stored_ms: int) -> tuple[InputEvent, int] | Rejection:
        """(event, ts_ms), or why the core refuses it."""
        if feed == "voice":
            voice = self.subjects.voice_of(subject)
            if voice is None:
                return Rejection("bad_subject", f"subject {subject!r} is not a voice subject")
            kind, location, mic = voice
            return validate_event(kind, location, payload, stored_ms, self.limits,
                                  subject_mic=mic)
        parsed = self.subjects.input_of(subject)
        if parsed is None:
            return Rejection("bad_subject", f"subject {subject!r} is not an input subject")
        kind, location, _ = parsed
        return self.admit(validate_event(kind, location, payload, stored_ms, self.limits))

    def admit(self, result: tuple[InputEvent, int] | Rejection,
              ) -> tuple[InputEvent, int] | Rejection:
        """The core's capacity check on a valid event, registering what it admits."""
        if isinstance(result, Rejection):
            return result
        event = result[0]
        refusal = self._capacity.admit(event)
        if refusal is not None:
            return refusal
        self._capacity.geo.place(event.location)
        if isinstance(event, CsiEvent):
            self._capacity._csi_column(event.factor, event.question)
        return result
