"""NATS subject names of the wire contract, built and parsed in one place."""

from __future__ import annotations

from msgspec import Struct

from stream.ids import is_id

INPUT_KINDS = ("feedback", "flow", "incident")
MSG_ID_HEADER = "Nats-Msg-Id"


def msg_id(location: str, event_id: str) -> str:
    """The ``Nats-Msg-Id`` every publisher of the project sets on an event: ``{location}:{id}``
    (contract v2 "Ids"), so JetStream's duplicate window is per location like the core's
    index. v1 publishers that send the bare id still work, but within the window (``[nats]
    duplicate_window_s``) their event is dropped when another location's event with the same
    bare id came first; the core itself keys on (location, id) and counts both."""
    return f"{location}:{event_id}"


class Subjects(Struct, frozen=True):
    """All subjects under one prefix (config ``[nats] prefix``, default ``cx``)."""

    prefix: str = "cx"

    def input(self, kind: str, location: str) -> str:
        return f"{self.prefix}.{kind}.{location}"

    def feedback(self, location: str) -> str:
        return f"{self.prefix}.feedback.{location}"

    def flow(self, location: str) -> str:
        return f"{self.prefix}.flow.{location}"

    def incident(self, location: str) -> str:
        return f"{self.prefix}.incident.{location}"

    def audio(self, location: str, mic: str) -> str:
        return f"{self.prefix}.audio.{location}.{mic}"

    def voice(self, location: str, mic: str) -> str:
        return f"{self.prefix}.voice.{location}.{mic}"

    def encounter(self, location: str, mic: str) -> str:
        return f"{self.prefix}.encounter.{location}.{mic}"

    def mic(self, location: str, mic: str) -> str:
        """A microphone's heartbeat (``MicHeartbeat``, core NATS, not stored)."""
        return f"{self.prefix}.mic.{location}.{mic}"

    @property
    def mic_wildcard(self) -> str:
        return f"{self.prefix}.mic.*.*"

    @property
    def voice_filters(self) -> list[str]:
        """Subjects kept in the voice stream (utterances and encounters)."""
        return [f"{self.prefix}.voice.>", f"{self.prefix}.encounter.>"]

    def voice_of(self, subject: str) -> tuple[str, str, str] | None:
        """(kind, location, mic) of ``cx.voice.{location}.{mic}`` / ``cx.encounter...``."""
        parts = subject.split(".")
        if (len(parts) == 4 and parts[0] == self.prefix and parts[1] in ("voice", "encounter")
                and is_id(parts[2]) and is_id(parts[3])):
            return parts[1], parts[2], parts[3]
        return None

    def comment(self, location: str) -> str:
        """A newly archived feedback comment, masked and tagged (``stream.comments``;
        core NATS, not stored): published by the archive writer."""
        return f"{self.prefix}.comment.{location}"

    @property
    def comment_wildcard(self) -> str:
        return f"{self.prefix}.comment.*"

    @property
    def asr(self) -> str:
        """Speech-recognition requests (request/reply, served by the ``asr`` queue group)."""
        return f"{self.prefix}.asr.transcribe"

    @property
    def feedback_wildcard(self) -> str:
        return f"{self.prefix}.feedback.>"

    def alert(self, severity: str, rule: str) -> str:
        return f"{self.prefix}.alert.{severity}.{rule}"

    def dlq(self, source: str) -> str:
        return f"{self.prefix}.dlq.{source}"

    @property
    def input_filters(self) -> list[str]:
        """Subjects kept in the durable input stream."""
        return [f"{self.prefix}.{k}.>" for k in INPUT_KINDS]

    @property
    def audio_wildcard(self) -> str:
        return f"{self.prefix}.audio.*.*"

    @property
    def dlq_wildcard(self) -> str:
        return f"{self.prefix}.dlq.>"

    @property
    def alert_wildcard(self) -> str:
        return f"{self.prefix}.alert.>"

    @property
    def voice_wildcard(self) -> str:
        return f"{self.prefix}.voice.>"

    def partition_transform(self, partitions: int) -> tuple[str, str]:
        """Stream subject transform (src, dest) that files every input event under its
        location's partition (a NATS hash): ``cx.feedback.loc`` -> ``cx.part.7.feedback.loc``."""
        dest = (f"{self.prefix}.part.{{{{partition({partitions},2)}}}}"
                ".{{wildcard(1)}}.{{wildcard(2)}}")
        return f"{self.prefix}.*.*", dest

    def partition_filter(self, partition: int) -> str:
        return f"{self.prefix}.part.{partition}.>"

    def input_of(self, subject: str) -> tuple[str, str, str] | None:
        """(kind, location, subject as published) of a stored input subject, either
        partitioned (``cx.part.7.feedback.loc``) or as published; None if malformed."""
        parts = subject.split(".")
        if len(parts) == 5 and parts[1] == "part" and parts[0] == self.prefix:
            kind, location = parts[3], parts[4]
        elif len(parts) == 3 and parts[0] == self.prefix:
            kind, location = parts[1], parts[2]
        else:
            return None
        if not is_id(location):
            return None
        return kind, location, f"{self.prefix}.{kind}.{location}"

    @property
    def alert_control(self) -> str:
        """Acknowledgements and silences forwarded to the leading alert service (request/reply)."""
        return f"{self.prefix}.alerts.control"

    @property
    def query(self) -> str:
        """Scatter-gather reads of partitioned core workers."""
        return f"{self.prefix}.core.query"

    @property
    def changed(self) -> str:
        """Scopes whose metrics changed, published by every core worker."""
        return f"{self.prefix}.core.changed"

    def parse(self, subject: str) -> tuple[str, tuple[str, ...]] | None:
        """``cx.feedback.loc`` -> ("feedback", ("loc",)); None when not under the prefix."""
        head = self.prefix + "."
        if not subject.startswith(head):
            return None
        parts = subject[len(head):].split(".")
        return parts[0], tuple(parts[1:])
