"""The ``comments.*`` source of alert rules: live comments counted per location.

The archive writer masks and tags each new feedback comment once and publishes it on core
NATS ``{prefix}.comment.{location}`` (``stream.comments.CommentNote``); this feed counts
them into an ``EventCounter`` at the time they arrive, so a rule such as

    metric = "comments.urgent", window = "30m", op = ">=", threshold = 1

fires on the first urgent comment of a location (threats, health or safety, legal action,
fraud) and resolves after a window without one. The alert service neither tags text nor
reads the archive: it depends on the subject alone, wherever the archive writer runs.

Metrics (``comments.<name>``): ``count`` (every comment), ``urgent``, ``detractors``
(comments that came with an unhappy answer, ``stream.comments.is_detractor``) and
``topics.<id>`` per topic. Only the names some rule reads are kept.

The subject is not stored: after a restart of the alert service the counts start from
zero (a firing alert then resolves after its ``resolve_for_s``; the comment itself stays
on the wall and in the archive).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from alerting.sources import EventCounter
from stream.clock import wall_ms
from stream.comments import CommentNote, CommentSubscription, is_detractor
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.alerts")


def comment_metrics(note: CommentNote) -> list[str]:
    """The ``comments.*`` metrics one comment counts towards."""
    names = ["count"]
    if note.urgent:
        names.append("urgent")
    if is_detractor(note.type, note.value, note.scale):
        names.append("detractors")
    names += [f"topics.{topic}" for topic in note.topics]
    return names


class CommentFeed:
    """The notes on ``{prefix}.comment.*`` (``stream.comments.CommentSubscription``), counted
    into ``counter`` for the metrics some rule reads (``needs``)."""

    def __init__(self, nc: Any, subjects: Subjects, needs: frozenset[str],
                 counter: EventCounter, clock: Callable[[], int] = wall_ms) -> None:
        self.needs = needs
        self.counter = counter
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.subscription = CommentSubscription(nc, subjects, self._count)

    async def start(self) -> None:
        if self.needs:
            await self.subscription.start()

    async def stop(self) -> None:
        await self.subscription.stop()

    def _count(self, note: CommentNote) -> None:
        now = self.clock()
        for name in comment_metrics(note):
            if name in self.needs:
                self.counter.record(name, note.location, now)
        self.counts["comments"] += 1
