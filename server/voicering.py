"""The recent utterances of each ``voice:{location}`` topic, the one topic kind that is
published to rather than computed from the core.

Each location keeps its latest ``VOICE_KEEP`` utterances, so a new subscriber's snapshot
shows the recent history; one sequence number runs across all locations, so a client can
tell which utterances it has already shown. Time comes from the injected wall clock.
"""

from __future__ import annotations

from collections import deque
from itertools import count
from typing import Any

from stream.clock import Clock, wall_ms
from stream.push import VOICE_KEEP, VoiceData, VoiceItem


class VoiceRing:
    """Per-location ring buffers of utterances, stamped with a sequence number and time."""

    def __init__(self, keep: int = VOICE_KEEP, wall: Clock = wall_ms) -> None:
        self.keep = keep
        self.wall = wall
        self._rings: dict[str, deque[VoiceItem]] = {}
        self._seq = count(1)

    def append(self, location: str, event: dict[str, Any]) -> int:
        """Keep one utterance of ``location``; returns its sequence number."""
        seq = next(self._seq)
        ring = self._rings.get(location)
        if ring is None:
            ring = self._rings[location] = deque(maxlen=self.keep)
        ring.append(VoiceItem(seq, self.wall(), event))
        return seq

    def data(self, location: str) -> VoiceData:
        """The ``voice:{location}`` payload: kept utterances, oldest first."""
        ring = self._rings.get(location, ())
        return VoiceData(location, ring[-1].seq if ring else 0, list(ring))
