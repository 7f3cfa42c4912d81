"""The ``comments:{scope}`` topics: the latest comments of each followed scope, live.

Where they come from: the archive writer stores, masks and tags each comment once and then
publishes it on core NATS ``{prefix}.comment.{location}`` (``archive.live``);
``CommentBridge`` feeds those notes to the hub. A scope's list starts from the archive:
the first subscriber of ``comments:{scope}`` makes ``CommentRings`` read the latest
``COMMENTS_KEEP`` comments (``/api/feedback``'s query, through the archive service, which
forwards to the writer when another instance holds the file); until that answer is in,
the topic has no frame yet (the hub sends the snapshot when it arrives), and notes that
arrive meanwhile are merged in, each comment once by (location, id).

Lists are kept per scope once read (a location's, its region's and the network's list
each take a new comment), newest first by event time; memory is ``COMMENTS_KEEP`` items
per scope ever followed. Every text here is masked: the archive never held it raw.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

from archive.records import FeedbackQuery
from stream.comments import CommentNote, CommentSubscription
from stream.geography import Geo
from stream.push import COMMENTS_KEEP, CommentItem, CommentsData
from stream.readmodel import QueryError
from stream.subjects import Subjects
from stream.tasks import cancel_all

log = logging.getLogger("cxpulse.server.comments")
Loader = Callable[[str], Awaitable[list[CommentNote]]]
RETRY_S = 2.0


def _key(item: CommentNote) -> tuple[int, str, str]:
    return item.ts_ms, item.location, item.id


class CommentRings:
    """The latest comments per scope; ``on_ready(scope)`` is called when a scope's list
    was read from the archive (or a failed read should be tried again)."""

    def __init__(self, geo: Geo, on_ready: Callable[[str], None],
                 keep: int = COMMENTS_KEEP) -> None:
        self.geo = geo
        self.on_ready = on_ready
        self.keep = keep
        self.loader: Loader | None = None  # set when an archive runs
        self._rings: dict[str, list[CommentItem]] = {}
        self._loading: dict[str, list[CommentNote]] = {}  # notes arrived during the read
        self._seq = count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.loader is not None

    def data(self, scope: str) -> CommentsData:
        """The ``comments:{scope}`` payload; raises ``QueryError`` (no frame yet) while
        the scope's list is being read from the archive, starting that read."""
        ring = self._rings.get(scope)
        if ring is None:
            self._load(scope)
            raise QueryError(f"the comments of {scope!r} are being read from the archive")
        return CommentsData(scope, max((c.seq for c in ring), default=0), list(ring))

    def add(self, note: CommentNote) -> list[str]:
        """Take one live note; returns the scopes whose list changed."""
        changed = []
        for scope in self.geo.scopes_of(note.location):
            if scope in self._loading:
                self._loading[scope].append(note)
            elif scope in self._rings and self._insert(scope, [note]):
                changed.append(scope)
        return changed

    def _insert(self, scope: str, notes: list[CommentNote]) -> bool:
        ring = self._rings.setdefault(scope, [])
        have = {(c.location, c.id) for c in ring}
        fresh = [n for n in sorted(notes, key=_key) if (n.location, n.id) not in have]
        if not fresh:
            return False
        ring += [_item(n, next(self._seq)) for n in fresh]
        ring.sort(key=_key, reverse=True)
        kept = {(c.location, c.id) for c in ring[:self.keep]}
        del ring[self.keep:]
        return any((n.location, n.id) in kept for n in fresh)

    def _load(self, scope: str) -> None:
        if scope in self._loading or self.loader is None:
            return
        self._loading[scope] = []
        task = asyncio.get_running_loop().create_task(self._read(scope, self.loader))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, scope: str, loader: Loader) -> None:
        try:
            notes = await loader(scope)
        except Exception as exc:  # noqa: BLE001 - archive away: asked again shortly
            log.info("comments of %s not read from the archive (%s); retrying", scope, exc)
            self._loading.pop(scope, None)
            await asyncio.sleep(RETRY_S)
            self.on_ready(scope)
            return
        arrived = self._loading.pop(scope, [])
        self._rings[scope] = []
        self._insert(scope, [*notes, *arrived])
        self.on_ready(scope)

    async def close(self) -> None:
        await cancel_all(list(self._tasks))


def _item(note: CommentNote, seq: int) -> CommentItem:
    return CommentItem(**{f: getattr(note, f) for f in note.__struct_fields__}, seq=seq)


def note_of(item: Any) -> CommentNote:
    """A ``CommentNote`` of an ``archive.records.FeedbackItem`` (its ``ts`` is RFC 3339)."""
    ts_ms = int(dt.datetime.fromisoformat(item.ts).timestamp() * 1000)
    return CommentNote(
        id=item.id, ts_ms=ts_ms, location=item.location, type=item.type,
        comment=item.comment or "", value=item.value,
        scale=item.scale if item.type in ("button", "csi") else None, channel=item.channel,
        staff=item.staff, touchpoint=item.touchpoint, session=item.session, device=item.device,
        topics=list(item.topics or ()), sentiment=item.sentiment, urgent=bool(item.urgent))


def archive_loader(archive: Any) -> Loader:
    """Reads a scope's latest comments through an ``archive.service.ArchiveService``."""

    async def load(scope: str) -> list[CommentNote]:
        page = await archive.feedback(FeedbackQuery(scope=scope, has_comment=True,
                                                    limit=COMMENTS_KEEP))
        return [note_of(item) for item in page.items]

    return load


class CommentBridge:
    """The notes on ``{prefix}.comment.*`` (``stream.comments.CommentSubscription``) into
    ``hub.publish_comment``."""

    def __init__(self, nc: Any, subjects: Subjects, hub: Any) -> None:
        self.nc = nc
        self.hub = hub
        self.subscription = CommentSubscription(nc, subjects, hub.publish_comment)

    @property
    def dropped(self) -> int:
        return self.subscription.invalid

    async def start(self) -> None:
        if self.nc is not None and self.hub.comments.enabled:
            await self.subscription.start()

    async def stop(self) -> None:
        await self.subscription.stop()
