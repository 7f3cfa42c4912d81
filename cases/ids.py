"""Ids of cases and of their steps: derived, never random, for what the rules open.

A case opened from a survey is ``c-`` + a hash of (location, session) -- or of the answer's
own id when it came without a session -- so every answer of one session, a re-sent answer
and a redelivery after a restart all name the same case, and the ids of its steps
(``{case}-open``, ``{case}-link``, ``{case}-esc{n}``) are the same too: JetStream's
duplicate window (``Nats-Msg-Id`` = ``{location}:{id}``) and the core's id index drop the
second copy. Cases opened through the API get a random id (``a-`` + 16 hex digits).
"""

from __future__ import annotations

import hashlib
import uuid


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def survey_case(location: str, session: str | None, feedback_id: str) -> str:
    """The case of a survey session (or of one answer without a session)."""
    return "c-" + _digest(location, "session", session) if session else \
        "c-" + _digest(location, "answer", feedback_id)


def burst_case(location: str, device: str, first_press_id: str) -> str:
    """The case of a burst of presses at one device, named by the burst's first press."""
    return "c-" + _digest(location, "burst", device, first_press_id)


def voice_case(location: str, episode: str) -> str:
    """The case of one voice episode the contactless incident sensor reported."""
    return "c-" + _digest(location, "voice", episode)


def api_case() -> str:
    return "a-" + uuid.uuid4().hex[:16]


def step_id(case: str, what: str) -> str:
    """``{case}-open``, ``{case}-link``, ``{case}-esc2`` ..."""
    return f"{case}-{what}"


def api_step_id() -> str:
    return "s-" + uuid.uuid4().hex


def msg_id(location: str, event_id: str) -> str:
    """``Nats-Msg-Id`` of contract v2: per location."""
    return f"{location}:{event_id}"
