"""Ring tables of event-time buckets: numpy counters with numba kernels to write and sum.

A ``RingTable`` holds int32 counters ``data[entity, row, column]`` for a ring of ``rows``
consecutive buckets (minutes, hours or days). ``tags[entity, row]`` remembers which bucket a
row holds, so a late event lands in its own bucket while it is still inside the ring, and a
row is cleared when the ring wraps onto a newer bucket. Memory is fixed by the ring length,
whatever the event rate: that is what keeps the state bounded as the network grows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from stream.state import ArrayBlob, TableBlob

EMPTY_TAG = np.int64(-(2**62))
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@njit(cache=True)
def _add(data: I32, tags: I64, ent: I64, bucket: I64, col: I64,
         amount: I64) -> None:  # pragma: no cover - compiled
    rows = tags.shape[1]
    for i in range(ent.shape[0]):
        e = ent[i]
        b = bucket[i]
        r = b % rows
        t = tags[e, r]
        if t != b:
            if t > b or amount[i] < 0:
                continue  # older than the ring holds (or undoing a count already rolled off)
            data[e, r, :] = 0
            tags[e, r] = b
        data[e, r, col[i]] += amount[i]


@njit(cache=True)
def _sum(data: I32, tags: I64, ents: I64, firsts: I64, lasts: I64,
         out: I64) -> None:  # pragma: no cover - compiled
    """out[k] += data[e, r, k] for each entity ``ents[j]`` over its buckets
    ``firsts[j]..lasts[j]`` (inclusive)."""
    rows = tags.shape[1]
    ncols = data.shape[2]
    for j in range(ents.shape[0]):
        e = ents[j]
        last = lasts[j]
        first = max(firsts[j], last - rows + 1)
        for b in range(first, last + 1):
            r = b % rows
            if tags[e, r] == b:
                for k in range(ncols):
                    out[k] += data[e, r, k]


@njit(cache=True)
def _sum_per_bucket(data: I32, tags: I64, ents: I64, first: np.int64, last: np.int64,
                    col: np.int64, out: I64) -> None:  # pragma: no cover - compiled
    """out[b - first] += data[e, r, col] for each bucket b in first..last."""
    rows = tags.shape[1]
    for j in range(ents.shape[0]):
        e = ents[j]
        for b in range(max(first, last - rows + 1), last + 1):
            r = b % rows
            if tags[e, r] == b:
                out[b - first] += data[e, r, col]


class RingTable:
    """Counters for a growable set of entities over a ring of ``rows`` buckets."""

    def __init__(self, rows: int, columns: int, capacity: int = 8) -> None:
        self.rows = rows
        self.data = np.zeros((capacity, rows, columns), dtype=np.int32)
        self.tags = np.full((capacity, rows), EMPTY_TAG, dtype=np.int64)

    @property
    def columns(self) -> int:
        return int(self.data.shape[2])

    @property
    def capacity(self) -> int:
        return int(self.data.shape[0])

    def ensure(self, entities: int, columns: int) -> None:
        """Grow (by doubling) to hold ``entities`` entities and ``columns`` columns."""
        cap, cols = self.capacity, self.columns
        if entities <= cap and columns <= cols:
            return
        new_cap = max(cap, 8)
        while new_cap < entities:
            new_cap *= 2
        new_cols = max(cols, columns)
        data = np.zeros((new_cap, self.rows, new_cols), dtype=np.int32)
        data[:cap, :, :cols] = self.data
        tags = np.full((new_cap, self.rows), EMPTY_TAG, dtype=np.int64)
        tags[:cap] = self.tags
        self.data, self.tags = data, tags

    def add(
        self,
        ent: npt.NDArray[np.int64],
        bucket: npt.NDArray[np.int64],
        col: npt.NDArray[np.int64],
        amount: npt.NDArray[np.int64],
    ) -> None:
        """Add ``amount`` to (entity, bucket, column) for every item; vectorised in numba."""
        if ent.shape[0]:
            _add(self.data, self.tags, ent, bucket, col, amount)

    def sum(
        self,
        ents: npt.NDArray[np.int64],
        firsts: npt.NDArray[np.int64],
        lasts: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Column totals over entities ``ents``, each over its own buckets
        ``firsts[j]..lasts[j]`` (inclusive): one call sums a region's "today" across zones."""
        out = np.zeros(self.columns, dtype=np.int64)
        if ents.shape[0]:
            _sum(self.data, self.tags, ents, firsts, lasts, out)
        return out

    def per_bucket(
        self, ents: npt.NDArray[np.int64], first: int, last: int, col: int
    ) -> npt.NDArray[np.int64]:
        """One column's total per bucket over ``first..last``."""
        out = np.zeros(max(last - first + 1, 0), dtype=np.int64)
        if ents.shape[0] and last >= first:
            _sum_per_bucket(self.data, self.tags, ents, np.int64(first), np.int64(last),
                            np.int64(col), out)
        return out

    def nbytes(self) -> int:
        return int(self.data.nbytes + self.tags.nbytes)

    def snapshot(self, entities: int, columns: int) -> TableBlob:
        """A copy of the first ``entities`` x ``columns`` counters and their bucket tags."""
        return TableBlob(ArrayBlob.of(self.data[:entities, :, :columns]),
                         ArrayBlob.of(self.tags[:entities]))

    def restore(self, blob: TableBlob) -> None:
        """Take a snapshot's counters (adopting its buffers when they are wide enough;
        ``ensure`` grows them later)."""
        data = blob.data.array().astype(np.int32, copy=False)
        tags = blob.tags.array().astype(np.int64, copy=False)
        if data.shape[0] and data.shape[2] >= self.columns:
            self.data, self.tags = data, tags
            return
        self.ensure(max(data.shape[0], 1), data.shape[2])
        self.data[: data.shape[0], :, : data.shape[2]] = data
        self.tags[: tags.shape[0]] = tags
