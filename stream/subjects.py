"""NATS subject names of the wire contract, built and parsed in one place."""

from __future__ import annotations

import re

from msgspec import Struct

INPUT_KINDS = ("feedback", "flow", "incident")
_ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def is_id(text: str) -> bool:
    """True for a contract id (``[a-z0-9_-]{1,64}``)."""
    return bool(_ID.match(text))


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

    def parse(self, subject: str) -> tuple[str, tuple[str, ...]] | None:
        """``cx.feedback.loc`` -> ("feedback", ("loc",)); None when not under the prefix."""
        head = self.prefix + "."
        if not subject.startswith(head):
            return None
        parts = subject[len(head):].split(".")
        return parts[0], tuple(parts[1:])
