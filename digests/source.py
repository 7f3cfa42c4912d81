"""What a digest reads of the archive, all through ``ArchiveService`` (any instance: the
writer answers, or the query is forwarded to it).

- metric values: ``ArchiveService.history`` — the very query behind ``/api/history``, so
  every number of a digest is the history's number for the same scope and period;
- low ratings with their (masked) comments and topics: ``ArchiveService.feedback``, the
  query behind ``/api/feedback``;
- the period's records: ``ArchiveService.export`` (``/api/export``), written to files in
  a working folder; they become the CSV attachment and are ranked locally
  (``digests.records``: longest waits, topics, cases).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from archive.history import HistoryQuery, HistoryResult
from archive.periods import By
from archive.records import FeedbackItem, FeedbackPage, FeedbackQuery

# Low ratings: NPS detractors, CSAT 1-2, CES 1-3 (of 7), the worst button.
LOW_RATINGS: tuple[tuple[str, int], ...] = (("nps", 6), ("csat", 2), ("ces", 3), ("button", 1))


class Archive(Protocol):
    """The part of ``archive.service.ArchiveService`` a digest uses."""

    async def history(self, query: HistoryQuery) -> HistoryResult: ...

    async def feedback(self, query: FeedbackQuery) -> FeedbackPage: ...

    def export(self, kind: str, scope: str, first: dt.date | None, last: dt.date | None,
               fmt: Literal["csv", "parquet"] = "csv") -> AsyncIterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    value: float | None
    n: int


class Source:
    """One digest's reads, with the history results cached per (metric, by, span)."""

    def __init__(self, archive: Archive, scope: str, workdir: Path) -> None:
        self.archive = archive
        self.scope = scope
        self.workdir = workdir
        self._cache: dict[tuple[str, str, str, dt.date, dt.date], list[Point]] = {}
        self.queries = 0

    async def series(self, metric: str, by: By, first: dt.date, last: dt.date,
                     scope: str | None = None) -> list[Point]:
        """The history points of ``metric`` from ``first`` to ``last`` (one per period)."""
        key = (scope or self.scope, metric, by, first, last)
        found = self._cache.get(key)
        if found is None:
            result = await self.archive.history(HistoryQuery(scope=key[0], metric=metric, by=by,
                                                             first=first, last=last))
            self.queries += 1
            found = [Point(p.period, p.value, p.n) for p in result.points]
            self._cache[key] = found
        return found

    async def many(self, metrics: list[str], by: By, first: dt.date,
                   last: dt.date) -> dict[str, dict[str, Point]]:
        """Several metrics over one span: ``{metric: {label: point}}``."""
        out = await asyncio.gather(*(self.series(m, by, first, last) for m in metrics))
        return {m: {p.label: p for p in pts} for m, pts in zip(metrics, out, strict=True)}

    async def low_ratings(self, first: dt.date, last: dt.date,
                          limit: int) -> list[FeedbackItem]:
        """The period's low ratings that came with a comment, newest first."""
        items: list[FeedbackItem] = []
        for kind, worst in LOW_RATINGS:
            page = await self.archive.feedback(FeedbackQuery(
                scope=self.scope, first=first, last=last, type=kind, max_value=worst,
                has_comment=True, limit=limit))
            items += page.items
        items.sort(key=lambda i: (i.ts, i.location, i.id), reverse=True)
        return items[:limit]

    async def export(self, kind: str, first: dt.date, last: dt.date) -> Path:
        """The records of ``kind`` for local dates ``first..last`` as a CSV file."""
        path = self.workdir / f"{kind}.csv"
        stream = self.archive.export(kind, self.scope, first, last, "csv")
        with path.open("wb") as fh:
            async for chunk in stream:
                await asyncio.to_thread(fh.write, chunk)
        return path
