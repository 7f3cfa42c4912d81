"""Live comments: each feedback comment the writer has just stored, published once.

The archive writer already masks and tags every comment exactly once (``archive.comments``),
in its own consumer, off the core's hot path. After a batch commits, ``CommentPublisher``
sends each *new* commented feedback row as a ``stream.comments.CommentNote`` on core NATS
``{prefix}.comment.{location}`` (not stored): the server's ``comments:{scope}`` topics and
the alert service's ``comments.*`` rules read it. Duplicates never reach here (the store
drops them before the write), so a comment goes out at most once; a crash between the
commit and the publish loses the live note, not the comment (the archive has it, and a
new ``comments:`` snapshot reads the archive).

Comments whose event time is older than ``LIVE_MAX_AGE_MS`` (a writer catching up after a
long stop, a back-fill through the live stream) are stored but not announced as live.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from stream.comments import CommentNote, encode_note
from stream.subjects import Subjects

log = logging.getLogger("cxpulse.archive")
LIVE_MAX_AGE_MS = 24 * 3_600_000


def notes_of(rows: Iterable[Sequence[Any]], now_ms: int,
             max_age_ms: int = LIVE_MAX_AGE_MS) -> list[CommentNote]:
    """Notes of stored feedback rows (``archive.rows.FEEDBACK_STAGED`` order) that carry a
    comment and are at most ``max_age_ms`` old."""
    out = []
    for row in rows:
        (loc, eid, ts, _day, _first, comment, _lemmas, topics, sentiment, urgent, _src, kind,
         value, scale, _factor, _question, device, staff, touchpoint, session, channel) = row
        if comment is None or ts < now_ms - max_age_ms:
            continue
        out.append(CommentNote(
            id=eid, ts_ms=ts, location=loc, type=kind, comment=comment, value=value,
            scale=scale if kind in ("button", "csi") else None, channel=channel,
            staff=staff, touchpoint=touchpoint, session=session, device=device,
            topics=list(topics or ()),
            sentiment=None if sentiment is None else round(float(sentiment), 3),
            urgent=bool(urgent)))
    return out


class CommentPublisher:
    """Publishes notes on core NATS (``nc``: a connected ``nats.aio.client.Client``)."""

    def __init__(self, nc: Any, subjects: Subjects) -> None:
        self.nc = nc
        self.subjects = subjects
        self.published = 0
        self.failed = 0

    async def publish(self, rows: Sequence[Sequence[Any]], now_ms: int) -> None:
        """Announce the new comments of one committed batch; a failure is logged and
        counted, never raised (the batch is stored and must still be acknowledged)."""
        for note in notes_of(rows, now_ms):
            try:
                await self.nc.publish(self.subjects.comment(note.location), encode_note(note))
                self.published += 1
            except Exception as exc:  # noqa: BLE001 - NATS away: the archive has the comment
                self.failed += 1
                log.debug("archive: live comment %s not published: %s", note.id, exc)
